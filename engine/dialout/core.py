"""The dial-out service's shared state and session-machine driver.

``ServiceCore`` holds every table of the service (VRs, sessions, tunnels, calls, timers, the
pending queue) and the three things every part uses: the request and trace queues, the
per-level counting and ``_fire``, which feeds one event to the session state machine
(``session.TRANSITIONS``) and runs the resulting actions through an explicit
``Action -> method`` table.  The parts built on it (``tunnels``, ``actions``, ``levels``,
``service``) each own one job; see ``service.py`` for the request flow.
"""
from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable

from engine.dialout.deadlines import SessionDeadlines
from engine.dialout.ifnums import InterfaceNumbers
from engine.dialout.model import ChassisConfig, ChassisState, DialoutConfig, DialoutTrace, IPv4, Request, SessionKey
from engine.dialout.records import SessionEntry, TunnelEntry, VrEntry
from engine.dialout.selection import DestinationTable, TunnelSelector
from engine.dialout.session import SETUP_STATES, Action, SessionEvent, SessionState, transition
from engine.dialout.targets import Counter as C
from engine.dialout.targets import Counters

S, E = SessionState, SessionEvent
Packet = bytes | None                    # the trigger packet an event carries, if any
ActionFn = Callable[[SessionEntry, float, Packet], None]
ActionTable = dict[Action, ActionFn]


class ServiceCore:
    """State shared by the parts of ``DialoutService``; not used on its own."""

    def __init__(self, *, trace: Callable[[DialoutTrace], None] | None = None,
                 keep_events: bool = True, max_trace_events: int = 65536,
                 ifname_prefix: str = "ppp") -> None:
        self.chassis_state = ChassisState.INIT_INCOMPLETE
        self._cfg = ChassisConfig()
        self.counters = Counters()
        self.stale_inputs = 0
        self._vrs: dict[str, VrEntry] = {}
        self._sessions: dict[SessionKey, SessionEntry] = {}
        self._by_state: Counter[SessionState] = Counter()
        self._connecting = 0
        self._pending: deque[SessionKey] = deque()
        self._timers: list[tuple[float, int, SessionKey, int]] = []
        # idle / Session-Timeout of inService sessions (started by on_ppp_up)
        self.deadlines: SessionDeadlines[SessionKey] = SessionDeadlines()
        self._seq = 0
        self._requests: deque[Request] = deque()
        self._events: deque[DialoutTrace] = deque(maxlen=max_trace_events)
        self.trace = trace
        self.keep_events = keep_events
        self._next_auth = 0
        self._next_call = 0
        self._next_tref = 0
        self._auth_ids: dict[int, SessionKey] = {}
        self._calls: dict[int, SessionKey] = {}
        self._tunnels: dict[int, TunnelEntry] = {}
        self._tunnel_by_key: dict[tuple[str, str, str], TunnelEntry] = {}
        # tunnels gone down whose sessions are still to be ended (``tunnel_down_step``)
        self._downed: dict[int, TunnelEntry] = {}
        self._ifnums = InterfaceNumbers()
        self.ifname_prefix = ifname_prefix
        self.destinations = DestinationTable(self._cfg.lockout_timeout)
        self.selector = TunnelSelector(self.destinations)
        self.chassis_state = ChassisState.IN_SERVICE
        self.chassis_reason = ""
        self._restricted_by: str = ""      # set_chassis_state(restricted): resources lost
        self._applied: DialoutConfig | None = None
        self._actions: ActionTable = self._action_table()

    def _action_table(self) -> ActionTable:
        """Action -> bound method performing it (defined by the class carrying the actions)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ output side
    def next_request(self) -> Request | None:
        return self._requests.popleft() if self._requests else None

    def requests(self) -> list[Request]:
        """Pop every pending request."""
        out = list(self._requests)
        self._requests.clear()
        return out

    def next_event(self) -> DialoutTrace | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        heap = self._timers
        limit = self.deadlines.get_timer()
        while heap:
            deadline, _seq, key, gen = heap[0]
            s = self._sessions.get(key)
            if s is not None and s.timer_gen == gen and s.deadline is not None:
                return deadline if limit is None else min(deadline, limit)
            heapq.heappop(heap)
        return limit

    # ------------------------------------------------------------------ tracing
    @property
    def tracing(self) -> bool:
        """Whether trace lines are wanted (a trace callback, or events kept for next_event);
        callers test it before formatting a line."""
        return self.trace is not None or self.keep_events

    def _trace(self, vr: str, dst: IPv4 | None, line: str, now: float, *,
               since: float | None = None) -> None:
        """One trace line; about a session (``dst``), it carries the time since the session's
        trigger (``since``: the trigger time, looked up when not given)."""
        if since is None and dst is not None:
            s = self._sessions.get(SessionKey(vr, dst))
            if s is not None:
                since = s.created_at
        ev = DialoutTrace(now, vr, dst, line, None if since is None else max(0.0, now - since))
        if self.keep_events:
            self._events.append(ev)
        if self.trace is not None:
            self.trace(ev)

    # ------------------------------------------------------------------ chassis state
    def _update_chassis(self, now: float) -> None:
        """restricted while resources are lost (``set_chassis_state``) or while the session
        table is full (``l2tp dial-out max-sessions``); inService otherwise."""
        if self.chassis_state is ChassisState.INIT_INCOMPLETE:
            return
        if self._restricted_by:
            reason = self._restricted_by
        elif len(self._sessions) >= self._cfg.max_sessions:
            reason = f"max-sessions {self._cfg.max_sessions} reached"
        else:
            reason = ""
        new = ChassisState.RESTRICTED if reason else ChassisState.IN_SERVICE
        if new is not self.chassis_state or reason != self.chassis_reason:
            self.chassis_state, self.chassis_reason = new, reason
            if self.tracing:
                self._trace("default", None, f"dial-out chassis {new}"
                            + (f" ({reason})" if reason else ""), now)

    @staticmethod
    def _user_name(s: SessionEntry) -> str:
        """The dial-out Access-Request User-Name: [RD/]destination@domain (dialout.md §2);
        made again only when the VR's route distinguisher changed since it was made."""
        rd = s.vrobj.config.route_distinguisher
        if s.user_name and s.user_name_rd == rd:
            return s.user_name
        s.user_name_rd = rd
        return (f"{rd}/" if rd else "") + f"{s.key.dst}@{s.target.domain}"

    # ------------------------------------------------------------------ counting helpers
    def _count(self, s: SessionEntry, counter: C, n: int = 1) -> None:
        """Count at every level the session belongs to: session, target, VR, chassis."""
        s.counters.values[counter] += n          # Counters.add, inlined: the hot path
        s.target.counters.values[counter] += n
        s.vrobj.counters.values[counter] += n
        self.counters.values[counter] += n

    def _count_levels(self, counter: C, *levels: Counters) -> None:
        for c in levels:
            c.add(counter)

    # ------------------------------------------------------------------ machine
    def _set_state(self, s: SessionEntry, new: SessionState, now: float) -> None:
        old = s.state
        if old is new:
            return
        if old is S.IN_SERVICE:
            self.deadlines.stop(s.key)
        self._by_state[old] -= 1
        self._by_state[new] += 1
        s.vrobj.by_state[old] -= 1
        s.vrobj.by_state[new] += 1
        self._connecting += (new in SETUP_STATES) - (old in SETUP_STATES)
        s.state = new
        s.state_since = now
        if new is S.IN_SERVICE:
            s.in_service_since = now
        elif old is S.IN_SERVICE:
            s.in_service_since = None

    def _fire(self, s: SessionEntry, event: SessionEvent, *, now: float,
              packet: bytes | None = None) -> None:
        old = s.state
        nxt, actions = transition(old, event)
        if nxt is not None:
            self._set_state(s, nxt, now)
            if nxt is not old:
                extra = f" ({s.failure_reason})" if nxt in (S.INHIBITED, S.FAILED) else ""
                if self.tracing:
                    self._trace(s.key.vr, s.key.dst,
                                f"session {s.key}: {old} -> {nxt} on {event}{extra}", now)
        for act in actions:
            self._actions[act](s, now, packet)
        if nxt is None:
            if self.tracing:
                self._trace(s.key.vr, s.key.dst, f"session {s.key}: {old} -> deleted on {event}",
                            now, since=s.created_at)

    def _arm(self, s: SessionEntry, delay: float, now: float) -> None:
        s.timer_gen += 1
        s.deadline = now + delay
        self._seq += 1
        heapq.heappush(self._timers, (s.deadline, self._seq, s.key, s.timer_gen))

    def _drain_pending(self, now: float) -> None:
        while self._pending and self._connecting < self._cfg.max_connecting:
            key = self._pending.popleft()
            s = self._sessions.get(key)
            if s is None or not s.in_pending or s.state is not S.PENDING:
                continue
            s.in_pending = False
            self._fire(s, E.SLOT_FREE, now=now)
