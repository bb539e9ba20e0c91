"""Sans-IO L2TP endpoint (RFC 2661): all tunnels and calls of one local UDP socket, both roles."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from . import call as C
from . import message as M
from . import tunnel as T
from .config import L2tpConfig
from .errors import CDN_ADMIN, ERR_NONE, STOPCCN_GENERAL_CLEAR, L2tpProtocolError
from .events import Event
from .receive import Receiver
from .records import (
    DEFAULT_BEARER,
    DEFAULT_FRAMING,
    DEFAULT_MAX_BPS,
    CallInfo,
    L2tpSnapshot,
    TunnelInfo,
    challenge_response,
)

__all__ = ["L2tpEndpoint", "L2tpConfig", "L2tpSnapshot", "TunnelInfo", "CallInfo", "challenge_response"]

log = logging.getLogger(__name__)


class L2tpEndpoint(Receiver):
    """All tunnels and calls of one local UDP socket (sans-IO)."""

    # ================================================================ sans-IO interface
    def receive_datagram(self, data: bytes, addr: Any, *, now: float) -> None:
        self._now = now
        self.counters["rx_datagrams"] += 1
        try:
            self._receive(data, addr, now)
        except L2tpProtocolError as e:
            self.counters["malformed"] += 1
            log.debug("malformed datagram from %s: %s", addr, e)
        except Exception as e:  # defensive: nothing from the wire may escape
            # one line, no traceback and no exception text: neither may carry a tunnel secret
            # to the console (the traceback is logged at debug level only)
            self.counters["malformed"] += 1
            log.error("error handling datagram from %s: %s", addr, type(e).__name__)
            log.debug("datagram from %s", addr, exc_info=True)

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
                if not t.channel.on_timer(now, peer_heard_at=t.heard_at):
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
            i = self._idle_deadline(t)
            if i is not None and now >= i:
                t.stop_result = (STOPCCN_GENERAL_CLEAR, ERR_NONE,
                                 "" if t.close_when_empty else "tunnel idle timeout")
                self._fire(t, "close")
        for t in [t for t in self.tunnels.values() if t.state == T.DEAD]:
            self._forget(t)

    def next_event(self) -> Event | None:
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
        if t is None or c is None or not c.peer_id or t.state != T.ESTABLISHED or c.state == C.DEAD:
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

    def release_tunnel(self, tunnel_id: int, *, now: float) -> None:
        """Close the tunnel now if it carries no call, else as soon as its last call is gone
        (a tunnel shared by sessions of the other direction)."""
        self._now = now
        t = self.tunnels.get(tunnel_id)
        if t is None:
            return
        if not t.calls:
            self.close_tunnel(tunnel_id, now=now)
            return
        t.close_when_empty = True

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
    def tunnel_info(self, t: Any) -> TunnelInfo:
        """One tunnel, without looking at its calls."""
        ch = t.channel
        return TunnelInfo(t.local_id, t.peer_id, t.peer_addr, t.host_name, t.peer_host_name,
                          "originator" if t.originator else "recipient", t.state,
                          len(t.calls), t.created_at, t.up_at, ch.ns_next, ch.nr,
                          ch.retransmits, ch.peer_window, len(ch.inflight) + len(ch.unsent),
                          t.dest_profile)

    def tunnel_infos(self) -> tuple[TunnelInfo, ...]:
        return tuple(self.tunnel_info(t) for t in self.tunnels.values())

    def iter_call_infos(self) -> Iterator[CallInfo]:
        """Every call, one at a time; calls created or ended meanwhile may be missed."""
        for tid in list(self.tunnels):
            t = self.tunnels.get(tid)
            if t is None:
                continue
            for sid in list(t.calls):
                c = t.calls.get(sid)
                if c is not None:
                    yield CallInfo(t.local_id, c.local_id, c.peer_id, c.kind, c.state,
                                   c.called_number, c.calling_number, c.connect_speed, c.serial,
                                   c.created_at, c.up_at, c.rx_packets, c.tx_packets)

    def call_counts(self) -> tuple[int, int]:
        """(calls, established calls), from the tunnels' tables without copying them."""
        total = established = 0
        for t in self.tunnels.values():
            total += len(t.calls)
            established += sum(1 for c in t.calls.values() if c.state == "established")
        return total, established

    def snapshot(self) -> L2tpSnapshot:
        return L2tpSnapshot(self.tunnel_infos(), tuple(self.iter_call_infos()),
                            dict(self.counters), self.half_open_total)
