"""The sans-IO dial-out service: chassis, VR, target and session levels (dialout.md §7).

Theory of operation
-------------------
``DialoutService`` owns the dial-out control state and nothing else: no socket, no clock, no
L2TP/PPP/RADIUS object.  The integration layer feeds it *inputs* (``on_*`` methods, ``clear``,
``reset``, ``handle_timer``) with the current time and pops *requests* (``next_request()``,
frozen dataclasses) that it carries out on the real objects, reporting the outcome back through
the inputs.  ``next_event()`` yields trace lines (``debug l2tp dial-out``).

Request flow of one successful dial-out::

    on_trigger            -> AuthorizeRequest                 (session authenticating)
    on_auth_result(Grant) -> [OpenTunnel] + PlaceCall         (session connecting)
    on_tunnel_result(ok)  -> (tunnel registry updated)
    on_call_result(ok)    -> StartPpp
    on_ppp_up(routes)     -> InstallRoutes + ForwardPackets   (session inService)
    on_call_down          -> RemoveRoutes [+ CloseTunnel]     (session dormant)

``OpenTunnel`` is emitted only when no tunnel with the same (VR, server endpoint, assignment id)
is open or opening: such a tunnel is shared (RFC 2868 Tunnel-Assignment-Id).  ``PlaceCall``
follows at once, naming the tunnel by its ``tunnel_ref``; the L2TP endpoint queues the OCRQ
while the tunnel is still connecting.  When the last session of a tunnel releases it the
service emits ``CloseTunnel``.

Counters (vendor MIB names) are kept per chassis, VR, target and session, always incremented at
every level the session belongs to.  ``dialouts_requested`` counts PlaceCall requests,
``dialouts_rejected`` sessions whose set-up failed on every candidate (or by call/PPP failure),
``dialouts_established`` sessions reaching inService, ``dialouts_timed_out`` AAA-guard and
connecting-timer expiries, ``dialouts_torn_down`` calls ended after being placed (TearDown
requests, and inService calls ended by the peer).

``on_call_down`` means the call is gone (or the integration is ending it: after a PPP
failure or a peer CDN/StopCCN the integration disconnects what is left of the L2TP call and
destroys the PPP link itself); the service then emits no TearDown for that call, only
RemoveRoutes (if routes were installed) and CloseTunnel (if the tunnel became unused).
``TearDown`` is emitted only when the service itself ends a call (connecting timer, failed
route check, clear, target/VR removal).

Stale inputs (a result for a request the session no longer waits for) are counted in
``stale_inputs`` and ignored; they never reach the state machine.
"""
from __future__ import annotations

import enum
import heapq
import ipaddress
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

from engine.dialout.selection import (DestinationSnapshot, DestinationTable, TunnelDef,
                                      TunnelSelector)
from engine.dialout.session import (RESETTABLE_STATES, SETUP_STATES, Action, SessionEvent,
                                    SessionState, inhibit_multiplier, transition)
from engine.dialout.targets import (CounterSnapshot, Counters, Target, TargetConfig, TargetState,
                                    TargetTable)
from engine.types import Route

log = logging.getLogger(__name__)

S, E, A = SessionState, SessionEvent, Action
IPv4 = ipaddress.IPv4Address
Net = ipaddress.IPv4Network


# ============================================================================ configuration
class ConfigError(ValueError):
    """A dial-out configuration that cannot be applied (out of range, service restricted)."""


@dataclass(frozen=True, slots=True)
class ChassisConfig:
    connect_timeout: float = 60.0          # l2tp dial-out connect-timeout (30-3600)
    dormant_timeout: float = 300.0         # l2tp dial-out dormant-timeout (0-3600)
    max_sessions: int = 64000              # l2tp dial-out max-sessions
    max_connecting: int = 1000             # l2tp dial-out max-connecting
    lockout_timeout: float = 300.0         # l2tp destination lockout-timeout (60-3600)
    failover_within_preference: bool = False
    weighted_load_balancing: bool = False


@dataclass(frozen=True, slots=True)
class VrConfig:
    name: str
    targets: tuple[TargetConfig, ...] = ()
    max_buffered_triggers: int = 10        # l2tp dial-out max-buffered-triggers (0-50)
    route_distinguisher: str | None = None  # MPLS RD, e.g. "0.0.0.0:65000"


@dataclass(frozen=True, slots=True)
class DialoutConfig:
    chassis: ChassisConfig = ChassisConfig()
    vrs: tuple[VrConfig, ...] = ()


def validate_config(config: DialoutConfig) -> None:
    c = config.chassis
    if not 30 <= c.connect_timeout <= 3600:
        raise ConfigError(f"connect-timeout {c.connect_timeout} out of range 30-3600")
    if not 0 <= c.dormant_timeout <= 3600:
        raise ConfigError(f"dormant-timeout {c.dormant_timeout} out of range 0-3600")
    if not 60 <= c.lockout_timeout <= 3600:
        raise ConfigError(f"lockout-timeout {c.lockout_timeout} out of range 60-3600")
    if c.max_sessions < 1 or c.max_connecting < 1:
        raise ConfigError("max-sessions and max-connecting must be at least 1")
    seen = set()
    for v in config.vrs:
        if v.name in seen:
            raise ConfigError(f"virtual router {v.name} configured twice")
        seen.add(v.name)
        if not 0 <= v.max_buffered_triggers <= 50:
            raise ConfigError(f"max-buffered-triggers {v.max_buffered_triggers} out of range 0-50")
        prefixes = [t.prefix for t in v.targets]
        if len(set(prefixes)) != len(prefixes):
            raise ConfigError(f"duplicate dial-out target in virtual router {v.name}")


# ============================================================================ AAA results
@dataclass(frozen=True, slots=True)
class CallParams:
    """Call and PPP parameters of a grant (ERX attributes of the first Access-Accept)."""
    dial_out_number: str                   # Called Number AVP (required)
    min_bps: int = 0
    max_bps: int = 64000
    bearer_type: int = 0                   # 0 none, 1 analog, 2 digital
    ppp_username: str | None = None        # what the LNS presents to the CPE
    ppp_password: str | None = None
    ppp_auth_protocol: int = 0             # 0 none, 1 PAP, 2 CHAP, 3 PAP-CHAP, 4 CHAP-PAP


@dataclass(frozen=True, slots=True)
class Grant:
    tunnels: tuple[TunnelDef, ...]
    call: CallParams


@dataclass(frozen=True, slots=True)
class Denial:
    reason: str = "access-reject"


AuthResult = Union[Grant, Denial]


# ============================================================================ keys, requests
@dataclass(frozen=True, slots=True)
class SessionKey:
    vr: str
    dst: ipaddress.IPv4Address

    def __str__(self) -> str:
        return f"{self.vr}/{self.dst}"


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """Send the dial-out Access-Request (Service-Type Outbound, no password)."""
    request_id: int
    session_key: SessionKey
    vr: str
    user_name: str                          # [RD/]dest@domain
    domain: str
    profile: str


@dataclass(frozen=True, slots=True)
class OpenTunnel:
    """Open an L2TP control connection to ``tunnel.server_endpoint`` (SCCRQ)."""
    tunnel_ref: int
    vr: str
    tunnel: TunnelDef


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """Place an outgoing call (OCRQ) on the tunnel ``tunnel_ref`` (queued while it connects)."""
    call_id: int
    session_key: SessionKey
    tunnel_ref: int
    tunnel: TunnelDef
    call: CallParams


@dataclass(frozen=True, slots=True)
class StartPpp:
    """Create the dynamic PPP interface ``ifname`` over the established call and open LCP."""
    call_id: int
    session_key: SessionKey
    ifname: str
    profile: str
    username: str | None
    password: str | None
    auth_protocol: int


@dataclass(frozen=True, slots=True)
class InstallRoutes:
    vr: str
    routes: tuple[Route, ...]
    ifname: str | None                      # session interface; None for dial-out routes
    session_key: SessionKey | None = None
    local_ip: ipaddress.IPv4Address | None = None
    peer_ip: ipaddress.IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class RemoveRoutes:
    vr: str
    routes: tuple[Route, ...]
    ifname: str | None
    session_key: SessionKey | None = None


@dataclass(frozen=True, slots=True)
class ForwardPackets:
    """Send these trigger packets, in order, over the session's PPP link (not through the RIB)."""
    vr: str
    ifname: str | None
    packets: tuple[bytes, ...]
    session_key: SessionKey


@dataclass(frozen=True, slots=True)
class TearDown:
    """End the call (PPP terminate + CDN) and destroy the PPP interface if any."""
    call_id: int
    session_key: SessionKey
    tunnel_ref: int | None
    ifname: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class CloseTunnel:
    """No session uses the tunnel any more: StopCCN."""
    tunnel_ref: int
    reason: str


Request = Union[AuthorizeRequest, OpenTunnel, PlaceCall, StartPpp, InstallRoutes, RemoveRoutes,
                ForwardPackets, TearDown, CloseTunnel]


@dataclass(frozen=True, slots=True)
class DialoutTrace:
    """One ``debug l2tp dial-out`` line."""
    time: float
    vr: str
    destination: ipaddress.IPv4Address | None
    line: str


# ============================================================================ levels
class ChassisState(str, enum.Enum):
    INIT_INCOMPLETE = "initIncomplete"
    IN_SERVICE = "inService"
    RESTRICTED = "restricted"

    def __str__(self) -> str:
        return self.value


class VrState(str, enum.Enum):
    INIT_PENDING = "initPending"
    INIT_FAILED = "initFailed"
    DOWN = "down"
    IN_SERVICE = "inService"

    def __str__(self) -> str:
        return self.value


# ============================================================================ snapshots
@dataclass(frozen=True, slots=True)
class ChassisSnapshot:
    state: ChassisState
    connect_timeout: float
    dormant_timeout: float
    max_sessions: int
    max_connecting: int
    lockout_timeout: float
    failover_within_preference: bool
    weighted_load_balancing: bool
    sessions: int
    connecting: int                         # sessions holding a connecting slot
    sessions_by_state: tuple[tuple[str, int], ...]
    stale_inputs: int
    counters: CounterSnapshot


@dataclass(frozen=True, slots=True)
class VrSnapshot:
    name: str
    state: VrState
    route_distinguisher: str | None
    max_buffered_triggers: int
    targets: int
    sessions: int
    sessions_by_state: tuple[tuple[str, int], ...]
    counters: CounterSnapshot


@dataclass(frozen=True, slots=True)
class TargetSnapshot:
    vr: str
    prefix: ipaddress.IPv4Network
    domain: str
    profile: str
    state: TargetState
    sessions: int
    counters: CounterSnapshot


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    vr: str
    destination: ipaddress.IPv4Address
    target: ipaddress.IPv4Network
    state: SessionState
    created_at: float
    state_since: float
    time_in_state: float
    next_timer: float | None                # seconds until the state's timer, None if none
    user_name: str
    tunnel_ref: int | None
    tunnel_endpoint: str | None
    tunnel_id: int | None                   # L2TP ids as reported by the integration
    session_id: int | None
    call_id: int | None
    ifname: str | None
    access_routes: tuple[ipaddress.IPv4Network, ...]
    peer_ip: ipaddress.IPv4Address | None
    triggers_buffered: int
    triggers_forwarded: int
    inhibit_count: int
    failure_reason: str
    counters: CounterSnapshot


@dataclass(frozen=True, slots=True)
class TunnelSnapshot:
    tunnel_ref: int
    vr: str
    server_endpoint: str
    assignment_id: str
    state: str                              # "connecting" | "established"
    tunnel_id: int | None
    sessions: int


@dataclass(frozen=True, slots=True)
class DialoutSnapshot:
    chassis: ChassisSnapshot
    vrs: tuple[VrSnapshot, ...]
    targets: tuple[TargetSnapshot, ...]
    sessions: tuple[SessionSnapshot, ...]
    destinations: tuple[DestinationSnapshot, ...]
    tunnels: tuple[TunnelSnapshot, ...]


# ============================================================================ internal state
@dataclass(slots=True, eq=False)
class _Vr:
    name: str
    config: VrConfig
    state: VrState = VrState.INIT_PENDING
    targets: TargetTable = field(default_factory=TargetTable)
    counters: Counters = field(default_factory=Counters)
    by_state: Counter = field(default_factory=Counter)


@dataclass(slots=True, eq=False)
class _Tunnel:
    ref: int
    vr: str
    tdef: TunnelDef
    state: str = "connecting"
    tunnel_id: int | None = None
    sessions: set = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.vr, self.tdef.server_endpoint, self.tdef.assignment_id)


@dataclass(slots=True, eq=False)
class _Session:
    key: SessionKey
    vrobj: _Vr
    target: Target
    created_at: float
    state: SessionState = S.DORMANT
    state_since: float = 0.0
    user_name: str = ""
    buffer: deque = field(default_factory=deque)
    triggers_forwarded: int = 0
    counters: Counters = field(default_factory=Counters)
    inhibit_count: int = 0
    deadline: float | None = None
    timer_gen: int = 0
    auth_request_id: int | None = None
    grant: Grant | None = None
    candidates: list = field(default_factory=list)
    cand_index: int = 0
    tunnel: _Tunnel | None = None
    tdef: TunnelDef | None = None
    call_id: int | None = None
    call_established: bool = False
    call_established_before: bool = False   # value at the last _detach
    tunnel_id: int | None = None
    session_id: int | None = None
    ifname: str | None = None
    ifnum: int | None = None
    access_routes: tuple = ()
    peer_ip: IPv4 | None = None
    local_ip: IPv4 | None = None
    in_pending: bool = False
    failure_reason: str = ""


def access_routes_from(*, framed_routes: Iterable = (), framed_ip=None, framed_netmask=None,
                       peer_ip=None) -> tuple[ipaddress.IPv4Network, ...]:
    """Access routes per dialout.md §6: Framed-Route, else Framed-IP-Address/Netmask, else the
    IPCP peer address /32.  ``framed_routes`` items are networks, strings or tuples whose first
    two items are (prefix, prefixlen)."""
    nets = []
    for r in framed_routes:
        if isinstance(r, tuple):
            nets.append(ipaddress.IPv4Network(f"{r[0]}/{r[1]}", strict=False))
        else:
            nets.append(ipaddress.IPv4Network(r, strict=False))
    if nets:
        return tuple(nets)
    if framed_ip is not None:
        mask = framed_netmask if framed_netmask is not None else "255.255.255.255"
        return (ipaddress.IPv4Network(f"{framed_ip}/{mask}", strict=False),)
    if peer_ip is not None:
        return (ipaddress.IPv4Network(f"{peer_ip}/32"),)
    return ()


# ============================================================================ the service
class DialoutService:
    """Sans-IO dial-out control core; see the module docstring for the request flow."""

    def __init__(self, config: DialoutConfig | None = None, *, now: float = 0.0,
                 trace: Callable[[DialoutTrace], None] | None = None,
                 keep_events: bool = True,
                 max_trace_events: int = 65536, ifname_prefix: str = "ppp") -> None:
        self.chassis_state = ChassisState.INIT_INCOMPLETE
        self._cfg = ChassisConfig()
        self.counters = Counters()
        self.stale_inputs = 0
        self._vrs: dict[str, _Vr] = {}
        self._sessions: dict[SessionKey, _Session] = {}
        self._by_state: Counter = Counter()
        self._connecting = 0
        self._pending: deque[SessionKey] = deque()
        self._timers: list[tuple[float, int, SessionKey, int]] = []
        self._seq = 0
        self._requests: deque = deque()
        self._events: deque = deque(maxlen=max_trace_events)
        self.trace = trace
        self.keep_events = keep_events
        self._next_auth = 0
        self._next_call = 0
        self._next_tref = 0
        self._auth_ids: dict[int, SessionKey] = {}
        self._calls: dict[int, SessionKey] = {}
        self._tunnels: dict[int, _Tunnel] = {}
        self._tunnel_by_key: dict[tuple[str, str, str], _Tunnel] = {}
        self._free_ifnums: list[int] = []
        self._next_ifnum = 1
        self.ifname_prefix = ifname_prefix
        self.destinations = DestinationTable(self._cfg.lockout_timeout)
        self.selector = TunnelSelector(self.destinations)
        self.chassis_state = ChassisState.IN_SERVICE
        if config is not None:
            self.apply_config(config, now=now)

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
        while heap:
            deadline, _seq, key, gen = heap[0]
            s = self._sessions.get(key)
            if s is not None and s.timer_gen == gen and s.deadline is not None:
                return deadline
            heapq.heappop(heap)
        return None

    def handle_timer(self, *, now: float) -> None:
        heap = self._timers
        while heap and heap[0][0] <= now:
            _deadline, _seq, key, gen = heapq.heappop(heap)
            s = self._sessions.get(key)
            if s is None or s.timer_gen != gen or s.deadline is None:
                continue
            s.deadline = None
            if s.state is S.CONNECTING:
                s.failure_reason = "connecting timer expired"
            elif s.state is S.AUTHENTICATING:
                s.failure_reason = "no answer from AAA"
            self._fire(s, E.TIMER, now=now)
        self._drain_pending(now)

    # ------------------------------------------------------------------ tracing
    @property
    def tracing(self) -> bool:
        """Whether trace lines are wanted (a trace callback, or events kept for next_event);
        callers test it before formatting a line."""
        return self.trace is not None or self.keep_events

    def _trace(self, vr: str, dst: IPv4 | None, line: str, now: float) -> None:
        ev = DialoutTrace(now, vr, dst, line)
        if self.keep_events:
            self._events.append(ev)
        if self.trace is not None:
            self.trace(ev)

    # ------------------------------------------------------------------ configuration
    @property
    def chassis_config(self) -> ChassisConfig:
        return self._cfg

    def set_chassis_state(self, state: ChassisState | str) -> None:
        self.chassis_state = ChassisState(state)

    def apply_config(self, config: DialoutConfig, *, now: float) -> None:
        """Reconcile chassis settings, VRs and their targets with ``config``."""
        if self.chassis_state is ChassisState.RESTRICTED:
            raise ConfigError("dial-out service is restricted: configuration refused")
        validate_config(config)
        self._cfg = config.chassis
        self.destinations.lockout_timeout = config.chassis.lockout_timeout
        self.selector.weighted_load_balancing = config.chassis.weighted_load_balancing
        self.selector.failover_within_preference = config.chassis.failover_within_preference
        wanted = {v.name: v for v in config.vrs}
        for name in [n for n in self._vrs if n not in wanted]:
            self._remove_vr(name, now=now)
        for name, vcfg in wanted.items():
            v = self._vrs.get(name)
            if v is None:
                v = self._vrs[name] = _Vr(name, vcfg)
                if self.tracing:
                    self._trace(name, None, f"virtual router {name}: dial-out {v.state}", now)
                v.state = VrState.IN_SERVICE
                if self.tracing:
                    self._trace(name, None, f"virtual router {name}: dial-out {v.state}", now)
            v.config = vcfg
            want_t = {t.prefix: t for t in vcfg.targets}
            for t in list(v.targets):
                if want_t.get(t.prefix) != t.config:
                    self._remove_target(v, t, now=now)
            for prefix, tcfg in want_t.items():
                if v.targets.get(prefix) is None:
                    t = Target(name, tcfg)
                    v.targets.add(t)
                    self._requests.append(InstallRoutes(name, (t.route(),), None))
                    if self.tracing:
                        self._trace(name, None, f"target {prefix} domain {tcfg.domain} profile "
                                    f"{tcfg.profile}: {t.state}", now)
        self._drain_pending(now)

    def _remove_target(self, v: _Vr, t: Target, *, now: float) -> None:
        for s in [s for s in self._sessions.values() if s.target is t]:
            s.failure_reason = "target removed"
            self._fire(s, E.CLEAR, now=now)
        v.targets.remove(t.prefix)
        self._requests.append(RemoveRoutes(v.name, (t.route(),), None))
        if self.tracing:
            self._trace(v.name, None, f"target {t.prefix} removed", now)

    def _remove_vr(self, name: str, *, now: float) -> None:
        v = self._vrs[name]
        for t in list(v.targets):
            self._remove_target(v, t, now=now)
        del self._vrs[name]
        if self.tracing:
            self._trace(name, None, f"virtual router {name}: dial-out context removed", now)

    def set_vr_state(self, vr: str, state: VrState | str, *, now: float) -> None:
        v = self._vrs[vr]
        v.state = VrState(state)
        if self.tracing:
            self._trace(vr, None, f"virtual router {vr}: dial-out {v.state}", now)

    def set_target_state(self, vr: str, prefix, state: TargetState | str, *, now: float) -> None:
        t = self._vrs[vr].targets.get(ipaddress.IPv4Network(prefix))
        if t is None:
            raise KeyError(f"no dial-out target {prefix} in {vr}")
        t.state = TargetState(state)
        if self.tracing:
            self._trace(vr, None, f"target {t.prefix}: {t.state}", now)

    # ------------------------------------------------------------------ counting helpers
    def _count(self, s: _Session, name: str, n: int = 1) -> None:
        for c in (s.counters, s.target.counters, s.vrobj.counters, self.counters):
            setattr(c, name, getattr(c, name) + n)

    def _count_levels(self, name: str, *levels: Counters) -> None:
        for c in levels:
            setattr(c, name, getattr(c, name) + 1)

    # ------------------------------------------------------------------ inputs
    def on_trigger(self, vr: str, dst, packet: bytes = b"", *, now: float) -> None:
        """A packet routed by a dial-out route in ``vr`` (dst = its destination address)."""
        try:
            dst = ipaddress.IPv4Address(dst)
        except ValueError:
            self._count_levels("triggers_received", self.counters)
            self._count_levels("triggers_discarded", self.counters)
            log.debug("trigger with invalid destination %r discarded", dst)
            return
        key = SessionKey(vr, dst)
        s = self._sessions.get(key)
        if s is not None:
            self._count(s, "triggers_received")
            target_ok = (s.target.state is TargetState.IN_SERVICE
                         and self.chassis_state is ChassisState.IN_SERVICE
                         and s.vrobj.state is VrState.IN_SERVICE)
            if not target_ok and s.state not in (S.AUTHENTICATING, S.CONNECTING, S.IN_SERVICE):
                self._count(s, "triggers_discarded")
                return
            self._fire(s, self._trigger_event(), now=now, packet=packet)
            self._drain_pending(now)
            return
        v = self._vrs.get(vr)
        levels = [self.counters] + ([v.counters] if v is not None else [])
        self._count_levels("triggers_received", *levels)
        reason = None
        target = None
        if self.chassis_state is not ChassisState.IN_SERVICE:
            reason = f"chassis {self.chassis_state}"
        elif v is None:
            reason = "no dial-out context in virtual router"
        elif v.state is not VrState.IN_SERVICE:
            reason = f"virtual router {v.state}"
        else:
            target = v.targets.match(dst)
            if target is None:
                reason = "no dial-out target"
            else:
                levels.append(target.counters)
                self._count_levels("triggers_received", target.counters)
                if target.state is not TargetState.IN_SERVICE:
                    reason = f"target {target.state}"
                elif len(self._sessions) >= self._cfg.max_sessions:
                    reason = "max-sessions reached"
        if reason is not None:
            self._count_levels("triggers_discarded", *levels)
            if self.tracing:
                self._trace(vr, dst, f"trigger to {dst} discarded: {reason}", now)
            return
        assert v is not None and target is not None
        s = _Session(key, v, target, created_at=now, state_since=now)
        s.counters.triggers_received = 1
        self._sessions[key] = s
        self._by_state[S.DORMANT] += 1
        v.by_state[S.DORMANT] += 1
        target.sessions += 1
        self._count(s, "sessions_created")
        if self.tracing:
            self._trace(vr, dst, f"session {key} created for target {target.prefix}", now)
        self._fire(s, self._trigger_event(), now=now, packet=packet)
        self._drain_pending(now)

    def _trigger_event(self) -> SessionEvent:
        return E.TRIGGER if self._connecting < self._cfg.max_connecting else E.TRIGGER_NO_SLOT

    def on_auth_result(self, session_key: SessionKey, result: AuthResult, *, now: float,
                       request_id: int | None = None) -> None:
        s = self._sessions.get(session_key)
        if (s is None or s.state is not S.AUTHENTICATING
                or (request_id is not None and request_id != s.auth_request_id)):
            self.stale_inputs += 1
            return
        if s.auth_request_id is not None:
            self._auth_ids.pop(s.auth_request_id, None)
        s.auth_request_id = None
        if isinstance(result, Grant):
            problem = None
            if not result.tunnels:
                problem = "grant without tunnel definition"
            elif not result.call.dial_out_number:
                problem = "grant without dial-out number"
            if problem is None:
                self._count(s, "auth_grants")
                s.grant = result
                if self.tracing:
                    self._trace(s.key.vr, s.key.dst, f"session {s.key}: access granted, "
                                f"{len(result.tunnels)} tunnel(s)", now)
                self._fire(s, E.AUTH_GRANT, now=now)
                self._drain_pending(now)
                return
            result = Denial(problem)
        self._count(s, "auth_denies")
        s.failure_reason = f"denied: {result.reason}"
        self._fire(s, E.AUTH_DENY, now=now)
        self._drain_pending(now)

    def session_for_auth_request(self, request_id: int) -> SessionKey | None:
        return self._auth_ids.get(request_id)

    def on_tunnel_result(self, tunnel_ref: int, ok: bool, reason: str = "", *, now: float,
                         tunnel_id: int | None = None) -> None:
        """The tunnel ``tunnel_ref`` came up (ok) or failed / went down (not ok)."""
        tun = self._tunnels.get(tunnel_ref)
        if tun is None:
            self.stale_inputs += 1
            return
        if ok:
            if tun.state == "established":
                self.stale_inputs += 1
                return
            tun.state = "established"
            tun.tunnel_id = tunnel_id
            self.destinations.success(tun.tdef.server_endpoint, now=now)
            for key in tun.sessions:
                s = self._sessions.get(key)
                if s is not None:
                    s.tunnel_id = tunnel_id
            if self.tracing:
                self._trace(tun.vr, None, f"tunnel {tunnel_ref} to {tun.tdef.server_endpoint} "
                            "established", now)
            return
        was_setup = tun.state == "connecting"
        self._forget_tunnel(tun)
        reason = reason or ("tunnel set-up failed" if was_setup else "tunnel down")
        if self.tracing:
            self._trace(tun.vr, None, f"tunnel {tunnel_ref} to {tun.tdef.server_endpoint} "
                        f"down: {reason}", now)
        if was_setup:
            self.destinations.lock_out(tun.tdef.server_endpoint, reason, now=now)
        for key in list(tun.sessions):
            s = self._sessions.get(key)
            if s is None or s.tunnel is not tun:
                continue
            self._detach(s, close_tunnel=False)
            s.failure_reason = reason
            if s.state is S.CONNECTING:
                self._fire(s, E.CALL_FAILED if s.call_established_before else E.SETUP_FAILED,
                           now=now)
            elif s.state is S.IN_SERVICE:
                self._fire(s, E.CALL_DOWN, now=now)
        self._drain_pending(now)

    def on_call_result(self, call_id: int, ok: bool, reason: str = "", *, now: float,
                       tunnel_id: int | None = None, session_id: int | None = None) -> None:
        """The outgoing call ``call_id`` was established (OCCN) or failed during set-up (CDN)."""
        key = self._calls.get(call_id)
        s = self._sessions.get(key) if key is not None else None
        if (s is None or s.call_id != call_id or s.state is not S.CONNECTING
                or s.call_established):
            self.stale_inputs += 1
            return
        if ok:
            s.call_established = True
            if tunnel_id is not None:
                s.tunnel_id = tunnel_id
            s.session_id = session_id
            if self.tracing:
                self._trace(s.key.vr, s.key.dst, f"session {s.key}: call {call_id} established", now)
            self._fire(s, E.CALL_UP, now=now)
        else:
            self._setup_failed(s, reason or "call refused", now=now)
        self._drain_pending(now)

    def _setup_failed(self, s: _Session, reason: str, *, now: float) -> None:
        tdef = s.tdef
        s.failure_reason = reason
        if tdef is not None:
            self.destinations.lock_out(tdef.server_endpoint, reason, now=now)
        self._detach(s, close_tunnel=True)
        self._fire(s, E.SETUP_FAILED, now=now)

    def on_ppp_up(self, session_key: SessionKey, access_routes: Iterable = (),
                  peer_ip=None, *, now: float, local_ip=None, call_id: int | None = None
                  ) -> None:
        """PPP authenticated both ways and IPCP opened; ``access_routes`` from the second
        Access-Accept (see ``access_routes_from``); empty means the peer address /32.
        ``call_id`` (recommended) guards against a result for an earlier call."""
        s = self._sessions.get(session_key)
        if (s is None or s.state is not S.CONNECTING or not s.call_established
                or (call_id is not None and call_id != s.call_id)):
            self.stale_inputs += 1
            return
        nets = tuple(ipaddress.IPv4Network(n, strict=False) for n in access_routes)
        if not nets and peer_ip is not None:
            nets = (ipaddress.IPv4Network(f"{peer_ip}/32"),)
        s.peer_ip = None if peer_ip is None else ipaddress.IPv4Address(peer_ip)
        s.local_ip = None if local_ip is None else ipaddress.IPv4Address(local_ip)
        s.access_routes = nets
        if any(s.key.dst in n for n in nets):
            self._fire(s, E.PPP_UP_ROUTED, now=now)
        else:
            s.failure_reason = ("access route " + (", ".join(map(str, nets)) or "(none)")
                                + f" does not cover {s.key.dst}")
            self._fire(s, E.PPP_UP_UNROUTED, now=now)
        self._drain_pending(now)

    def on_call_down(self, session_key: SessionKey, reason: str = "", *, now: float,
                     call_id: int | None = None) -> None:
        """The session's call or PPP link ended (CDN, StopCCN, LCP terminate, PPP auth
        failure).  ``call_id`` (recommended) guards against a report for an earlier call."""
        s = self._sessions.get(session_key)
        if (s is None or s.call_id is None or s.state not in (S.CONNECTING, S.IN_SERVICE)
                or (call_id is not None and call_id != s.call_id)):
            self.stale_inputs += 1
            return
        reason = reason or "call down"
        if s.state is S.IN_SERVICE:
            s.failure_reason = reason
            self._count(s, "dialouts_torn_down")
            self._fire(s, E.CALL_DOWN, now=now)
        elif not s.call_established:
            self._setup_failed(s, reason, now=now)              # CDN on set-up
        else:
            s.failure_reason = reason                            # e.g. PPP authentication
            self._fire(s, E.CALL_FAILED, now=now)
        self._drain_pending(now)

    def _select_keys(self, vr: str | None, dst) -> list[_Session]:
        if vr is not None and dst is not None:
            s = self._sessions.get(SessionKey(vr, ipaddress.IPv4Address(dst)))
            return [] if s is None else [s]
        return [s for s in self._sessions.values() if vr is None or s.key.vr == vr]

    def clear(self, vr: str | None = None, dst=None, *, now: float) -> int:
        """``clear l2tp dial-out session``: tear down and delete; returns the number deleted."""
        sessions = self._select_keys(vr, dst)
        for s in sessions:
            s.failure_reason = "cleared"
            self._fire(s, E.CLEAR, now=now)
        self._drain_pending(now)
        return len(sessions)

    def reset(self, vr: str | None = None, dst=None, *, now: float) -> int:
        """``l2tp dial-out session reset``: failed/inhibited/postInhibited -> dormant."""
        n = 0
        for s in self._select_keys(vr, dst):
            if s.state in RESETTABLE_STATES:
                self._fire(s, E.RESET, now=now)
                n += 1
        self._drain_pending(now)
        return n

    # ------------------------------------------------------------------ machine
    def _set_state(self, s: _Session, new: SessionState, now: float) -> None:
        old = s.state
        if old is new:
            return
        self._by_state[old] -= 1
        self._by_state[new] += 1
        s.vrobj.by_state[old] -= 1
        s.vrobj.by_state[new] += 1
        self._connecting += (new in SETUP_STATES) - (old in SETUP_STATES)
        s.state = new
        s.state_since = now

    def _fire(self, s: _Session, event: SessionEvent, *, now: float,
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
            self._ACTIONS[act](self, s, now, packet)
        if nxt is None:
            if self.tracing:
                self._trace(s.key.vr, s.key.dst, f"session {s.key}: {old} -> deleted on {event}",
                            now)

    def _arm(self, s: _Session, delay: float, now: float) -> None:
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

    # -- actions -----------------------------------------------------------------------
    def _a_buffer(self, s: _Session, now: float, packet: bytes | None) -> None:
        if packet is not None and len(s.buffer) < s.vrobj.config.max_buffered_triggers:
            s.buffer.append(packet)
            self._count(s, "triggers_enqueued")
        else:
            self._count(s, "triggers_discarded")

    def _a_discard(self, s, now, packet) -> None:
        self._count(s, "triggers_discarded")

    def _a_forward(self, s, now, packet) -> None:
        if packet is None:
            return
        self._requests.append(ForwardPackets(s.key.vr, s.ifname, (packet,), s.key))
        s.triggers_forwarded += 1
        self._count(s, "triggers_forwarded")

    def _a_authorize(self, s, now, packet) -> None:
        v = s.vrobj
        rd = v.config.route_distinguisher
        s.user_name = (f"{rd}/" if rd else "") + f"{s.key.dst}@{s.target.domain}"
        self._next_auth += 1
        rid = self._next_auth
        if s.auth_request_id is not None:
            self._auth_ids.pop(s.auth_request_id, None)
        s.auth_request_id = rid
        self._auth_ids[rid] = s.key
        s.grant = None
        s.failure_reason = ""
        self._count(s, "auth_requests")
        self._requests.append(AuthorizeRequest(rid, s.key, s.key.vr, s.user_name,
                                               s.target.domain, s.target.profile))
        if self.tracing:
            self._trace(s.key.vr, s.key.dst, f"session {s.key}: Access-Request user {s.user_name}",
                        now)
        self._arm(s, self._cfg.connect_timeout, now)

    def _a_start_connecting_timer(self, s, now, packet) -> None:
        self._arm(s, self._cfg.connect_timeout, now)

    def _sessions_of(self, vr: str) -> Callable[[TunnelDef], int]:
        def count(t: TunnelDef) -> int:
            tun = self._tunnel_by_key.get((vr, t.server_endpoint, t.assignment_id))
            return 0 if tun is None else len(tun.sessions)
        return count

    def _a_select_tunnel(self, s, now, packet) -> None:
        assert s.grant is not None
        s.candidates = self.selector.candidates(s.grant.tunnels, now=now,
                                                sessions_of=self._sessions_of(s.key.vr))
        s.cand_index = 0
        self._attempt(s, now, first=True)

    def _a_try_next(self, s, now, packet) -> None:
        self._attempt(s, now, first=False)

    def _attempt(self, s: _Session, now: float, *, first: bool) -> None:
        while s.cand_index < len(s.candidates):
            tdef: TunnelDef = s.candidates[s.cand_index]
            s.cand_index += 1
            if not first and self.destinations.is_locked(tdef.server_endpoint, now=now):
                continue
            self._place(s, tdef, now)
            return
        if not s.failure_reason:
            s.failure_reason = "no tunnel available"
        self._fire(s, E.CALL_FAILED, now=now)

    def _place(self, s: _Session, tdef: TunnelDef, now: float) -> None:
        vr = s.key.vr
        tkey = (vr, tdef.server_endpoint, tdef.assignment_id)
        tun = self._tunnel_by_key.get(tkey)
        if tun is None:
            self._next_tref += 1
            tun = _Tunnel(self._next_tref, vr, tdef)
            self._tunnels[tun.ref] = tun
            self._tunnel_by_key[tkey] = tun
            self._requests.append(OpenTunnel(tun.ref, vr, tdef))
            if self.tracing:
                self._trace(vr, s.key.dst, f"session {s.key}: opening tunnel {tun.ref} to "
                            f"{tdef.server_endpoint} (preference {tdef.preference})", now)
        else:
            if self.tracing:
                self._trace(vr, s.key.dst, f"session {s.key}: reusing tunnel {tun.ref} to "
                            f"{tdef.server_endpoint}", now)
        tun.sessions.add(s.key)
        s.tunnel = tun
        s.tdef = tdef
        s.tunnel_id = tun.tunnel_id
        s.session_id = None
        s.call_established = False
        self._next_call += 1
        s.call_id = self._next_call
        self._calls[s.call_id] = s.key
        self._count(s, "dialouts_requested")
        assert s.grant is not None
        self._requests.append(PlaceCall(s.call_id, s.key, tun.ref, tdef, s.grant.call))

    def _forget_tunnel(self, tun: _Tunnel) -> None:
        self._tunnels.pop(tun.ref, None)
        if self._tunnel_by_key.get(tun.key) is tun:
            del self._tunnel_by_key[tun.key]

    def _detach(self, s: _Session, *, close_tunnel: bool) -> None:
        """Release the session's call: tunnel membership, call id, interface name."""
        tun = s.tunnel
        if tun is not None:
            tun.sessions.discard(s.key)
            if close_tunnel and not tun.sessions and tun.ref in self._tunnels:
                self._forget_tunnel(tun)
                self._requests.append(CloseTunnel(tun.ref, "no sessions"))
        s.tunnel = None
        if s.call_id is not None:
            self._calls.pop(s.call_id, None)
        s.call_established_before = s.call_established
        s.call_id = None
        s.call_established = False
        if s.ifnum is not None:
            heapq.heappush(self._free_ifnums, s.ifnum)
            s.ifnum = None
        s.ifname = None

    def _a_start_ppp(self, s, now, packet) -> None:
        if self._free_ifnums:
            s.ifnum = heapq.heappop(self._free_ifnums)
        else:
            s.ifnum = self._next_ifnum
            self._next_ifnum += 1
        s.ifname = f"{self.ifname_prefix}{s.ifnum}"
        assert s.grant is not None and s.call_id is not None
        c = s.grant.call
        self._requests.append(StartPpp(s.call_id, s.key, s.ifname, s.target.profile,
                                       c.ppp_username, c.ppp_password, c.ppp_auth_protocol))

    def _access_route_objs(self, s: _Session) -> tuple[Route, ...]:
        return tuple(Route(n, "access", ifname=s.ifname) for n in s.access_routes)

    def _a_install_routes(self, s, now, packet) -> None:
        self._requests.append(InstallRoutes(s.key.vr, self._access_route_objs(s), s.ifname,
                                            s.key, s.local_ip, s.peer_ip))
        if self.tracing:
            self._trace(s.key.vr, s.key.dst, f"session {s.key}: access route(s) "
                        f"{', '.join(map(str, s.access_routes))} via {s.ifname} installed", now)

    def _a_forward_buffer(self, s, now, packet) -> None:
        n = len(s.buffer)
        if not n:
            return
        self._requests.append(ForwardPackets(s.key.vr, s.ifname, tuple(s.buffer), s.key))
        s.buffer.clear()
        s.triggers_forwarded += n
        self._count(s, "triggers_forwarded", n)

    def _a_remove_routes(self, s, now, packet) -> None:
        if s.access_routes:
            self._requests.append(RemoveRoutes(s.key.vr, self._access_route_objs(s), s.ifname,
                                               s.key))

    def _a_tear_down(self, s, now, packet) -> None:
        if s.call_id is not None:
            self._requests.append(TearDown(s.call_id, s.key,
                                           s.tunnel.ref if s.tunnel is not None else None,
                                           s.ifname, s.failure_reason or "torn down"))
            self._count(s, "dialouts_torn_down")
        self._detach(s, close_tunnel=True)

    def _a_release_call(self, s, now, packet) -> None:
        self._detach(s, close_tunnel=True)

    def _a_drop_buffer(self, s, now, packet) -> None:
        n = len(s.buffer)
        if n:
            s.buffer.clear()
            self._count(s, "triggers_discarded", n)

    def _a_start_inhibit_timer(self, s, now, packet) -> None:
        mult = inhibit_multiplier(s.inhibit_count)
        s.inhibit_count += 1
        self._arm(s, self._cfg.connect_timeout * mult, now)

    def _a_start_dormant_timer(self, s, now, packet) -> None:
        self._arm(s, self._cfg.dormant_timeout, now)

    def _a_start_pending_timer(self, s, now, packet) -> None:
        self._arm(s, self._cfg.connect_timeout, now)

    def _a_cancel_timer(self, s, now, packet) -> None:
        s.timer_gen += 1
        s.deadline = None

    def _a_reset_backoff(self, s, now, packet) -> None:
        s.inhibit_count = 0

    def _a_enqueue_pending(self, s, now, packet) -> None:
        s.in_pending = True
        self._pending.append(s.key)

    def _a_dequeue_pending(self, s, now, packet) -> None:
        s.in_pending = False       # removed lazily from the deque

    def _a_count_established(self, s, now, packet) -> None:
        self._count(s, "dialouts_established")
        s.failure_reason = ""

    def _a_count_timed_out(self, s, now, packet) -> None:
        self._count(s, "dialouts_timed_out")

    def _a_count_rejected(self, s, now, packet) -> None:
        self._count(s, "dialouts_rejected")

    def _a_count_reset(self, s, now, packet) -> None:
        self._count(s, "sessions_reset")

    def _a_delete(self, s, now, packet) -> None:
        if s.auth_request_id is not None:
            self._auth_ids.pop(s.auth_request_id, None)
        if s.tunnel is not None or s.call_id is not None:
            self._detach(s, close_tunnel=True)
        s.timer_gen += 1
        s.deadline = None
        del self._sessions[s.key]
        self._by_state[s.state] -= 1
        s.vrobj.by_state[s.state] -= 1
        if s.state in SETUP_STATES:
            self._connecting -= 1
        s.target.sessions -= 1
        self._count(s, "sessions_removed")

    _ACTIONS: dict[Action, Callable] = {
        A.BUFFER: _a_buffer, A.DISCARD: _a_discard, A.FORWARD: _a_forward,
        A.AUTHORIZE: _a_authorize, A.START_CONNECTING_TIMER: _a_start_connecting_timer,
        A.SELECT_TUNNEL: _a_select_tunnel, A.TRY_NEXT: _a_try_next, A.START_PPP: _a_start_ppp,
        A.INSTALL_ROUTES: _a_install_routes, A.FORWARD_BUFFER: _a_forward_buffer,
        A.REMOVE_ROUTES: _a_remove_routes, A.TEAR_DOWN: _a_tear_down,
        A.RELEASE_CALL: _a_release_call, A.DROP_BUFFER: _a_drop_buffer,
        A.START_INHIBIT_TIMER: _a_start_inhibit_timer,
        A.START_DORMANT_TIMER: _a_start_dormant_timer,
        A.START_PENDING_TIMER: _a_start_pending_timer, A.CANCEL_TIMER: _a_cancel_timer,
        A.RESET_BACKOFF: _a_reset_backoff, A.ENQUEUE_PENDING: _a_enqueue_pending,
        A.DEQUEUE_PENDING: _a_dequeue_pending, A.COUNT_ESTABLISHED: _a_count_established,
        A.COUNT_TIMED_OUT: _a_count_timed_out, A.COUNT_REJECTED: _a_count_rejected,
        A.COUNT_RESET: _a_count_reset, A.DELETE: _a_delete,
    }

    # ------------------------------------------------------------------ queries / snapshots
    def session_state(self, vr: str, dst) -> SessionState | None:
        s = self._sessions.get(SessionKey(vr, ipaddress.IPv4Address(dst)))
        return None if s is None else s.state

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _by_state_tuple(c: Counter) -> tuple[tuple[str, int], ...]:
        return tuple((st.value, c.get(st, 0)) for st in SessionState)

    def _session_snapshot(self, s: _Session, now: float) -> SessionSnapshot:
        return SessionSnapshot(
            vr=s.key.vr, destination=s.key.dst, target=s.target.prefix, state=s.state,
            created_at=s.created_at, state_since=s.state_since,
            time_in_state=max(0.0, now - s.state_since),
            next_timer=None if s.deadline is None else max(0.0, s.deadline - now),
            user_name=s.user_name,
            tunnel_ref=None if s.tunnel is None else s.tunnel.ref,
            tunnel_endpoint=None if s.tdef is None else s.tdef.server_endpoint,
            tunnel_id=s.tunnel_id, session_id=s.session_id, call_id=s.call_id, ifname=s.ifname,
            access_routes=s.access_routes, peer_ip=s.peer_ip,
            triggers_buffered=len(s.buffer), triggers_forwarded=s.triggers_forwarded,
            inhibit_count=s.inhibit_count, failure_reason=s.failure_reason,
            counters=s.counters.snapshot())

    def session_snapshot(self, vr: str, dst, *, now: float) -> SessionSnapshot | None:
        s = self._sessions.get(SessionKey(vr, ipaddress.IPv4Address(dst)))
        return None if s is None else self._session_snapshot(s, now)

    def snapshot(self, *, now: float) -> DialoutSnapshot:
        c = self._cfg
        chassis = ChassisSnapshot(
            state=self.chassis_state, connect_timeout=c.connect_timeout,
            dormant_timeout=c.dormant_timeout, max_sessions=c.max_sessions,
            max_connecting=c.max_connecting, lockout_timeout=c.lockout_timeout,
            failover_within_preference=c.failover_within_preference,
            weighted_load_balancing=c.weighted_load_balancing,
            sessions=len(self._sessions), connecting=self._connecting,
            sessions_by_state=self._by_state_tuple(self._by_state),
            stale_inputs=self.stale_inputs, counters=self.counters.snapshot())
        vrs = tuple(VrSnapshot(
            name=v.name, state=v.state, route_distinguisher=v.config.route_distinguisher,
            max_buffered_triggers=v.config.max_buffered_triggers, targets=len(v.targets),
            sessions=sum(v.by_state.values()), sessions_by_state=self._by_state_tuple(v.by_state),
            counters=v.counters.snapshot()) for v in sorted(self._vrs.values(),
                                                            key=lambda v: v.name))
        targets = tuple(TargetSnapshot(
            vr=t.vr, prefix=t.prefix, domain=t.domain, profile=t.profile, state=t.state,
            sessions=t.sessions, counters=t.counters.snapshot())
            for v in sorted(self._vrs.values(), key=lambda v: v.name)
            for t in sorted(v.targets, key=lambda t: (int(t.prefix.network_address),
                                                      t.prefix.prefixlen)))
        sessions = tuple(self._session_snapshot(s, now) for s in sorted(
            self._sessions.values(), key=lambda s: (s.key.vr, int(s.key.dst))))
        dest_tunnels: Counter = Counter()
        dest_sessions: Counter = Counter()
        for tun in self._tunnels.values():
            dest_tunnels[tun.tdef.server_endpoint] += 1
            dest_sessions[tun.tdef.server_endpoint] += len(tun.sessions)
        destinations = self.destinations.snapshot(now=now, tunnels=dict(dest_tunnels),
                                                  sessions=dict(dest_sessions))
        tunnels = tuple(TunnelSnapshot(
            tunnel_ref=t.ref, vr=t.vr, server_endpoint=t.tdef.server_endpoint,
            assignment_id=t.tdef.assignment_id, state=t.state, tunnel_id=t.tunnel_id,
            sessions=len(t.sessions)) for t in sorted(self._tunnels.values(),
                                                      key=lambda t: t.ref))
        return DialoutSnapshot(chassis, vrs, targets, sessions, destinations, tunnels)
