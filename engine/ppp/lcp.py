"""LCP option policy (RFC 1661 §6, RFC 1994 §3 Auth-Protocol CHAP/MD5, RFC 1334 PAP).

Options handled: MRU (1), Authentication-Protocol (3; PAP c023, CHAP c223 with algorithm 5),
Magic-Number (5, loopback detection), Protocol-Field-Compression (7),
Address-and-Control-Field-Compression (8).  Everything else the peer asks for is
Configure-Rejected (real peers send MRRU 17, Endpoint Discriminator 19, ACCM 2, ...).

Authentication-Protocol in the *peer's* request asks us to authenticate ourselves: we Ack a
protocol we allow, Nak with the first allowed one otherwise, Reject when we allow none.  In *our*
request it is the protocol we demand; a Nak moves us to the suggested protocol when we accept it,
else to our next one; with nothing left (or a Reject) the link is closed.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import frames as F

if TYPE_CHECKING:
    from .api import PppLinkApi

log = logging.getLogger(__name__)

OPT_MRU = 1
OPT_AUTH = 3
OPT_MAGIC = 5
OPT_PFC = 7
OPT_ACFC = 8

CHAP_MD5 = 5
AUTH_VALUES = {"pap": b"\xc0\x23", "chap": b"\xc2\x23\x05"}
MIN_MRU = 128


def auth_name(value: bytes) -> str | None:
    if value == b"\xc0\x23":
        return "pap"
    if value == b"\xc2\x23\x05":
        return "chap"
    return None


class LcpPolicy:
    protocol = F.PROTO_LCP
    extended_codes = frozenset((F.PROTO_REJ, F.ECHO_REQ, F.ECHO_REP, F.DISCARD_REQ))

    __slots__ = ("link", "cfg", "rng", "fatal", "loops", "want_mru", "auth_choices",
                 "want_auth", "want_magic", "want_pfc", "want_acfc", "peer_mru", "peer_magic",
                 "peer_auth", "peer_pfc", "peer_acfc", "_pending", "auth_mismatch")

    def __init__(self, link: PppLinkApi) -> None:
        self.link = link
        self.cfg = link.config
        self.rng = link.rng
        self.fatal: str | None = None
        self.loops = 0
        self.reset()
        self.peer_mru = 1500
        self.peer_magic = 0
        self.peer_auth: str | None = None     # protocol the peer authenticates us with
        self.peer_pfc = False                 # we may compress when sending
        self.peer_acfc = False
        self._pending: tuple[int, int, str | None, bool, bool] | None = None

    def reset(self) -> None:
        cfg = self.cfg
        self.want_mru = cfg.mru
        self.auth_choices = cfg.auth_protocols_required
        self.want_auth = self.auth_choices[0] if self.auth_choices else None
        self.want_magic = self._new_magic() if cfg.magic else 0
        self.want_pfc = cfg.pfc
        self.want_acfc = cfg.acfc
        self.fatal = None
        #: set while the two sides disagree on the authentication protocol (what was asked,
        #: what is allowed); cleared when a request is acknowledged
        self.auth_mismatch: str | None = None

    def _new_magic(self) -> int:
        m = 0
        while m == 0:
            m = self.rng.getrandbits(32)
        return m

    # ---- our request ------------------------------------------------------------------
    def build_request(self) -> bytes:
        out = bytearray()
        if self.want_mru != 1500:
            out += bytes((OPT_MRU, 4)) + self.want_mru.to_bytes(2, "big")
        if self.want_auth is not None:
            v = AUTH_VALUES[self.want_auth]
            out += bytes((OPT_AUTH, len(v) + 2)) + v
        if self.want_magic:
            out += bytes((OPT_MAGIC, 6)) + self.want_magic.to_bytes(4, "big")
        if self.want_pfc:
            out += b"\x07\x02"
        if self.want_acfc:
            out += b"\x08\x02"
        return bytes(out)

    def receive_ack(self, data: bytes) -> bool:
        return data == self.link.last_request(F.PROTO_LCP)

    def receive_nak(self, data: bytes) -> bool:
        opts = F.parse_options(data)
        if opts is None:
            return False
        for t, v in opts:
            if t == OPT_MRU and len(v) == 2:
                m = int.from_bytes(v, "big")
                if m >= MIN_MRU:        # userspace: any size the peer proposes is receivable
                    self.want_mru = m
            elif t == OPT_AUTH and self.want_auth is not None:
                sugg = auth_name(v)
                self.auth_mismatch = (f"we ask for {self.want_auth.upper()}, peer suggests "
                                      f"{(sugg or 'another protocol').upper()}")
                if sugg is not None and sugg in self.auth_choices:
                    self.want_auth = sugg
                else:
                    i = self.auth_choices.index(self.want_auth)
                    if i + 1 < len(self.auth_choices):
                        self.want_auth = self.auth_choices[i + 1]
                    else:
                        self.fail_auth("peer refuses our authentication protocols")
            elif t == OPT_MAGIC and self.want_magic:
                self.loops += 1
                if self.loops >= self.cfg.max_failure:
                    self.fatal = "loopback detected"
                self.want_magic = self._new_magic()
        return True

    def receive_reject(self, data: bytes) -> bool:
        opts = F.parse_options(data)
        if opts is None:
            return False
        for t, _v in opts:
            if t == OPT_MRU:
                self.want_mru = 1500
            elif t == OPT_AUTH and self.want_auth is not None:
                self.auth_mismatch = f"peer rejects {self.want_auth.upper()}"
                self.want_auth = None
                self.fail_auth("peer refuses to authenticate")
            elif t == OPT_MAGIC:
                self.want_magic = 0
            elif t == OPT_PFC:
                self.want_pfc = False
            elif t == OPT_ACFC:
                self.want_acfc = False
        return True

    def fail_auth(self, reason: str) -> None:
        self.fatal = reason
        self.link.auth_failed("peer", reason)

    # ---- the peer's request -------------------------------------------------------------
    def check_request(self, data: bytes, reject_naks: bool) -> tuple[int, bytes] | None:
        opts = F.parse_options(data)
        if opts is None:
            self.link.count_error()
            return None
        naks = bytearray()
        rejs = bytearray()
        mru = 1500
        magic = 0
        auth = None
        pfc = acfc = False
        cfg = self.cfg
        for t, v in opts:
            raw = bytes((t, len(v) + 2)) + v
            if t == OPT_MRU and len(v) == 2:
                m = int.from_bytes(v, "big")
                if m < MIN_MRU:
                    naks += bytes((OPT_MRU, 4)) + MIN_MRU.to_bytes(2, "big")
                else:
                    mru = m
            elif t == OPT_AUTH and len(v) >= 2:
                allowed = cfg.auth_protocols_allowed
                name = auth_name(v)
                if not allowed:
                    self.auth_mismatch = "peer requires authentication, we have no credentials"
                    rejs += raw
                elif name is not None and name in allowed:
                    auth = name
                else:
                    # CHAP with another algorithm: suggest CHAP-MD5 when allowed
                    pick = "chap" if v[:2] == b"\xc2\x23" and "chap" in allowed else allowed[0]
                    self.auth_mismatch = (f"peer asks for {(name or 'an unknown protocol').upper()}"
                                          f", we allow {'/'.join(allowed).upper()}")
                    s = AUTH_VALUES[pick]
                    naks += bytes((OPT_AUTH, len(s) + 2)) + s
            elif t == OPT_MAGIC and len(v) == 4:
                m = int.from_bytes(v, "big")
                if m == 0 or (m == self.want_magic and self.want_magic):
                    if m:
                        self.loops += 1
                        if self.loops >= cfg.max_failure:
                            self.fatal = "loopback detected"
                    naks += bytes((OPT_MAGIC, 6)) + self._new_magic().to_bytes(4, "big")
                else:
                    magic = m
            elif t == OPT_PFC and not v:
                pfc = True
            elif t == OPT_ACFC and not v:
                acfc = True
            else:
                rejs += raw
        if rejs:
            return F.CONF_REJ, bytes(rejs)
        if naks:
            if reject_naks:
                # Max-Failure reached: turn the Nak into a Reject of the same options
                nopts = F.parse_options(bytes(naks)) or []
                want = {t for t, _ in nopts}
                return F.CONF_REJ, b"".join(bytes((t, len(v) + 2)) + v for t, v in opts
                                            if t in want)
            return F.CONF_NAK, bytes(naks)
        self._pending = (mru, magic, auth, pfc, acfc)
        return F.CONF_ACK, data

    def commit_request(self) -> None:
        if self._pending is not None:
            (self.peer_mru, self.peer_magic, self.peer_auth, self.peer_pfc,
             self.peer_acfc) = self._pending

    # ---- layer events -------------------------------------------------------------------
    def this_layer_up(self, now: float) -> None:
        self.loops = 0
        self.auth_mismatch = None
        self.link.layer_up(F.PROTO_LCP, now)

    def this_layer_down(self, now: float) -> None:
        self.link.layer_down(F.PROTO_LCP, now)

    def this_layer_started(self, now: float) -> None:
        pass

    def this_layer_finished(self, now: float) -> None:
        self.link.layer_finished(F.PROTO_LCP, now)

    # ---- Protocol-Reject, Echo, Discard (RFC 1661 §5.7, §5.8, §5.9) ------------------------
    def classify_extended(self, code: int, data: bytes, now: float) -> str:
        if code == F.PROTO_REJ:
            if len(data) < 2:
                return "RXJ+"
            proto = (data[0] << 8) | data[1]
            return "RXJ-" if self.link.protocol_rejected(proto, now) else "RXJ+"
        return "RXR"

    def receive_extended(self, code: int, ident: int, data: bytes, now: float) -> None:
        link = self.link
        if code == F.ECHO_REQ:
            if len(data) >= 4 and self.want_magic and \
                    int.from_bytes(data[:4], "big") == self.want_magic:
                log.debug("echo request with our own magic: looped back?")
                return
            link.count_echo_answered()
            link.send_packet(F.PROTO_LCP, F.ECHO_REP, ident,
                             self.want_magic.to_bytes(4, "big") + data[4:link.peer_mru_cap()])
        elif code == F.ECHO_REP:
            link.echo_reply(ident, data)
