"""A PPP link (RFC 1661 phases) over a frame transport such as an L2TP session; sans-IO.

Theory of operation
-------------------
Phases: dead → establish (LCP) → authenticate (PAP/CHAP, each direction independent) →
network (IPCP, then IPv4) → terminate → dead.  ``open()`` is the lower layer coming up plus
the administrative Open of LCP.  When LCP opens, the authenticator machine runs if the peer
acked our Authentication-Protocol, the authenticatee machine runs if we acked the peer's;
the network phase (IPCP) starts only when both are done.  Any authentication failure closes
the link (LCP Terminate).  When LCP finishes (closed or stopped) the link emits ``LinkDown``
once and ignores everything afterwards: the carrier (L2TP call) is expected to go away.

Input: ``receive_frame(frame, *, now)`` (with or without FF 03).  Output:
``frames_to_send()`` (each with FF 03 and a 2-octet protocol field).  Timers: ``get_timer()``
/ ``handle_timer(*, now)``.  Events: ``next_event()`` (see ``engine.ppp.events``).
Authenticator checks are asynchronous: ``AuthRequest`` out, ``auth_result(request_id, ok)``
in, whenever the application has the verdict; nothing else waits for it
(:mod:`engine.ppp.linkauth`).

Malformed frames are counted (``errors``) and dropped; no wire input raises.

The protocol machines (LCP/IPCP policies, PAP/CHAP machines) reach the link only through the
interface of :class:`engine.ppp.api.PppLinkApi` (``send_packet``, ``layer_up``, ``auth_failed``,
...).  ``tracer``, when set to a callable, receives one ``debug ppp`` line per control packet
sent or received (:mod:`engine.ppp.trace`).
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import replace

from . import frames as F
from .api import Verdictable
from .authfsm import AuthMachine
from .chap import ChapClient, ChapServer
from .config import PppConfig, PppCounters, PppSnapshot
from .events import (
    AuthenticatedByPeer,
    AuthFailed,
    AuthRequest,
    DownCause,
    IpPacket,
    LinkDown,
    LinkUp,
    NetworkDown,
    NetworkUp,
    PeerAuthenticated,
)
from .fsm import STATE_NAMES, Fsm, Policy, State
from .ipcp import IpcpPolicy
from .lcp import LcpPolicy
from .linkauth import PppAuthPhase, _auth_desc
from .pap import PapClient, PapServer
from .trace import format_control, format_frame

__all__ = ["PppConfig", "PppCounters", "PppSnapshot", "PppLink"]

log = logging.getLogger(__name__)

Event = (LinkUp | AuthRequest | PeerAuthenticated | AuthenticatedByPeer | AuthFailed | NetworkUp
         | NetworkDown | IpPacket | LinkDown)

_IPV4_HDR = b"\xff\x03\x00\x21"


def _released_send(code: int, ident: int, data: bytes) -> None:
    """What a released link's state machines send through: nothing."""


_HDRS = {p: F.frame_header(p) for p in (F.PROTO_LCP, F.PROTO_PAP, F.PROTO_CHAP, F.PROTO_IPCP)}


class PppLink(PppAuthPhase):
    # Per-link state is kept small: slots, no per-link buffers until something is queued
    # (output frames, events, authentication requests and deferred packets all start as None).
    # (the phase, its clock, authentication requests, deferred close/IPCP: PppAuthPhase.__slots__)
    __slots__ = ("config", "rng", "role_name", "_out", "_events",
                 "lcp_policy", "lcp", "ipcp_policy", "ipcp", "auth_peer", "auth_local",
                 "_pfc_rx", "_deferred_auth", "_chap_id", "down_reason", "down_cause",
                 "finished",
                 "_echo_deadline", "_echo_outstanding", "_echo_id", "tracer",
                 "rx_frames", "rx_octets", "tx_frames", "tx_octets", "counters_errors",
                 "unknown_protocol", "discarded", "ip_rx_packets", "ip_rx_octets",
                 "ip_tx_packets", "ip_tx_octets", "echo_sent", "echo_replies", "echo_answered")

    def __init__(self, config: PppConfig, *, rng: random.Random,
                 role_name: str = "lns") -> None:
        self.config = config
        self.rng = rng
        self.role_name = role_name
        self._out: list[bytes] | None = None
        self._events: list[Event] | None = None
        self.tracer: Callable[[str], None] | None = None   # ``debug ppp``: one line per packet
        self.phase = "dead"
        self._now = 0.0
        self.lcp_policy = LcpPolicy(self)
        self.lcp = self._fsm(self.lcp_policy, self._send_lcp)
        self.ipcp_policy = IpcpPolicy(self)
        self.ipcp = self._fsm(self.ipcp_policy, self._send_ipcp)
        self.auth_peer: PapServer | ChapServer | None = None
        self.auth_local: PapClient | ChapClient | None = None
        self.peer_name = ""
        self._requests: dict[int, Verdictable] | None = None
        self._next_request = 1
        self._pfc_rx = False
        self._pending_close: str | None = None
        self._deferred_ipcp: tuple[int, int, bytes] | None = None
        self._deferred_auth: dict[int, tuple[int, int, bytes]] | None = None
        self._chap_id = rng.getrandbits(8)
        self.down_reason: str | None = None
        self.down_cause = DownCause.LOCAL
        self.finished = False
        self._echo_deadline: float | None = None
        self._echo_outstanding = 0
        self._echo_id = 0
        # counters
        self.rx_frames = self.rx_octets = self.tx_frames = self.tx_octets = 0
        self.counters_errors = self.unknown_protocol = self.discarded = 0
        self.ip_rx_packets = self.ip_rx_octets = self.ip_tx_packets = self.ip_tx_octets = 0
        self.echo_sent = self.echo_replies = self.echo_answered = 0

    def _fsm(self, policy: Policy, send: Callable[[int, int, bytes], None]) -> Fsm:
        c = self.config
        return Fsm(policy, send, rng=self.rng, restart_timer=c.restart_timer,
                   max_configure=c.max_configure, max_terminate=c.max_terminate,
                   max_failure=c.max_failure, name=self.role_name)

    # ------------------------------------------------------------------ public API
    def open(self, *, now: float) -> None:
        """Lower layer is up: start LCP."""
        self._now = now
        if self.finished:
            return
        self.phase = "establish"
        self.lcp.open(now=now)
        self.lcp.up(now=now)

    def assign_peer_ip(self, peer_ip: str) -> None:
        """Set the address handed to the peer in IPCP (call before the network phase)."""
        self.config = replace(self.config, peer_ip=peer_ip)
        self.ipcp_policy.assign_peer_ip(peer_ip)

    def close(self, reason: str = "administrative close", *, now: float) -> None:
        """Terminate the link (LCP Terminate-Request); ``LinkDown`` follows."""
        self._now = now
        if self.finished:
            return
        self._set_down(reason, DownCause.LOCAL)
        if self.phase != "dead":
            self.phase = "terminate"
        self.lcp.close(reason, now=now)
        if self.lcp.state in (State.INITIAL, State.CLOSED, State.STOPPED):
            self._finish()          # nothing was running: down at once

    def release(self) -> None:
        """The link is done with (its call has ended): cut the references its state machines,
        policies and authentication machines hold back to it, so that it is freed as soon as
        its owner lets go instead of waiting, with all it reaches, for a full pass of the cycle
        collector.  Its snapshot and counters stay readable; it must not be driven again."""
        if self.lcp.send is _released_send:
            return
        self.lcp.send = self.ipcp.send = _released_send
        del self.lcp_policy.link, self.ipcp_policy.link
        for m in (self.auth_peer, self.auth_local):
            if m is not None:
                del m.link
        self.tracer = None

    def lower_down(self, *, now: float) -> None:
        """The carrier went away: finish at once."""
        self._now = now
        if self.finished:
            return
        self._set_down("lower layer down", DownCause.LOWER_DOWN)
        self.lcp.down(now=now)
        self._finish()

    def receive_frame(self, frame: bytes, *, now: float) -> None:
        self._now = now
        if self.finished:
            return
        self.rx_frames += 1
        self.rx_octets += len(frame)
        if self.tracer is not None:
            line = format_frame(frame, "rx", pfc=self._pfc_rx)
            if line is not None:
                self.tracer(line)
        try:
            self._receive(frame, now)
        except Exception:          # defensive: wire input must never raise
            log.exception("%s: frame dropped after internal error", self.role_name)
            self.counters_errors += 1
        if self._pending_close is not None:
            self._do_pending_close(now)

    def _emit(self, ev: Event) -> None:
        if self._events is None:
            self._events = [ev]
        else:
            self._events.append(ev)

    def frames_to_send(self) -> list[bytes]:
        out = self._out
        if out is None:
            return []
        self._out = None
        return out

    def get_timer(self) -> float | None:
        t = self.lcp.deadline
        for d in (self.ipcp.deadline, self._echo_deadline,
                  self.auth_peer.deadline if self.auth_peer is not None else None,
                  self.auth_local.deadline if self.auth_local is not None else None):
            if d is not None and (t is None or d < t):
                t = d
        return t

    def handle_timer(self, *, now: float) -> None:
        self._now = now
        if self.finished:
            return
        self.lcp.handle_timer(now=now)
        self.ipcp.handle_timer(now=now)
        if self.auth_peer is not None:
            self.auth_peer.handle_timer(now)
        if self.auth_local is not None:
            self.auth_local.handle_timer(now)
        if self._echo_deadline is not None and now >= self._echo_deadline:
            self._keepalive(now)
        if self._pending_close is not None:
            self._do_pending_close(now)

    def next_event(self) -> Event | None:
        ev = self._events
        return ev.pop(0) if ev else None

    def send_ip(self, packet: bytes) -> bool:
        """Queue an IPv4 packet; False (and counted) when IPCP is not opened or too big."""
        if self.ipcp.state != State.OPENED or len(packet) > self.lcp_policy.peer_mru:
            self.discarded += 1
            return False
        if self._out is None:
            self._out = [_IPV4_HDR + packet]
        else:
            self._out.append(_IPV4_HDR + packet)
        self.ip_tx_packets += 1
        self.ip_tx_octets += len(packet)
        self.tx_frames += 1
        self.tx_octets += len(packet) + 4
        return True

    @property
    def network_up(self) -> bool:
        return self.ipcp.state == State.OPENED

    @property
    def local_ip(self) -> str | None:
        return self.ipcp_policy.local_ip

    @property
    def peer_ip(self) -> str | None:
        return self.ipcp_policy.peer_ip

    def peer_mru_cap(self) -> int:
        return max(4, self.lcp_policy.peer_mru - 4)

    def snapshot(self) -> PppSnapshot:
        lp = self.lcp_policy
        return PppSnapshot(
            role=self.role_name, phase=self.phase,
            lcp_state=STATE_NAMES[self.lcp.state], ipcp_state=STATE_NAMES[self.ipcp.state],
            auth_peer=_auth_desc(self.auth_peer), auth_local=_auth_desc(self.auth_local),
            peer_name=self.peer_name, local_ip=self.local_ip, peer_ip=self.peer_ip,
            dns=self.ipcp_policy.dns, mru=lp.want_mru, peer_mru=lp.peer_mru,
            magic=lp.want_magic, peer_magic=lp.peer_magic, down_reason=self.down_reason,
            counters=PppCounters(
                self.rx_frames, self.rx_octets, self.tx_frames, self.tx_octets,
                self.counters_errors, self.unknown_protocol, self.discarded,
                self.ip_rx_packets, self.ip_rx_octets, self.ip_tx_packets, self.ip_tx_octets,
                self.echo_sent, self.echo_replies, self.echo_answered))

    # ------------------------------------------------------------------ input
    def _receive(self, frame: bytes, now: float) -> None:
        # fast path: IPv4 with FF 03
        if frame[:4] == _IPV4_HDR:
            proto, info = F.PROTO_IPV4, frame[4:]
        else:
            sp = F.split_frame(frame, self._pfc_rx)
            if sp is None:
                self.counters_errors += 1
                log.debug("%s: malformed frame dropped: %s", self.role_name, frame[:8].hex())
                return
            proto, info = sp
        if self._echo_outstanding:
            self._peer_alive(now)           # any frame from the peer shows it is alive
        if proto == F.PROTO_IPV4:
            if self.ipcp.state == State.OPENED:
                self.ip_rx_packets += 1
                self.ip_rx_octets += len(info)
                self._emit(IpPacket(info))
            else:
                self.discarded += 1
            return
        if proto == F.PROTO_LCP:
            pkt = F.parse_packet(info)
            if pkt is None:
                self.counters_errors += 1
                log.debug("%s: malformed LCP packet dropped", self.role_name)
                return
            code, ident, data = pkt
            if self._deferred_auth is not None and (
                    code == F.TERM_REQ
                    or (code == F.CONF_REQ and not self.lcp.acked_before(ident, data))):
                # the peer is (re)negotiating: whatever it sent before belongs to a previous
                # negotiation and must not be replayed when LCP opens (a mere repetition of
                # the request we acked is no renegotiation)
                self._deferred_auth = None
            if code == F.TERM_REQ and self.down_reason is None:
                text = ": " + data[:64].decode("utf-8", "replace") if data else ""
                mismatch = self.lcp_policy.auth_mismatch
                if mismatch is not None and self.lcp.state != State.OPENED:
                    # the peer hangs up while we disagree on the authentication protocol
                    self._set_down(f"authentication protocol mismatch: {mismatch}; "
                                   f"terminated by peer{text}", DownCause.AUTH)
                else:
                    self._set_down("terminated by peer" + text, DownCause.PEER_TERMINATED)
                if self.phase not in ("dead", "establish"):
                    self.phase = "terminate"
            self.lcp.receive(code, ident, data, now=now)
            if self.lcp_policy.fatal is not None:
                self._negotiation_down(self.lcp_policy.fatal)
            return
        lcp_open = self.lcp.state == State.OPENED
        if proto == F.PROTO_PAP or proto == F.PROTO_CHAP:
            pkt = F.parse_packet(info)
            if pkt is None:
                self.counters_errors += 1
                log.debug("%s: malformed %04x packet dropped", self.role_name, proto)
                return
            if not lcp_open:
                # a peer whose LCP opened first may authenticate before its Configure-Ack
                # reaches us: keep the latest such packet per protocol, replay it on LCP up
                self.discarded += 1
                if self.lcp.state in (State.REQ_SENT, State.ACK_RCVD, State.ACK_SENT):
                    if self._deferred_auth is None:
                        self._deferred_auth = {}
                    self._deferred_auth[proto] = pkt
                return
            code, ident, data = pkt
            m: AuthMachine | None
            cls: type[AuthMachine]
            if proto == F.PROTO_PAP:
                m = self.auth_peer if code == 1 else self.auth_local
                cls = PapServer if code == 1 else PapClient
            else:
                m = self.auth_peer if code == 2 else self.auth_local
                cls = ChapServer if code == 2 else ChapClient
            if m is None or type(m) is not cls:
                self.discarded += 1
                return
            m.receive(code, ident, data, now)
            return
        if proto == F.PROTO_IPCP:
            pkt = F.parse_packet(info)
            if pkt is None:
                self.counters_errors += 1
                log.debug("%s: malformed IPCP packet dropped", self.role_name)
                return
            if not lcp_open or self.phase != "network":
                # RFC 1661 §3.7: NCP packets outside the network phase are discarded; the
                # peer's latest Configure-Request during authentication is kept and replayed
                # when the network phase starts (saves the peer a restart interval)
                self.discarded += 1
                if lcp_open and self.phase == "authenticate" and pkt[0] == F.CONF_REQ:
                    self._deferred_ipcp = pkt
                return
            self.ipcp.receive(pkt[0], pkt[1], pkt[2], now=now)
            return
        # unknown protocol (RFC 1661 §5.7)
        if lcp_open:
            self.unknown_protocol += 1
            self.lcp.req_id = (self.lcp.req_id + 1) & 0xFF
            self._send_lcp(F.PROTO_REJ, self.lcp.req_id,
                           proto.to_bytes(2, "big") + info[:self.peer_mru_cap() - 2])
        else:
            self.discarded += 1

    # ------------------------------------------------------------------ protocol interface
    def send_packet(self, protocol: int, code: int, ident: int, data: bytes) -> None:
        n = 4 + len(data)
        f = _HDRS[protocol] + bytes((code, ident, n >> 8, n & 0xFF)) + data
        if self._out is None:
            self._out = [f]
        else:
            self._out.append(f)
        if self.tracer is not None:
            self.tracer("tx " + format_control(protocol, code, ident, data))
        self.tx_frames += 1
        self.tx_octets += len(f)

    def _send_lcp(self, code: int, ident: int, data: bytes) -> None:
        self.send_packet(F.PROTO_LCP, code, ident, data)

    def _send_ipcp(self, code: int, ident: int, data: bytes) -> None:
        self.send_packet(F.PROTO_IPCP, code, ident, data)

    def count_error(self) -> None:
        self.counters_errors += 1

    def count_echo_answered(self) -> None:
        self.echo_answered += 1

    def last_request(self, protocol: int) -> bytes:
        return (self.lcp if protocol == F.PROTO_LCP else self.ipcp).last_request

    def next_chap_id(self) -> int:
        """A new CHAP Identifier for every Challenge this link sends (RFC 1994 §4.1); the
        sequence runs on across renegotiations, so a late Response never matches."""
        self._chap_id = (self._chap_id + 1) & 0xFF
        return self._chap_id

    def layer_up(self, protocol: int, now: float) -> None:
        if protocol == F.PROTO_LCP:
            self._lcp_up(now)
        else:
            self._ipcp_up(now)

    def layer_down(self, protocol: int, now: float) -> None:
        if protocol == F.PROTO_LCP:
            self._lcp_down(now)
        else:
            self._ipcp_down(now)

    def layer_finished(self, protocol: int, now: float) -> None:
        if protocol == F.PROTO_LCP:
            self._lcp_finished(now)
        else:
            self._ipcp_finished(now)

    # ------------------------------------------------------------------ LCP callbacks
    def _lcp_up(self, now: float) -> None:
        lp = self.lcp_policy
        self._pfc_rx = lp.want_pfc
        self.phase = "authenticate"
        self._emit(LinkUp(lp.peer_mru, lp.want_magic, lp.peer_magic))
        if self.config.keepalive_interval > 0:
            self._echo_deadline = now + self.config.keepalive_interval
            self._echo_outstanding = 0
        self.auth_peer = self.auth_local = None
        if lp.want_auth == "pap":
            self.auth_peer = PapServer(self)
        elif lp.want_auth == "chap":
            self.auth_peer = ChapServer(self)
        if lp.peer_auth == "pap":
            self.auth_local = PapClient(self)
        elif lp.peer_auth == "chap":
            self.auth_local = ChapClient(self)
        if self.auth_peer is not None:
            self.auth_peer.start(now)
        if self.auth_local is not None:
            self.auth_local.start(now)
        if self._deferred_auth:
            deferred = self._deferred_auth
            self._deferred_auth = None
            for proto, (code, ident, data) in deferred.items():
                self._receive(F.build_packet(proto, code, ident, data), now)
        self._check_auth_done(now)

    def _lcp_down(self, now: float) -> None:
        self._pfc_rx = False
        self._echo_deadline = None
        self.ipcp.down(now=now)
        self.auth_peer = self.auth_local = None
        self._deferred_ipcp = None
        self._deferred_auth = None
        self._requests = None
        if self.phase != "terminate":
            self.phase = "establish"

    def _lcp_finished(self, now: float) -> None:
        self._negotiation_down("LCP negotiation failed")
        self._finish()

    def _finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.phase = "dead"
        self._echo_deadline = None
        self.lcp.deadline = None
        self.ipcp.deadline = None
        for m in (self.auth_peer, self.auth_local):
            if m is not None:
                m.deadline = None
        self._emit(LinkDown(self.down_reason or "down", self.down_cause))

    def _set_down(self, reason: str, cause: DownCause) -> None:
        """The first reason the link goes down for is the one reported."""
        if self.down_reason is None:
            self.down_reason = reason
            self.down_cause = cause

    def _negotiation_down(self, default: str) -> None:
        """LCP failing while the two sides disagree on the authentication protocol is an
        authentication failure, not a negotiation one."""
        reason = self.lcp_policy.fatal or default
        mismatch = self.lcp_policy.auth_mismatch
        if mismatch is not None and self.lcp.state != State.OPENED:
            self._set_down(f"authentication protocol mismatch: {mismatch} ({reason})",
                           DownCause.AUTH)
        else:
            self._set_down(reason, DownCause.NEGOTIATION)

    def protocol_rejected(self, proto: int, now: float) -> bool:
        if proto == F.PROTO_LCP:
            return True
        if proto == F.PROTO_IPCP:
            self.ipcp.event("RXJ-", now)
        elif proto in (F.PROTO_PAP, F.PROTO_CHAP):
            self.auth_failed("local" if self.auth_local is not None else "peer",
                              "peer rejected protocol %04x" % proto)
        return False

    # ------------------------------------------------------------------ keepalive
    def _keepalive(self, now: float) -> None:
        cfg = self.config
        if self._echo_outstanding >= cfg.keepalive_failures:
            self._echo_deadline = None
            self._set_down("keepalive timeout", DownCause.KEEPALIVE)
            self._pending_close = self.down_reason
            return
        self._echo_id = (self._echo_id + 1) & 0xFF
        self._echo_outstanding += 1
        self.echo_sent += 1
        self._send_lcp(F.ECHO_REQ, self._echo_id,
                       self.lcp_policy.want_magic.to_bytes(4, "big"))
        # unanswered echoes are repeated at the restart interval, not the keepalive period
        self._echo_deadline = now + min(cfg.restart_timer, cfg.keepalive_interval)

    def echo_reply(self, ident: int, data: bytes) -> None:
        self.echo_replies += 1
        if self._echo_outstanding:
            self._peer_alive(self._now)

    def _peer_alive(self, now: float) -> None:
        self._echo_outstanding = 0
        if self._echo_deadline is not None:
            self._echo_deadline = now + self.config.keepalive_interval

    def _do_pending_close(self, now: float) -> None:
        reason = self._pending_close
        self._pending_close = None
        if reason is not None and not self.finished and \
                self.lcp.state not in (State.CLOSING, State.STOPPING):
            self.close(reason, now=now)

    # ------------------------------------------------------------------ IPCP callbacks
    def _ipcp_up(self, now: float) -> None:
        ip = self.ipcp_policy
        for m in (self.auth_peer, self.auth_local):
            if m is not None:
                m.settle()
        self._emit(NetworkUp(ip.local_ip, ip.peer_ip, ip.dns))

    def _ipcp_down(self, now: float) -> None:
        self._emit(NetworkDown("IPCP down"))

    def _ipcp_finished(self, now: float) -> None:
        if self.lcp.state == State.OPENED and self.phase != "terminate":
            self._set_down("IPCP negotiation failed", DownCause.NEGOTIATION)
            self._pending_close = self.down_reason

