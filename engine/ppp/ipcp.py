"""IPCP option policy (RFC 1332; RFC 1877 Primary/Secondary DNS).

IP-Address (3), both roles:
* ours: we request ``config.local_ip`` (or 0.0.0.0 = "please assign one"); a Nak with an
  address is accepted when we asked for 0.0.0.0 (or ``config.accept_local_nak``); a Reject means
  we go without.
* the peer's: with ``config.peer_ip`` set, a request for anything else (0.0.0.0 included) is
  Naked with ``peer_ip``; without it, any non-zero address is accepted (when
  ``config.accept_peer_ip``) and 0.0.0.0 is rejected (we have nothing to assign).
DNS (129 primary, 131 secondary): the peer asking gets ``config.dns`` by Nak (Reject when we
have none); with ``config.request_dns`` we ask for them and take the Naked values.
Anything else (IP-Compression-Protocol 2, IP-Addresses 1, NBNS 130/132, ...) is rejected.
"""
from __future__ import annotations

import socket
from dataclasses import replace
from typing import TYPE_CHECKING

from . import frames as F

if TYPE_CHECKING:
    from .api import PppLinkApi

OPT_ADDRESS = 3
OPT_DNS1 = 129
OPT_DNS2 = 131
ZERO = b"\x00\x00\x00\x00"


def ip_bytes(ip: str | None) -> bytes:
    return socket.inet_aton(ip) if ip else ZERO


def ip_str(b: bytes) -> str | None:
    return None if b == ZERO else socket.inet_ntoa(b)


class IpcpPolicy:
    protocol = F.PROTO_IPCP
    extended_codes: frozenset[int] = frozenset()

    __slots__ = ("link", "cfg", "fatal", "_peer_ip_b", "_dns_b", "peer_addr", "_pending",
                 "want_addr", "send_addr", "want_dns")

    def __init__(self, link: PppLinkApi) -> None:
        self.link = link
        self.cfg = link.config
        self.fatal: str | None = None
        self._peer_ip_b = ip_bytes(self.cfg.peer_ip)
        self._dns_b = tuple(ip_bytes(d) for d in self.cfg.dns[:2])
        self.peer_addr = ZERO
        self._pending = ZERO
        self.reset()

    def assign_peer_ip(self, peer_ip: str) -> None:
        """The address the peer must take (an LNS learns it only after authentication, before
        the network phase): later Configure-Requests for anything else are Naked with it."""
        cfg = self.link.config          # the link's, when it was given the address first
        self.cfg = cfg if cfg.peer_ip == peer_ip else replace(self.cfg, peer_ip=peer_ip)
        self._peer_ip_b = ip_bytes(peer_ip)

    def reset(self) -> None:
        cfg = self.cfg
        self.want_addr = ip_bytes(cfg.local_ip)
        self.send_addr = True
        self.want_dns: list[bytes | None] = [ZERO, ZERO] if cfg.request_dns else [None, None]
        self.fatal = None

    def build_request(self) -> bytes:
        out = b""
        if self.send_addr:
            out = b"\x03\x06" + self.want_addr
        if self.want_dns[0] is not None:
            out += b"\x81\x06" + self.want_dns[0]
        if self.want_dns[1] is not None:
            out += b"\x83\x06" + self.want_dns[1]
        return out

    def receive_ack(self, data: bytes) -> bool:
        return data == self.link.last_request(F.PROTO_IPCP)

    def receive_nak(self, data: bytes) -> bool:
        opts = F.parse_options(data)
        if opts is None:
            return False
        for t, v in opts:
            if len(v) != 4:
                continue
            if t == OPT_ADDRESS and self.send_addr:
                if v != ZERO and (self.want_addr == ZERO or self.cfg.accept_local_nak):
                    self.want_addr = v
            elif t == OPT_DNS1 and self.want_dns[0] is not None:
                self.want_dns[0] = v
            elif t == OPT_DNS2 and self.want_dns[1] is not None:
                self.want_dns[1] = v
        return True

    def receive_reject(self, data: bytes) -> bool:
        opts = F.parse_options(data)
        if opts is None:
            return False
        for t, _v in opts:
            if t == OPT_ADDRESS:
                self.send_addr = False
            elif t == OPT_DNS1:
                self.want_dns[0] = None
            elif t == OPT_DNS2:
                self.want_dns[1] = None
        return True

    def check_request(self, data: bytes, reject_naks: bool) -> tuple[int, bytes] | None:
        opts = F.parse_options(data)
        if opts is None:
            self.link.count_error()
            return None
        naks = b""
        rejs = b""
        nak_types = set()
        addr = ZERO
        cfg = self.cfg
        for t, v in opts:
            raw = bytes((t, len(v) + 2)) + v
            if t == OPT_ADDRESS and len(v) == 4:
                if cfg.peer_ip:
                    if v != self._peer_ip_b:
                        naks += b"\x03\x06" + self._peer_ip_b
                        nak_types.add(t)
                    else:
                        addr = v
                elif v == ZERO or not cfg.accept_peer_ip or v == self.want_addr:
                    rejs += raw
                else:
                    addr = v
            elif t in (OPT_DNS1, OPT_DNS2) and len(v) == 4:
                i = 0 if t == OPT_DNS1 else 1
                if i >= len(self._dns_b):
                    rejs += raw
                elif v != self._dns_b[i]:
                    naks += bytes((t, 6)) + self._dns_b[i]
                    nak_types.add(t)
            else:
                rejs += raw
        if rejs:
            return F.CONF_REJ, rejs
        if naks:
            if reject_naks:
                return F.CONF_REJ, b"".join(bytes((t, len(v) + 2)) + v for t, v in opts
                                            if t in nak_types)
            return F.CONF_NAK, naks
        self._pending = addr
        return F.CONF_ACK, data

    def commit_request(self) -> None:
        self.peer_addr = self._pending

    def this_layer_up(self, now: float) -> None:
        self.link.layer_up(F.PROTO_IPCP, now)

    def this_layer_down(self, now: float) -> None:
        self.link.layer_down(F.PROTO_IPCP, now)

    def this_layer_started(self, now: float) -> None:
        pass

    def this_layer_finished(self, now: float) -> None:
        self.link.layer_finished(F.PROTO_IPCP, now)

    def classify_extended(self, code: int, data: bytes, now: float) -> str:
        return "RUC"

    def receive_extended(self, code: int, ident: int, data: bytes, now: float) -> None:
        pass

    @property
    def local_ip(self) -> str | None:
        return ip_str(self.want_addr) if self.send_addr else None

    @property
    def peer_ip(self) -> str | None:
        return ip_str(self.peer_addr)

    @property
    def dns(self) -> tuple[str, ...]:
        return tuple(socket.inet_ntoa(d) for d in self.want_dns if d is not None and d != ZERO)
