"""Lab LAC: accepts the LNS's control connections and outgoing calls, dials through a *dialer*
and relays PPP frames between the L2TP session and the dialled party.

Dialer interface (kept tiny on purpose)::

    class Dialer(Protocol):
        def dial(self, called_number: str) -> DialedParty | None   # None = refuse the call

    class DialedParty(Protocol):
        connect_speed: int                       # optional, bits/s reported in OCCN
        def receive_frame(self, frame: bytes, *, now: float) -> None   # PPP frame from the LNS
        def frames_to_send(self) -> list[bytes]  # PPP frames for the LNS
        def get_timer(self) -> float | None
        def handle_timer(self, *, now: float) -> None
        def hangup(self, *, now: float) -> None  # the call was cleared (CDN / tunnel down)
        closed: bool                             # optional: True when the party hung up -> CDN

A PppLink-based CPE fits this directly (receive_frame/frames_to_send/get_timer/handle_timer).
"""
from __future__ import annotations

import dataclasses
import heapq
import logging
import random
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from engine.aio.driver import CoreTimer
from engine.l2tp import (
    CallDown,
    CallUp,
    L2tpConfig,
    L2tpEndpoint,
    OutgoingCallRequested,
    PppFrame,
    TunnelDown,
    TunnelUp,
)
from engine.l2tp.errors import CDN_INVALID_DESTINATION
from engine.l2tp.udp import L2tpUdpAdapter

from .labfile import LacSpec

log = logging.getLogger(__name__)


class DialedParty(Protocol):
    def receive_frame(self, frame: bytes, *, now: float) -> None: ...
    def frames_to_send(self) -> list[bytes]: ...
    def get_timer(self) -> float | None: ...
    def handle_timer(self, *, now: float) -> None: ...
    def hangup(self, *, now: float) -> None: ...


class Dialer(Protocol):
    def dial(self, called_number: str) -> DialedParty | None: ...


class EchoParty:
    """A party that answers and sends every PPP frame straight back (for relay tests)."""

    connect_speed = 64000

    def __init__(self, number: str) -> None:
        self.number = number
        self.received: list[bytes] = []
        self._out: list[bytes] = []
        self.closed = False
        self.hung_up = False

    def receive_frame(self, frame: bytes, *, now: float) -> None:
        self.received.append(frame)
        self._out.append(frame)

    def frames_to_send(self) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, *, now: float) -> None:
        pass

    def hangup(self, *, now: float) -> None:
        self.hung_up = True


class SimpleDialer:
    """Answers numbers in ``answer`` (None = every number) unless listed in ``refuse``.
    Each answered call gets ``party_factory(number)`` (default EchoParty)."""

    def __init__(self, answer: Iterable[str] | None = None, refuse: Iterable[str] = (),
                 party_factory: Callable[[str], DialedParty] = EchoParty) -> None:
        self.answer = None if answer is None else set(answer)
        self.refuse = set(refuse)
        self.party_factory = party_factory
        self.parties: list[DialedParty] = []

    def dial(self, called_number: str) -> DialedParty | None:
        if called_number in self.refuse or (self.answer is not None and called_number not in self.answer):
            return None
        p = self.party_factory(called_number)
        self.parties.append(p)
        return p


class LabLac:
    """One lab LAC bound to spec.listen. ``start()`` inside a running loop; ``close()`` to stop."""

    def __init__(self, spec: LacSpec, dialer: Dialer | None = None, *, rng: random.Random | None = None,
                 trace: Callable[[str], None] | None = None, config: L2tpConfig | None = None) -> None:
        """``config`` (optional) supplies timer/window settings; the spec's secret, hello interval,
        window and failure mode override the corresponding fields."""
        self.spec = spec
        self.dialer = dialer or SimpleDialer(refuse=spec.refuse_numbers)
        f = spec.failure
        cfg = dataclasses.replace(config or L2tpConfig(), accept_secret=spec.secret,
                                  accept_tunnels=f.mode != "refuse-tunnel", refuse_result=f.tunnel_result,
                                  hello_interval=spec.hello_interval, receive_window=spec.receive_window)
        self.endpoint = L2tpEndpoint(rng=rng or random.SystemRandom(), host_name=spec.host_name, config=cfg,
                                     trace=trace)
        self._drop_rng = random.Random(f.seed)
        drop_in = drop_out = None
        if f.mode == "silent":
            drop_in = lambda data, addr: True  # noqa: E731
        elif f.drop > 0:
            drop_in = drop_out = self._lossy
        self.adapter = L2tpUdpAdapter(self.endpoint, spec.listen, on_event=self._on_event, drop_in=drop_in,
                                      drop_out=drop_out, after_service=self._pump)
        self.parties: dict[tuple[int, int], DialedParty] = {}
        self.events: list[Any] = []
        self.keep_events = False
        self._party_timer: CoreTimer | None = None
        self._dirty: set[tuple[int, int]] = set()          # parties with input since the pump
        self._deadline: dict[tuple[int, int], float] = {}  # each party's armed deadline
        self._heap: list[tuple[float, tuple[int, int]]] = []
        self.calls_answered = 0
        self.calls_refused = 0
        self._lns_tunnels: dict[Any, int] = {}             # LNS address -> our tunnel to it
        self.calls_placed = 0

    def dial_in(self, lns: Any, party: DialedParty, *, secret: bytes | None,
                calling_number: str = "") -> tuple[int, int]:
        """Place an incoming call (ICRQ) to the LNS at ``lns`` for ``party`` (a subscriber),
        over the one tunnel this LAC keeps to that LNS: one the LNS opened for its outgoing
        calls when established, else one opened on the first call."""
        ep = self.endpoint
        now = self.adapter.now()
        tid = self._lns_tunnels.get(lns)
        if tid is None or tid not in ep.tunnels or ep.tunnels[tid].state in ("closing", "dead"):
            tid = next((t.local_id for t in ep.tunnels.values()
                        if tuple(t.peer_addr) == tuple(lns) and t.state == "established"), None)
            if tid is not None:
                self._lns_tunnels[lns] = tid
        if tid is None:
            tid = ep.open_tunnel(lns, secret=secret, host_name=self.spec.host_name, now=now)
            self._lns_tunnels[lns] = tid
        sid = ep.place_incoming_call(tid, calling_number=calling_number, now=now)
        self.parties[(tid, sid)] = party
        self.calls_placed += 1
        self.adapter.flush()
        return tid, sid

    def send_from(self, party: Any) -> bool:
        """Put what ``party`` has queued (e.g. its own pings) on the wire now; False when the
        party has no call on this LAC."""
        key = next((k for k, p in self.parties.items() if p is party), None)
        if key is None:
            return False
        self._dirty.add(key)
        self._pump()
        return True

    def _lossy(self, data: bytes, addr: Any) -> bool:
        return self._drop_rng.random() < self.spec.failure.drop

    def start(self) -> LabLac:
        self.adapter.start()
        assert self.adapter.loop is not None
        self._party_timer = CoreTimer(self.adapter.loop, self, self.adapter.flush)
        self._arm_party_timer()
        return self

    @property
    def local_addr(self) -> tuple[str, int]:
        return self.adapter.local_addr

    def close(self) -> None:
        if self._party_timer is not None:
            self._party_timer.cancel()
        self.adapter.close()

    # ---------------------------------------------------------------- events
    def _on_event(self, ev: Any) -> None:
        if self.keep_events:
            self.events.append(ev)
        ep = self.endpoint
        now = self.adapter.now()
        if isinstance(ev, OutgoingCallRequested):
            f = self.spec.failure
            if f.mode == "refuse-call":
                self.calls_refused += 1
                ep.reject_outgoing_call(ev.tunnel_id, ev.session_id, result=f.result, cause=f.cause,
                                        message="call refused by lab LAC", now=now)
                return
            party = None
            if ev.called_number not in self.spec.refuse_numbers:
                party = self.dialer.dial(ev.called_number)
            if party is None:
                self.calls_refused += 1
                ep.reject_outgoing_call(ev.tunnel_id, ev.session_id, result=CDN_INVALID_DESTINATION, cause=1,
                                        message=f"cannot dial {ev.called_number}", now=now)
                return
            self.parties[(ev.tunnel_id, ev.session_id)] = party
            self._dirty.add((ev.tunnel_id, ev.session_id))
            self.calls_answered += 1
            speed = getattr(party, "connect_speed", None) or self.spec.connect_speed
            ep.answer_outgoing_call(ev.tunnel_id, ev.session_id, connect_speed=speed, now=now)
        elif isinstance(ev, CallUp) and ev.direction == "incoming":
            party = self.parties.get((ev.tunnel_id, ev.session_id))
            start = getattr(party, "start", None)
            if start is not None:                      # a subscriber: its PPP starts now
                start(now=now)
                self._dirty.add((ev.tunnel_id, ev.session_id))
        elif isinstance(ev, PppFrame):
            party = self.parties.get((ev.tunnel_id, ev.session_id))
            if party is not None:
                party.receive_frame(ev.frame, now=now)
                self._dirty.add((ev.tunnel_id, ev.session_id))
        elif isinstance(ev, CallDown):
            party = self.parties.pop((ev.tunnel_id, ev.session_id), None)
            self._deadline.pop((ev.tunnel_id, ev.session_id), None)
            if party is not None:
                party.hangup(now=now)
        elif isinstance(ev, TunnelDown):
            log.info("lab LAC %s: tunnel %d down (%d calls)", self.spec.name, ev.tunnel_id,
                     len(ev.sessions))
            for sid in ev.sessions:              # the calls that ended with it
                party = self.parties.pop((ev.tunnel_id, sid), None)
                self._deadline.pop((ev.tunnel_id, sid), None)
                if party is not None:
                    party.hangup(now=now)
        elif isinstance(ev, TunnelUp):
            log.info("lab LAC %s: %s", self.spec.name, ev)

    def _pump(self) -> None:
        """Move frames from the parties touched since the last pump to the wire, clear calls
        whose party hung up, and re-arm the one party timer (work per datagram is O(1) in the
        number of calls: only dirty parties are visited, deadlines live in a heap)."""
        if not self._dirty:
            self._arm_party_timer()
            return
        ep = self.endpoint
        now = self.adapter.now()
        sent = False
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            party = self.parties.get(key)
            if party is None:
                continue
            for frame in party.frames_to_send():
                sent |= ep.send_ppp(key[0], key[1], frame)
            if getattr(party, "closed", False):
                del self.parties[key]
                self._deadline.pop(key, None)
                ep.disconnect_call(key[0], key[1], result=1, message="party hung up", now=now)
                sent = True
                continue
            t = party.get_timer()
            if t != self._deadline.get(key):
                if t is None:
                    self._deadline.pop(key, None)
                else:
                    self._deadline[key] = t
                    heapq.heappush(self._heap, (t, key))
        if sent:
            out = ep.datagrams_to_send(now=now)
            if out:
                self.adapter._send(out)
        self._arm_party_timer()

    def _arm_party_timer(self) -> None:
        if self._party_timer is not None:
            self._party_timer.arm()

    def get_timer(self) -> float | None:
        """The earliest party deadline (the parties' timers as one core)."""
        heap = self._heap
        while heap and self._deadline.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)                      # stale entry
        return heap[0][0] if heap else None

    def handle_timer(self, *, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            t, key = heapq.heappop(heap)
            if self._deadline.get(key) != t:
                continue
            del self._deadline[key]
            party = self.parties.get(key)
            if party is not None:
                party.handle_timer(now=now)
                self._dirty.add(key)


def start_lacs(specs: Iterable[LacSpec], dialer: Dialer | None = None, *,
               rng: random.Random | None = None) -> list[LabLac]:
    """Start one LabLac per spec in the running loop (shared dialer when given)."""
    return [LabLac(s, dialer, rng=rng).start() for s in specs]
