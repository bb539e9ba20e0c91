"""Sans-IO L2TP endpoint (RFC 2661): all tunnels and calls of one local UDP socket, both roles."""
from __future__ import annotations

import hashlib
import logging
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from . import avp as A
from . import call as C
from . import message as M
from . import tunnel as T
from .avp import Avp, Q931Cause, ResultCode
from .config import L2tpConfig
from .errors import (CDN_ADMIN, CDN_GENERAL_ERROR, CDN_TEMP_NO_FACILITIES, ERR_BAD_SESSION_ID,
                     ERR_BAD_VALUE, ERR_NONE, STOPCCN_BAD_VERSION, STOPCCN_FSM_ERROR, STOPCCN_GENERAL_CLEAR, STOPCCN_GENERAL_ERROR, STOPCCN_NOT_AUTHORIZED,
                     L2tpProtocolError)
from .events import (CallDown, CallUp, IncomingCallRequested, OutgoingCallRequested, PppFrame,
                     TunnelDown, TunnelUp)
from .reliable import DUPLICATE, OUT_OF_WINDOW, ReliableChannel

log = logging.getLogger(__name__)

HIDE_ATTRS = frozenset({A.CALLED_NUMBER, A.CALLING_NUMBER, A.SUB_ADDRESS, A.PROXY_AUTHEN_NAME,
                        A.PROXY_AUTHEN_CHALLENGE, A.PROXY_AUTHEN_RESPONSE})
DEFAULT_MAX_BPS = 64000
DEFAULT_BEARER = A.BEARER_DIGITAL
DEFAULT_FRAMING = A.FRAMING_SYNC


def challenge_response(msg_type: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 2661 §5.1.1: MD5(message type byte ‖ secret ‖ challenge)."""
    return hashlib.md5(bytes([msg_type]) + secret + challenge).digest()


@dataclass(frozen=True, slots=True)
class TunnelInfo:
    tunnel_id: int
    peer_tunnel_id: int
    peer_addr: Any
    local_host_name: str
    peer_host_name: str
    role: str               # "originator" | "recipient"
    state: str
    sessions: int
    created_at: float
    up_at: float | None
    ns: int
    nr: int
    retransmits: int
    peer_window: int
    unacked: int


@dataclass(frozen=True, slots=True)
class CallInfo:
    tunnel_id: int
    session_id: int
    peer_session_id: int
    kind: str               # lns-out | lac-out | lac-in | lns-in
    state: str
    called_number: str
    calling_number: str
    connect_speed: int
    serial_number: int
    created_at: float
    up_at: float | None
    rx_packets: int
    tx_packets: int


@dataclass(frozen=True, slots=True)
class L2tpSnapshot:
    tunnels: tuple[TunnelInfo, ...]
    calls: tuple[CallInfo, ...]
    counters: dict


@dataclass(eq=False, slots=True)
class _Rejected:
    """A sequenced control message that failed validation in a way the RFC answers (M bit etc.)."""
    header: M.Header
    msg_type: int | None
    error: L2tpProtocolError


@dataclass(eq=False)
class Tunnel:
    local_id: int
    peer_addr: Any
    originator: bool
    host_name: str
    secret: bytes | None
    channel: ReliableChannel
    created_at: float
    expected_peer_host: str | None = None
    state: str = T.IDLE
    peer_id: int = 0
    peer_host_name: str = ""
    peer_vendor: str = ""
    peer_firmware: int | None = None
    peer_framing: int = 0
    peer_bearer: int = 0
    up_at: float | None = None
    challenge: bytes | None = None
    peer_challenge: bytes | None = None
    tie_breaker: bytes | None = None
    calls: dict = field(default_factory=dict)
    peer_calls: dict = field(default_factory=dict)
    last_rx: float = 0.0
    hold_until: float | None = None
    down_result: tuple = (STOPCCN_GENERAL_CLEAR, ERR_NONE, "")
    stop_result: tuple = (STOPCCN_GENERAL_CLEAR, ERR_NONE, "")
    sccrq_key: tuple | None = None


@dataclass(eq=False)
class Call:
    local_id: int
    tunnel: Tunnel
    kind: str
    created_at: float
    state: str = C.IDLE
    peer_id: int = 0
    called_number: str = ""
    calling_number: str = ""
    sub_address: str | None = None
    min_bps: int = 0
    max_bps: int = DEFAULT_MAX_BPS
    bearer_type: int = DEFAULT_BEARER
    framing_type: int = DEFAULT_FRAMING
    serial: int = 0
    connect_speed: int = 0
    up_at: float | None = None
    cdn: tuple = (CDN_ADMIN, ERR_NONE, "", None)
    data_seq: bool = False
    data_ns: int = 0
    rx_packets: int = 0
    tx_packets: int = 0
    down_by_peer: bool = False


_MSG_EVENT = {M.OCRP: "rx_ocrp", M.OCCN: "rx_occn", M.ICRP: "rx_icrp", M.ICCN: "rx_iccn",
              M.CDN: "rx_cdn", M.WEN: "rx_info", M.SLI: "rx_info"}


class L2tpEndpoint:
    """All tunnels and calls of one local UDP socket (sans-IO)."""

    def __init__(self, *, rng: random.Random, host_name: str = "jcli",
                 config: L2tpConfig | None = None,
                 trace: Callable[[str], None] | None = None) -> None:
        self.rng = rng
        self.host_name = host_name
        self.config = config or L2tpConfig()
        self.trace = trace
        self.tunnels: dict[int, Tunnel] = {}
        self._sccrq_index: dict[tuple, int] = {}
        self._events: deque = deque()
        self._data_out: list[tuple[bytes, Any]] = []
        self._dirty: dict[int, Tunnel] = {}
        self._now = 0.0
        self._serial = rng.randrange(1 << 16)
        self.counters: dict[str, int] = {k: 0 for k in (
            "rx_datagrams", "malformed", "unknown_tunnel", "unknown_session", "rx_control", "tx_control",
            "rx_zlb", "tx_zlb", "duplicates", "out_of_window", "retransmits", "rx_data", "tx_data",
            "tunnels_refused", "tunnels_timed_out", "calls_refused", "unknown_avp_ignored")}

    # ================================================================ sans-IO interface
    def receive_datagram(self, data: bytes, addr: Any, *, now: float) -> None:
        self._now = now
        self.counters["rx_datagrams"] += 1
        try:
            self._receive(data, addr, now)
        except L2tpProtocolError as e:
            self.counters["malformed"] += 1
            log.debug("malformed datagram from %s: %s", addr, e)
        except Exception:  # defensive: nothing from the wire may escape
            self.counters["malformed"] += 1
            log.exception("error handling datagram from %s", addr)

    def datagrams_to_send(self, *, now: float) -> list[tuple[bytes, Any]]:
        self._now = now
        out = self._data_out
        self._data_out = []
        if self._dirty:
            dirty = list(self._dirty.values())
            self._dirty.clear()
            for t in dirty:
                ch = t.channel
                for d in ch.transmit(now):
                    out.append((d, t.peer_addr))
                if ch.ack_pending:
                    ch.ack_pending = False
                    self.counters["tx_zlb"] += 1
                    zlb = M.encode_control(0, t.peer_id, 0, ch.next_ns_for_zlb(), ch.nr)
                    self._trace_line("tx", t, 0, ch.next_ns_for_zlb(), ch.nr, "ZLB", "")
                    out.append((zlb, t.peer_addr))
                if t.state == T.DEAD:
                    self._forget(t)
        return out

    def get_timer(self) -> float | None:
        best = None
        for t in self.tunnels.values():
            d = self._tunnel_deadline(t)
            if d is not None and (best is None or d < best):
                best = d
        return best

    def handle_timer(self, *, now: float) -> None:
        self._now = now
        for t in list(self.tunnels.values()):
            if t.state == T.DEAD:
                continue
            if t.hold_until is not None and now >= t.hold_until:
                self._fire(t, "hold_expired")
                continue
            d = t.channel.deadline()
            if d is not None and now >= d:
                before = t.channel.retransmits
                if not t.channel.on_timer(now):
                    self._fire(t, "retries_exhausted")
                    continue
                n = t.channel.retransmits - before
                if n:
                    self.counters["retransmits"] += n
                    self._dirty[t.local_id] = t
                    if self.trace:
                        self.trace(f"l2tp retransmit tunnel {t.local_id}/{t.peer_id} x{n}")
            h = self._hello_deadline(t)
            if h is not None and now >= h:
                self._fire(t, "hello_due")
        for t in [t for t in self.tunnels.values() if t.state == T.DEAD]:
            self._forget(t)

    def next_event(self):
        return self._events.popleft() if self._events else None

    # ================================================================ application API (LNS role)
    def open_tunnel(self, peer_addr: Any, *, secret: bytes | None, host_name: str | None = None,
                    expected_peer_host: str | None = None, now: float) -> int:
        self._now = now
        t = self._new_tunnel(peer_addr, originator=True, secret=secret,
                             host_name=host_name or self.host_name, now=now)
        t.expected_peer_host = expected_peer_host
        self._fire(t, "open")
        return t.local_id

    def place_outgoing_call(self, tunnel_id: int, *, called_number: str, min_bps: int = 0,
                            max_bps: int = DEFAULT_MAX_BPS, bearer_type: int = DEFAULT_BEARER,
                            framing_type: int = DEFAULT_FRAMING, sub_address: str | None = None,
                            now: float) -> int:
        self._now = now
        t = self._tunnel(tunnel_id)
        c = self._new_call(t, "lns-out", now)
        c.called_number, c.min_bps, c.max_bps = called_number, min_bps, max_bps
        c.bearer_type, c.framing_type, c.sub_address = bearer_type, framing_type, sub_address
        self._place(c)
        return c.local_id

    def place_incoming_call(self, tunnel_id: int, *, calling_number: str = "", called_number: str = "",
                            now: float) -> int:
        self._now = now
        t = self._tunnel(tunnel_id)
        c = self._new_call(t, "lac-in", now)
        c.calling_number, c.called_number = calling_number, called_number
        self._place(c)
        return c.local_id

    def send_ppp(self, tunnel_id: int, session_id: int, frame: bytes) -> bool:
        """Queue a data message. Returns False (and drops the frame) when the call cannot carry data."""
        t = self.tunnels.get(tunnel_id)
        c = t.calls.get(session_id) if t else None
        if c is None or not c.peer_id or t.state != T.ESTABLISHED or c.state == C.DEAD:
            return False
        if c.data_seq:
            d = M.encode_data(t.peer_id, c.peer_id, frame, length=self.config.data_length_bit,
                              ns=c.data_ns, nr=0)
            c.data_ns = (c.data_ns + 1) & 0xFFFF
        else:
            d = M.encode_data(t.peer_id, c.peer_id, frame, length=self.config.data_length_bit)
        c.tx_packets += 1
        self.counters["tx_data"] += 1
        self._data_out.append((d, t.peer_addr))
        return True

    def disconnect_call(self, tunnel_id: int, session_id: int, *, result: int = CDN_ADMIN,
                        error: int = ERR_NONE, cause: int | None = None, message: str = "",
                        now: float) -> None:
        self._now = now
        c = self._call(tunnel_id, session_id)
        if c is None:
            return
        c.cdn = (result, error, message, cause)
        self._cfire(c, "local_disconnect")

    def close_tunnel(self, tunnel_id: int, *, result: int = STOPCCN_GENERAL_CLEAR, error: int = ERR_NONE,
                     message: str = "", now: float) -> None:
        self._now = now
        t = self.tunnels.get(tunnel_id)
        if t is None:
            return
        t.stop_result = (result, error, message)
        self._fire(t, "close")

    # ================================================================ application API (LAC role)
    def answer_outgoing_call(self, tunnel_id: int, session_id: int, *, connect_speed: int,
                             framing_type: int | None = None, now: float) -> None:
        self._now = now
        c = self._call(tunnel_id, session_id)
        if c is None:
            return
        c.connect_speed = connect_speed
        if framing_type is not None:
            c.framing_type = framing_type
        self._cfire(c, "answer")

    def reject_outgoing_call(self, tunnel_id: int, session_id: int, *, result: int, error: int = ERR_NONE,
                             cause: int | None = None, message: str = "", now: float) -> None:
        self._now = now
        c = self._call(tunnel_id, session_id)
        if c is None:
            return
        c.cdn = (result, error, message, cause)
        self.counters["calls_refused"] += 1
        self._cfire(c, "reject")

    # ================================================================ introspection
    def snapshot(self) -> L2tpSnapshot:
        tunnels, calls = [], []
        for t in self.tunnels.values():
            ch = t.channel
            tunnels.append(TunnelInfo(t.local_id, t.peer_id, t.peer_addr, t.host_name, t.peer_host_name,
                                      "originator" if t.originator else "recipient", t.state,
                                      len(t.calls), t.created_at, t.up_at, ch.ns_next, ch.nr,
                                      ch.retransmits, ch.peer_window, len(ch.inflight) + len(ch.unsent)))
            for c in t.calls.values():
                calls.append(CallInfo(t.local_id, c.local_id, c.peer_id, c.kind, c.state, c.called_number,
                                      c.calling_number, c.connect_speed, c.serial, c.created_at, c.up_at,
                                      c.rx_packets, c.tx_packets))
        return L2tpSnapshot(tuple(tunnels), tuple(calls), dict(self.counters))

    # ================================================================ receive path
    def _receive(self, data: bytes, addr: Any, now: float) -> None:
        h = M.decode_header(data, max_len=self.config.max_message_len)
        if not h.is_control:
            self._receive_data(data, h)
            return
        if h.tunnel_id == 0:
            self._receive_tunnel_zero(data, h, addr, now)
            return
        t = self.tunnels.get(h.tunnel_id)
        if t is None or t.state == T.DEAD or (t.peer_addr[0] != addr[0]):
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError(f"no tunnel {h.tunnel_id} for {addr}")
        if t.originator and t.state == T.WAIT_CTL_REPLY and addr != t.peer_addr:
            t.peer_addr = addr          # §8.1: the recipient may answer from another port
        self._receive_on_tunnel(t, data, h, now)

    def _decode(self, t: Tunnel | None, data: bytes, h: M.Header, secret: bytes | None):
        try:
            return M.decode_control_body(data, h, secret=secret, max_avps=self.config.max_avps)
        except L2tpProtocolError as e:
            if e.fatal and e.msg_type is not None:
                return _Rejected(h, e.msg_type, e)
            raise

    def _receive_tunnel_zero(self, data: bytes, h: M.Header, addr: Any, now: float) -> None:
        msg = self._decode(None, data, h, self.config.accept_secret)
        if not isinstance(msg, _Rejected) and msg.msg_type == M.STOPCCN:
            # some peers refuse an SCCRQ with a StopCCN addressed to tunnel 0: match it to our
            # single outstanding SCCRQ to that address
            waiting = [t for t in self.tunnels.values()
                       if t.originator and t.state == T.WAIT_CTL_REPLY and t.peer_addr == addr]
            if len(waiting) == 1 and msg.ns == 0:
                t = waiting[0]
                t.peer_id = msg.get(A.ASSIGNED_TUNNEL_ID)
                self._receive_on_tunnel(t, data, h, now, msg)
                return
        if isinstance(msg, _Rejected):
            # §4.1: an SCCRQ with an unknown mandatory AVP is answered with StopCCN (result 2,
            # error 8) when it names the peer's tunnel; the tunnel exists only to say so
            peer_tid = next((a.value for a in msg.error.avps
                             if a.attr == A.ASSIGNED_TUNNEL_ID and a.vendor == 0), 0)
            if msg.msg_type != M.SCCRQ or not peer_tid or h.ns != 0:
                self.counters["unknown_tunnel"] += 1
                raise L2tpProtocolError("tunnel-id 0 message that is not a valid SCCRQ")
            key = (addr, peer_tid)
            t = self.tunnels.get(self._sccrq_index.get(key, 0))
            if t is None:
                t = self._new_tunnel(addr, originator=False, secret=self.config.accept_secret,
                                     host_name=self.host_name, now=now)
                t.peer_id = peer_tid
                t.sccrq_key = key
                self._sccrq_index[key] = t.local_id
            self._receive_on_tunnel(t, data, h, now, msg)
            return
        if msg.msg_type != M.SCCRQ:
            # a StopCCN/ZLB/other for no tunnel: nothing to answer
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError("tunnel-id 0 message that is not a valid SCCRQ")
        peer_tid = msg.get(A.ASSIGNED_TUNNEL_ID)
        if peer_tid == 0:
            raise L2tpProtocolError("SCCRQ with Assigned Tunnel ID 0")
        key = (addr, peer_tid)
        local = self._sccrq_index.get(key)
        if local is not None and local in self.tunnels:
            self._receive_on_tunnel(self.tunnels[local], data, h, now, msg)
            return
        if msg.ns != 0:
            raise L2tpProtocolError("SCCRQ with Ns != 0 for a new tunnel")
        # tie-breaker (§4.4.3): an SCCRQ of ours to the same peer is outstanding
        theirs = msg.get(A.TIE_BREAKER)
        if theirs is not None:
            for o in list(self.tunnels.values()):
                if o.originator and o.state == T.WAIT_CTL_REPLY and o.peer_addr[0] == addr[0] \
                        and o.tie_breaker is not None:
                    if o.tie_breaker < theirs:
                        self._trace_text(f"tie-breaker: ours wins over SCCRQ from {addr}")
                        return
                    self._trace_text(f"tie-breaker: theirs wins, dropping tunnel {o.local_id}")
                    o.down_result = (3, ERR_NONE, "tie-breaker lost")
                    self._emit_tunnel_down(o, by_peer=True)
                    o.state = T.DEAD
                    self._forget(o)
                    if o.tie_breaker == theirs:
                        return
        if len(self.tunnels) >= self.config.max_tunnels:
            raise L2tpProtocolError("tunnel limit reached")
        t = self._new_tunnel(addr, originator=False, secret=self.config.accept_secret,
                             host_name=self.host_name, now=now)
        t.peer_id = peer_tid
        t.sccrq_key = key
        self._sccrq_index[key] = t.local_id
        self._receive_on_tunnel(t, data, h, now, msg)

    def _receive_on_tunnel(self, t: Tunnel, data: bytes, h: M.Header, now: float, msg=None) -> None:
        if msg is None:
            msg = self._decode(t, data, h, t.secret)
        ch = t.channel
        t.last_rx = now
        self.counters["rx_control"] += 1
        freed = ch.process_ack(h.nr)
        if freed or ch.unsent:
            self._dirty[t.local_id] = t
        if not isinstance(msg, _Rejected) and msg.is_zlb:
            self.counters["rx_zlb"] += 1
            self._trace_msg("rx", t, msg)
            return
        status, ready = ch.receive(h.ns, msg)
        self._dirty[t.local_id] = t
        if status == DUPLICATE:
            self.counters["duplicates"] += 1
            self._trace_text(f"l2tp rx duplicate Ns={h.ns} tunnel {t.local_id} (re-acknowledged)")
            return
        if status == OUT_OF_WINDOW:
            self.counters["out_of_window"] += 1
            self._trace_text(f"l2tp rx out-of-window Ns={h.ns} tunnel {t.local_id} (dropped)")
            return
        for m in ready:
            if t.state == T.DEAD:
                break
            self._dispatch(t, m)

    def _receive_data(self, data: bytes, h: M.Header) -> None:
        t = self.tunnels.get(h.tunnel_id)
        if t is None or t.state != T.ESTABLISHED:
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError(f"data for unknown tunnel {h.tunnel_id}")
        c = t.calls.get(h.session_id)
        if c is None or c.state == C.DEAD or not c.peer_id:
            self.counters["unknown_session"] += 1
            raise L2tpProtocolError(f"data for unknown session {h.session_id}")
        c.rx_packets += 1
        self.counters["rx_data"] += 1
        self._events.append(PppFrame(t.local_id, c.local_id, bytes(data[h.payload_offset:h.end])))

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self, t: Tunnel, m) -> None:
        if isinstance(m, _Rejected):
            self._trace_text(f"l2tp rx tunnel {t.local_id} Ns={m.header.ns} rejected: {m.error.message}")
            t.stop_result = (STOPCCN_GENERAL_ERROR, m.error.error, m.error.message)
            if m.msg_type in M.CALL_MESSAGES and m.header.session_id and t.state == T.ESTABLISHED:
                c = t.calls.get(m.header.session_id)
                if c is not None:
                    c.cdn = (CDN_GENERAL_ERROR, m.error.error, m.error.message, None)
                    self._cfire(c, "rx_fatal")
                    return
            if m.msg_type in (M.OCRQ, M.ICRQ) and t.state == T.ESTABLISHED:
                # refuse the new call with a CDN; the tunnel survives
                peer_sid = next((a.value for a in m.error.avps if a.attr == A.ASSIGNED_SESSION_ID
                                 and a.vendor == 0), 0)
                self.counters["calls_refused"] += 1
                self._send_cdn_raw(t, peer_sid, 0, CDN_GENERAL_ERROR, m.error.error, m.error.message, None)
                return
            if m.msg_type in M.CALL_MESSAGES and t.state == T.ESTABLISHED:
                self.counters["unknown_session"] += 1
                return
            self._fire(t, "rx_fatal")
            return
        self._trace_msg("rx", t, m)
        if m.ignored_avps:
            self.counters["unknown_avp_ignored"] += len(m.ignored_avps)
        mt = m.msg_type
        if mt == M.SCCRQ:
            self._fire(t, self._check_sccrq(t, m), m)
        elif mt == M.SCCRP:
            self._fire(t, self._check_sccrp(t, m), m)
        elif mt == M.SCCCN:
            self._fire(t, self._check_scccn(t, m), m)
        elif mt == M.STOPCCN:
            rc = m.get(A.RESULT_CODE)
            t.down_result = (rc.result, rc.error or 0, rc.message or "")
            self._fire(t, "rx_stopccn", m)
        elif mt == M.HELLO:
            self._fire(t, "rx_hello", m)
        elif mt in M.CALL_MESSAGES:
            self._fire(t, "rx_call_message", m)
        else:
            log.debug("ignoring unknown optional message type %s", mt)

    def _check_sccrq(self, t: Tunnel, m) -> str:
        self._learn_peer(t, m)
        cfg = self.config
        if m.get(A.PROTOCOL_VERSION) != (1, 0):
            t.stop_result = (STOPCCN_BAD_VERSION, ERR_NONE, "protocol version 1.0 only")
            return "rx_sccrq_refuse"
        if not cfg.accept_tunnels:
            t.stop_result = (cfg.refuse_result, cfg.refuse_error, "tunnel refused")
            return "rx_sccrq_refuse"
        if cfg.accept_host_names is not None and t.peer_host_name not in cfg.accept_host_names:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "host name not allowed")
            return "rx_sccrq_refuse"
        if not self._take_peer_challenge(t, m):
            return "rx_sccrq_refuse"
        if t.secret is not None:
            t.challenge = self.rng.randbytes(16)
        return "rx_sccrq_accept"

    def _check_sccrp(self, t: Tunnel, m) -> str:
        if t.state != T.WAIT_CTL_REPLY:
            return "rx_sccrp_ok"  # the table turns this into an FSM error
        self._learn_peer(t, m)
        t.peer_id = m.get(A.ASSIGNED_TUNNEL_ID)
        if m.get(A.PROTOCOL_VERSION) != (1, 0):
            t.stop_result = (STOPCCN_BAD_VERSION, ERR_NONE, "protocol version 1.0 only")
            return "rx_sccrp_bad"
        if t.expected_peer_host is not None and t.peer_host_name != t.expected_peer_host:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE,
                             f"peer host name {t.peer_host_name!r} not {t.expected_peer_host!r}")
            return "rx_sccrp_bad"
        if t.secret is not None:
            resp = m.get(A.CHALLENGE_RESPONSE)
            if resp is None or resp != challenge_response(M.SCCRP, t.secret, t.challenge):
                t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge response mismatch")
                return "rx_sccrp_bad"
        if not self._take_peer_challenge(t, m):
            return "rx_sccrp_bad"
        return "rx_sccrp_ok"

    @staticmethod
    def _take_peer_challenge(t: Tunnel, m) -> bool:
        """Keep the peer's Challenge (§4.4.3: answered in our next message); a challenge we
        cannot answer without a secret refuses the tunnel."""
        ch = m.get(A.CHALLENGE)
        if ch is None:
            return True
        if t.secret is None:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge but no secret")
            return False
        t.peer_challenge = ch
        return True

    def _check_scccn(self, t: Tunnel, m) -> str:
        if t.state == T.WAIT_CTL_CONN and t.challenge is not None:
            resp = m.get(A.CHALLENGE_RESPONSE)
            if resp is None or resp != challenge_response(M.SCCCN, t.secret, t.challenge):
                t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge response mismatch")
                return "rx_scccn_bad"
        return "rx_scccn_ok"

    def _learn_peer(self, t: Tunnel, m) -> None:
        t.peer_host_name = m.get(A.HOST_NAME, "")
        t.peer_vendor = m.get(A.VENDOR_NAME, "")
        t.peer_firmware = m.get(A.FIRMWARE_REVISION)
        t.peer_framing = m.get(A.FRAMING_CAPABILITIES, 0)
        t.peer_bearer = m.get(A.BEARER_CAPABILITIES, 0)
        t.channel.set_peer_window(m.get(A.RECEIVE_WINDOW_SIZE, 4) or 4)

    # ---------------------------------------------------------------- state machine plumbing
    def _fire(self, t: Tunnel, event: str, msg=None) -> None:
        nxt, actions = T.TABLE[(t.state, event)]
        log.debug("tunnel %d: %s --%s--> %s %s", t.local_id, t.state, event, nxt, actions)
        t.state = nxt
        for a in actions:
            getattr(self, "_t_" + a)(t, msg)

    def _cfire(self, c: Call, event: str, msg=None) -> None:
        _, table = C.TABLES[c.kind]
        nxt, actions = table[(c.state, event)]
        log.debug("call %d/%d: %s --%s--> %s %s", c.tunnel.local_id, c.local_id, c.state, event, nxt, actions)
        c.state = nxt
        for a in actions:
            getattr(self, "_c_" + a)(c, msg)
        if c.state == C.DEAD:
            self._destroy_call(c)

    # ---------------------------------------------------------------- tunnel actions
    def _t_ignore(self, t, msg) -> None:
        pass

    def _t_send_sccrq(self, t: Tunnel, msg) -> None:
        avps = self._sccrx_avps(t)
        if t.secret is not None:
            t.challenge = self.rng.randbytes(16)
            avps.append(Avp.make(A.CHALLENGE, t.challenge))
        if self.config.send_tie_breaker:
            t.tie_breaker = self.rng.randbytes(8)
            avps.append(Avp.make(A.TIE_BREAKER, t.tie_breaker))
        self._send(t, M.SCCRQ, avps)

    def _sccrx_avps(self, t: Tunnel) -> list[Avp]:
        cfg = self.config
        return [Avp.make(A.PROTOCOL_VERSION, (1, 0)),
                Avp.make(A.HOST_NAME, t.host_name),
                Avp.make(A.FRAMING_CAPABILITIES, cfg.framing_capabilities),
                Avp.make(A.BEARER_CAPABILITIES, cfg.bearer_capabilities),
                Avp.make(A.FIRMWARE_REVISION, cfg.firmware_revision),
                Avp.make(A.VENDOR_NAME, cfg.vendor_name),
                Avp.make(A.ASSIGNED_TUNNEL_ID, t.local_id),
                Avp.make(A.RECEIVE_WINDOW_SIZE, cfg.receive_window)]

    def _t_send_sccrp(self, t: Tunnel, msg) -> None:
        avps = self._sccrx_avps(t)
        if t.peer_challenge is not None:
            avps.append(Avp.make(A.CHALLENGE_RESPONSE, challenge_response(M.SCCRP, t.secret, t.peer_challenge)))
        if t.challenge is not None:
            avps.append(Avp.make(A.CHALLENGE, t.challenge))
        self._send(t, M.SCCRP, avps)

    def _t_send_scccn(self, t: Tunnel, msg) -> None:
        avps = []
        if t.peer_challenge is not None:
            avps.append(Avp.make(A.CHALLENGE_RESPONSE, challenge_response(M.SCCCN, t.secret, t.peer_challenge)))
        self._send(t, M.SCCCN, avps)

    def _t_send_stopccn(self, t: Tunnel, msg) -> None:
        r, e, text = t.stop_result
        rc = ResultCode(r, e if (e or text) else None, text or None)
        t.down_result = (r, e, text)
        self._send(t, M.STOPCCN, [Avp.make(A.ASSIGNED_TUNNEL_ID, t.local_id), Avp.make(A.RESULT_CODE, rc)])

    def _t_send_stopccn_fsm(self, t: Tunnel, msg) -> None:
        t.stop_result = (STOPCCN_FSM_ERROR, ERR_NONE, f"unexpected {msg.name if msg else 'message'} in {t.state}")
        self._t_send_stopccn(t, msg)

    def _t_send_stopccn_error(self, t: Tunnel, msg) -> None:
        self._t_send_stopccn(t, msg)

    def _t_send_hello(self, t: Tunnel, msg) -> None:
        t.last_rx = self._now
        if t.channel.idle:
            self._send(t, M.HELLO, [])

    def _t_tunnel_up(self, t: Tunnel, msg) -> None:
        t.up_at = self._now
        self._events.append(TunnelUp(t.local_id, t.peer_id, t.peer_addr, t.peer_host_name))
        for c in list(t.calls.values()):
            if c.state == C.WAIT_TUNNEL:
                self._cfire(c, "tunnel_up")

    def _emit_tunnel_down(self, t: Tunnel, *, by_peer: bool) -> None:
        r, e, text = t.down_result
        for c in list(t.calls.values()):
            c.cdn = (r, e, text, None)
            c.down_by_peer = by_peer
            self._cfire(c, "tunnel_down")
        self._events.append(TunnelDown(t.local_id, r, e, text, by_peer))

    def _t_tunnel_down_local(self, t: Tunnel, msg) -> None:
        self._emit_tunnel_down(t, by_peer=False)

    def _t_tunnel_down_peer(self, t: Tunnel, msg) -> None:
        t.channel.unsent.clear()
        t.channel.inflight.clear()
        self._emit_tunnel_down(t, by_peer=True)

    def _t_tunnel_down_timeout(self, t: Tunnel, msg) -> None:
        self.counters["tunnels_timed_out"] += 1
        t.down_result = (STOPCCN_GENERAL_ERROR, ERR_NONE, "no acknowledgement from peer")
        self._emit_tunnel_down(t, by_peer=False)

    def _t_report_refused(self, t: Tunnel, msg) -> None:
        self.counters["tunnels_refused"] += 1

    def _t_start_hold(self, t: Tunnel, msg) -> None:
        t.hold_until = self._now + self.config.effective_hold_time()

    def _t_destroy(self, t: Tunnel, msg) -> None:
        t.state = T.DEAD
        for c in list(t.calls.values()):
            self._destroy_call(c)
        self._forget(t)

    def _t_dispatch_call(self, t: Tunnel, m) -> None:
        mt = m.msg_type
        if mt == M.OCRQ or mt == M.ICRQ:
            kind = "lac-out" if mt == M.OCRQ else "lns-in"
            peer_sid = m.get(A.ASSIGNED_SESSION_ID)
            if peer_sid in t.peer_calls:      # a second request for the same peer session
                return
            if len(t.calls) >= self.config.max_sessions_per_tunnel or peer_sid == 0:
                self._send_cdn_raw(t, peer_sid, 0, CDN_TEMP_NO_FACILITIES, ERR_BAD_VALUE if peer_sid == 0 else 4,
                                   "cannot accept call", None)
                return
            c = self._new_call(t, kind, self._now)
            c.peer_id = peer_sid
            t.peer_calls[peer_sid] = c
            c.serial = m.get(A.CALL_SERIAL_NUMBER, 0)
            c.called_number = m.get(A.CALLED_NUMBER, "")
            c.calling_number = m.get(A.CALLING_NUMBER, "")
            c.sub_address = m.get(A.SUB_ADDRESS)
            c.min_bps = m.get(A.MINIMUM_BPS, 0)
            c.max_bps = m.get(A.MAXIMUM_BPS, 0)
            c.bearer_type = m.get(A.BEARER_TYPE, 0)
            c.framing_type = m.get(A.FRAMING_TYPE, DEFAULT_FRAMING)
            if m.has(A.SEQUENCING_REQUIRED):
                c.data_seq = True
            if mt == M.OCRQ:
                self._cfire(c, "rx_ocrq_accept", m)
            else:
                ok = self.config.accept_incoming_calls
                if not ok:
                    c.cdn = (CDN_TEMP_NO_FACILITIES, ERR_NONE, "incoming calls refused", None)
                    self.counters["calls_refused"] += 1
                self._cfire(c, "rx_icrq_accept" if ok else "rx_icrq_refuse", m)
            return
        c = t.calls.get(m.session_id) if m.session_id else None
        if c is None and mt == M.CDN:
            c = t.peer_calls.get(m.get(A.ASSIGNED_SESSION_ID))
        if c is None:
            self.counters["unknown_session"] += 1
            log.debug("tunnel %d: %s for unknown session %d", t.local_id, m.name, m.session_id)
            return
        if mt == M.CDN:
            rc = m.get(A.RESULT_CODE)
            q = m.get(A.Q931_CAUSE)
            c.cdn = (rc.result, rc.error or 0, rc.message or "", q.cause if q else None)
        elif mt in (M.OCCN, M.ICCN):
            c.connect_speed = m.get(A.TX_CONNECT_SPEED, 0)
            if m.has(A.SEQUENCING_REQUIRED):
                c.data_seq = True
        self._cfire(c, _MSG_EVENT[mt], m)

    # ---------------------------------------------------------------- call actions
    def _c_ignore(self, c, msg) -> None:
        pass

    def _hide(self, t: Tunnel, attr: int) -> bool:
        return t.secret is not None and self.config.hide_avps and attr in HIDE_ATTRS

    def _c_send_ocrq(self, c: Call, msg) -> None:
        t = c.tunnel
        c.serial = self._next_serial()
        avps = [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id),
                Avp.make(A.CALL_SERIAL_NUMBER, c.serial),
                Avp.make(A.MINIMUM_BPS, c.min_bps),
                Avp.make(A.MAXIMUM_BPS, c.max_bps),
                Avp.make(A.BEARER_TYPE, c.bearer_type),
                Avp.make(A.FRAMING_TYPE, c.framing_type),
                Avp.make(A.CALLED_NUMBER, c.called_number, hidden=self._hide(t, A.CALLED_NUMBER))]
        if c.sub_address is not None:
            avps.append(Avp.make(A.SUB_ADDRESS, c.sub_address, hidden=self._hide(t, A.SUB_ADDRESS)))
        self._send(t, M.OCRQ, avps, 0)

    def _c_send_icrq(self, c: Call, msg) -> None:
        t = c.tunnel
        c.serial = self._next_serial()
        avps = [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id),
                Avp.make(A.CALL_SERIAL_NUMBER, c.serial),
                Avp.make(A.BEARER_TYPE, c.bearer_type)]
        if c.called_number:
            avps.append(Avp.make(A.CALLED_NUMBER, c.called_number, hidden=self._hide(t, A.CALLED_NUMBER)))
        if c.calling_number:
            avps.append(Avp.make(A.CALLING_NUMBER, c.calling_number, hidden=self._hide(t, A.CALLING_NUMBER)))
        self._send(t, M.ICRQ, avps, 0)

    def _c_send_ocrp(self, c: Call, msg) -> None:
        self._send(c.tunnel, M.OCRP, [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id)], c.peer_id)

    def _c_send_icrp(self, c: Call, msg) -> None:
        self._send(c.tunnel, M.ICRP, [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id)], c.peer_id)

    def _connect_avps(self, c: Call) -> list[Avp]:
        framing = c.framing_type
        if framing & A.FRAMING_SYNC:
            framing = A.FRAMING_SYNC
        elif framing & A.FRAMING_ASYNC:
            framing = A.FRAMING_ASYNC
        c.framing_type = framing or A.FRAMING_SYNC
        return [Avp.make(A.TX_CONNECT_SPEED, c.connect_speed), Avp.make(A.FRAMING_TYPE, c.framing_type)]

    def _c_send_occn(self, c: Call, msg) -> None:
        self._send(c.tunnel, M.OCCN, self._connect_avps(c), c.peer_id)

    def _c_send_iccn(self, c: Call, msg) -> None:
        c.connect_speed = c.connect_speed or DEFAULT_MAX_BPS
        self._send(c.tunnel, M.ICCN, self._connect_avps(c), c.peer_id)

    def _c_request_dial(self, c: Call, msg) -> None:
        self._events.append(OutgoingCallRequested(c.tunnel.local_id, c.local_id, c.called_number, c.min_bps,
                                                  c.max_bps, c.bearer_type, c.framing_type, c.sub_address))

    def _c_report_incoming(self, c: Call, msg) -> None:
        self._events.append(IncomingCallRequested(c.tunnel.local_id, c.local_id, c.calling_number,
                                                  c.called_number, c.serial))

    def _c_record_peer(self, c: Call, msg) -> None:
        c.peer_id = msg.get(A.ASSIGNED_SESSION_ID)
        c.tunnel.peer_calls[c.peer_id] = c

    def _c_call_up(self, c: Call, msg) -> None:
        c.up_at = self._now
        direction = "outgoing" if c.kind in ("lns-out", "lac-out") else "incoming"
        self._events.append(CallUp(c.tunnel.local_id, c.local_id, c.peer_id, direction, c.called_number,
                                   c.connect_speed))

    def _send_cdn_raw(self, t: Tunnel, peer_sid: int, local_sid: int, result: int, error: int,
                      text: str, cause: int | None) -> None:
        rc = ResultCode(result, error if (error or text) else None, text or None)
        avps = [Avp.make(A.RESULT_CODE, rc), Avp.make(A.ASSIGNED_SESSION_ID, local_sid)]
        if cause is not None:
            avps.append(Avp.make(A.Q931_CAUSE, Q931Cause(cause, 0)))
        self._send(t, M.CDN, avps, peer_sid)

    def _c_send_cdn(self, c: Call, msg) -> None:
        r, e, text, cause = c.cdn
        self._send_cdn_raw(c.tunnel, c.peer_id, c.local_id, r, e, text, cause)

    def _c_send_cdn_fsm(self, c: Call, msg) -> None:
        if c.cdn[0] == CDN_ADMIN and not c.cdn[2]:
            c.cdn = (CDN_GENERAL_ERROR, ERR_BAD_SESSION_ID if msg is None else ERR_NONE,
                     f"unexpected {msg.name if msg else 'message'} in {c.state}", None)
        self._c_send_cdn(c, msg)

    def _call_down(self, c: Call, by_peer: bool) -> None:
        r, e, text, cause = c.cdn
        self._events.append(CallDown(c.tunnel.local_id, c.local_id, r, e, text, by_peer, cause))

    def _c_call_down_local(self, c: Call, msg) -> None:
        self._call_down(c, False)

    def _c_call_down_peer(self, c: Call, msg) -> None:
        self._call_down(c, True)

    def _c_call_down_tunnel(self, c: Call, msg) -> None:
        self._call_down(c, c.down_by_peer)

    def _c_destroy(self, c: Call, msg) -> None:
        c.state = C.DEAD

    # ---------------------------------------------------------------- helpers
    def _place(self, c: Call) -> None:
        self._cfire(c, "place_ready" if c.tunnel.state == T.ESTABLISHED else "place_wait")

    def _send(self, t: Tunnel, msg_type: int, avps: list[Avp], session_id: int = 0) -> None:
        ch = t.channel
        rv = None
        if any(a.hidden for a in avps):
            rv = self.rng.randbytes(16)
        data = M.encode_control(msg_type, t.peer_id, session_id, ch.ns_next, ch.nr, avps,
                                secret=t.secret, random_vector=rv)
        if self.trace:
            name = M.MESSAGE_NAMES.get(msg_type, str(msg_type))
            self._trace_line("tx", t, session_id, ch.ns_next, ch.nr, name,
                             " ".join(a.describe() for a in avps))
        ch.enqueue(data)
        self.counters["tx_control"] += 1
        self._dirty[t.local_id] = t

    def _trace_msg(self, direction: str, t: Tunnel, m) -> None:
        if self.trace:
            self._trace_line(direction, t, m.session_id, m.ns, m.nr, m.name, m.describe())

    def _trace_line(self, direction: str, t: Tunnel, sid: int, ns: int, nr: int, name: str, avps: str) -> None:
        if self.trace:
            self.trace(f"l2tp {direction} {t.peer_addr[0]}:{t.peer_addr[1]} tunnel {t.local_id}/{t.peer_id} "
                       f"session {sid} Ns={ns} Nr={nr} {name}{' ' + avps if avps else ''}")

    def _trace_text(self, text: str) -> None:
        log.debug("%s", text)
        if self.trace:
            self.trace(text)

    def _next_serial(self) -> int:
        self._serial = (self._serial + 1) & 0xFFFFFFFF
        return self._serial

    def _alloc_id(self, used) -> int:
        for _ in range(64):
            i = self.rng.randint(1, 65535)
            if i not in used:
                return i
        for i in range(1, 65536):
            if i not in used:
                return i
        raise RuntimeError("no free id")

    def _new_tunnel(self, addr: Any, *, originator: bool, secret: bytes | None, host_name: str,
                    now: float) -> Tunnel:
        cfg = self.config
        if len(self.tunnels) >= min(cfg.max_tunnels, 65535):
            raise RuntimeError("tunnel limit reached")
        tid = self._alloc_id(self.tunnels)
        ch = ReliableChannel(our_window=cfg.receive_window, retransmit_initial=cfg.retransmit_initial,
                             retransmit_cap=cfg.retransmit_cap, max_retries=cfg.max_retries)
        t = Tunnel(tid, addr, originator, host_name, secret, ch, now)
        t.last_rx = now
        self.tunnels[tid] = t
        return t

    def _new_call(self, t: Tunnel, kind: str, now: float) -> Call:
        if t.state in (T.CLOSING, T.DEAD):
            raise ValueError(f"tunnel {t.local_id} is {t.state}")
        sid = self._alloc_id(t.calls)
        c = Call(sid, t, kind, now)
        c.data_seq = self.config.data_sequencing
        t.calls[sid] = c
        return c

    def _destroy_call(self, c: Call) -> None:
        t = c.tunnel
        if t.calls.get(c.local_id) is c:
            del t.calls[c.local_id]
        if c.peer_id and t.peer_calls.get(c.peer_id) is c:
            del t.peer_calls[c.peer_id]

    def _forget(self, t: Tunnel) -> None:
        if self.tunnels.get(t.local_id) is t:
            del self.tunnels[t.local_id]
        if t.sccrq_key is not None and self._sccrq_index.get(t.sccrq_key) == t.local_id:
            del self._sccrq_index[t.sccrq_key]
        if self._dirty.get(t.local_id) is t:
            del self._dirty[t.local_id]

    def _tunnel(self, tunnel_id: int) -> Tunnel:
        t = self.tunnels.get(tunnel_id)
        if t is None or t.state in (T.CLOSING, T.DEAD):
            raise KeyError(f"no usable tunnel {tunnel_id}")
        return t

    def _call(self, tunnel_id: int, session_id: int) -> Call | None:
        t = self.tunnels.get(tunnel_id)
        return t.calls.get(session_id) if t else None

    def _hello_deadline(self, t: Tunnel) -> float | None:
        if t.state != T.ESTABLISHED or not self.config.hello_interval or not t.channel.idle:
            return None
        return t.last_rx + self.config.hello_interval

    def _tunnel_deadline(self, t: Tunnel) -> float | None:
        best = t.channel.deadline()
        for d in (self._hello_deadline(t), t.hold_until):
            if d is not None and (best is None or d < best):
                best = d
        return best

