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

Layout: ``model`` (configuration, AAA results, requests), ``snapshots``, ``records`` (the mutable
VR/tunnel/session entries), ``core`` (tables, counting, the state-machine driver), ``tunnels``
(candidate walk and shared tunnels), ``actions`` (one method per ``session.Action``),
``levels`` (chassis/VR/target configuration and snapshots) and this module (the inputs).
"""
from __future__ import annotations

import heapq
import ipaddress
import logging
from collections.abc import Callable, Iterable

from engine.dialout.causes import TerminateCause
from engine.dialout.levels import Levels
from engine.dialout.model import (
    AddrLike,
    AuthorizeRequest,
    AuthResult,
    CallParams,
    ChassisConfig,
    ChassisState,
    CloseTunnel,
    ConfigError,
    Denial,
    DialoutConfig,
    DialoutTrace,
    ForwardPackets,
    Grant,
    InstallRoutes,
    NetLike,
    OpenTunnel,
    PlaceCall,
    RemoveRoutes,
    Request,
    SessionKey,
    StartPpp,
    TearDown,
    VrConfig,
    VrState,
    access_routes_from,
    validate_config,
)
from engine.dialout.records import SessionEntry
from engine.dialout.session import RESETTABLE_STATES, SessionEvent, SessionState
from engine.dialout.snapshots import (
    ChassisSnapshot,
    DialoutSnapshot,
    SessionSnapshot,
    TargetSnapshot,
    TunnelSnapshot,
    VrSnapshot,
)
from engine.dialout.targets import Counter as C
from engine.dialout.targets import TargetState
from engine.types import as_address

__all__ = [
    "AuthResult", "AuthorizeRequest", "CallParams", "ChassisConfig", "ChassisSnapshot",
    "ChassisState", "CloseTunnel", "ConfigError", "Denial", "DialoutConfig", "DialoutService",
    "DialoutSnapshot", "DialoutTrace", "ForwardPackets", "Grant", "InstallRoutes", "OpenTunnel",
    "PlaceCall", "RemoveRoutes", "Request", "SessionKey", "SessionSnapshot", "StartPpp",
    "TargetSnapshot", "TearDown", "TunnelSnapshot", "VrConfig", "VrSnapshot", "VrState",
    "access_routes_from", "validate_config",
]

log = logging.getLogger(__name__)

S, E = SessionState, SessionEvent


class DialoutService(Levels):
    """Sans-IO dial-out control core; see the module docstring for the request flow."""

    def __init__(self, config: DialoutConfig | None = None, *, now: float = 0.0,
                 trace: Callable[[DialoutTrace], None] | None = None,
                 keep_events: bool = True,
                 max_trace_events: int = 65536, ifname_prefix: str = "ppp") -> None:
        super().__init__(trace=trace, keep_events=keep_events,
                         max_trace_events=max_trace_events, ifname_prefix=ifname_prefix)
        if config is not None:
            self.apply_config(config, now=now)

    # ------------------------------------------------------------------ timers
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
        for x in self.deadlines.expire(now=now):
            s = self._sessions.get(x.key)
            if s is not None and s.state is S.IN_SERVICE and s.call_id == x.token:
                s.failure_reason = x.reason
                s.end_cause = x.cause
                self._fire(s, E.DEADLINE, now=now)
        self._drain_pending(now)

    # ------------------------------------------------------------------ inputs
    def on_trigger(self, vr: str, dst: AddrLike, packet: bytes = b"", *, now: float) -> None:
        """A packet routed by a dial-out route in ``vr`` (dst = its destination address)."""
        try:
            dst = ipaddress.IPv4Address(dst)
        except ValueError:
            self._count_levels(C.TRIGGERS_RECEIVED, self.counters)
            self._count_levels(C.TRIGGERS_DISCARDED, self.counters)
            log.debug("trigger with invalid destination %r discarded", dst)
            return
        key = SessionKey(vr, dst)
        s = self._sessions.get(key)
        if s is not None:
            self._count(s, C.TRIGGERS_RECEIVED)
            # A full session table (restricted by max-sessions) does not stop an existing
            # session from dialling again; lost resources do.
            target_ok = (s.target.state is TargetState.IN_SERVICE
                         and not self._restricted_by
                         and s.vrobj.state is VrState.IN_SERVICE)
            if not target_ok and s.state not in (S.AUTHENTICATING, S.CONNECTING, S.IN_SERVICE):
                self._count(s, C.TRIGGERS_DISCARDED)
                return
            self._fire(s, self._trigger_event(), now=now, packet=packet)
            self._drain_pending(now)
            return
        v = self._vrs.get(vr)
        levels = [self.counters] + ([v.counters] if v is not None else [])
        self._count_levels(C.TRIGGERS_RECEIVED, *levels)
        reason = None
        target = None
        if self.chassis_state is not ChassisState.IN_SERVICE:
            reason = f"chassis {self.chassis_state}" + (
                f" ({self.chassis_reason})" if self.chassis_reason else "")
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
                self._count_levels(C.TRIGGERS_RECEIVED, target.counters)
                if target.state is not TargetState.IN_SERVICE:
                    reason = f"target {target.state}" + (
                        f" ({target.reason})" if target.reason else "")
                elif len(self._sessions) >= self._cfg.max_sessions:
                    reason = "max-sessions reached"
        if reason is not None:
            self._count_levels(C.TRIGGERS_DISCARDED, *levels)
            if self.tracing:
                self._trace(vr, dst, f"trigger to {dst} discarded: {reason}", now)
            return
        assert v is not None and target is not None
        s = SessionEntry(key, v, target, created_at=now, state_since=now)
        s.counters.add(C.TRIGGERS_RECEIVED)
        s.user_name = self._user_name(s)
        self._sessions[key] = s
        v.order.add(int(dst))
        self._by_state[S.DORMANT] += 1
        v.by_state[S.DORMANT] += 1
        target.sessions += 1
        self._count(s, C.SESSIONS_CREATED)
        self._update_chassis(now)
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
                self._count(s, C.AUTH_GRANTS)
                s.grant = result
                if self.tracing:
                    self._trace(s.key.vr, s.key.dst, f"session {s.key}: access granted, "
                                f"{len(result.tunnels)} tunnel(s)", now)
                self._fire(s, E.AUTH_GRANT, now=now)
                self._drain_pending(now)
                return
            result = Denial(problem)
        self._count(s, C.AUTH_DENIES)
        s.failure_reason = f"denied: {result.reason}"
        self._fire(s, E.AUTH_DENY, now=now)
        self._drain_pending(now)

    def session_for_auth_request(self, request_id: int) -> SessionKey | None:
        return self._auth_ids.get(request_id)

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
                self._trace(s.key.vr, s.key.dst, f"session {s.key}: call {call_id} established",
                            now)
            self._fire(s, E.CALL_UP, now=now)
        else:
            self._setup_failed(s, reason or "call refused", now=now)
        self._drain_pending(now)

    def _setup_failed(self, s: SessionEntry, reason: str, *, now: float) -> None:
        tdef = s.tdef
        s.failure_reason = reason
        if tdef is not None:
            self.destinations.lock_out(tdef.server_endpoint, reason, now=now)
        self._detach(s, close_tunnel=True)
        self._fire(s, E.SETUP_FAILED, now=now)

    def on_ppp_up(self, session_key: SessionKey, access_routes: Iterable[NetLike] = (),
                  peer_ip: AddrLike | None = None, *, now: float,
                  local_ip: AddrLike | None = None, call_id: int | None = None,
                  idle_timeout: float = 0.0, session_timeout: float = 0.0) -> None:
        """PPP authenticated both ways and IPCP opened; ``access_routes`` from the second
        Access-Accept (see ``access_routes_from``); empty means the peer address /32.
        ``call_id`` (recommended) guards against a result for an earlier call.
        ``idle_timeout`` / ``session_timeout`` (seconds, 0 = none) end the session once in
        service (see ``deadlines``; traffic is reported with ``deadlines.activity``)."""
        s = self._sessions.get(session_key)
        if (s is None or s.state is not S.CONNECTING or not s.call_established
                or (call_id is not None and call_id != s.call_id)):
            self.stale_inputs += 1
            return
        nets = tuple(n if type(n) is ipaddress.IPv4Network
                     else ipaddress.IPv4Network(n, strict=False) for n in access_routes)
        s.peer_ip = None if peer_ip is None else as_address(peer_ip)
        s.local_ip = None if local_ip is None else as_address(local_ip)
        if not nets and s.peer_ip is not None:
            nets = (ipaddress.IPv4Network(int(s.peer_ip)),)
        s.access_routes = nets
        if any(s.key.dst in n for n in nets):
            self._fire(s, E.PPP_UP_ROUTED, now=now)
            if s.call_id is not None:
                self.deadlines.start(s.key, s.call_id, now=now, idle=idle_timeout,
                                     session_timeout=session_timeout)
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
            self._count(s, C.DIALOUTS_TORN_DOWN)
            self._fire(s, E.CALL_DOWN, now=now)
        elif not s.call_established:
            self._setup_failed(s, reason, now=now)              # CDN on set-up
        else:
            s.failure_reason = reason                            # e.g. PPP authentication
            self._fire(s, E.CALL_FAILED, now=now)
        self._drain_pending(now)

    def select(self, vr: str | None, dst: AddrLike | None) -> list[SessionKey]:
        """The sessions a clear/reset names: one VR and/or one trigger address; neither = all.
        An address is looked up in each VR (never by scanning the sessions)."""
        if dst is not None:
            dst = ipaddress.IPv4Address(dst)
            names = [vr] if vr is not None else sorted(self._vrs)
            return [k for k in (SessionKey(n, dst) for n in names) if k in self._sessions]
        if vr is not None:
            v = self._vrs.get(vr)
            return [] if v is None else list(self.iter_session_keys(vr))
        return list(self._sessions)

    def clear_keys(self, keys: Iterable[SessionKey], *, now: float) -> int:
        """Tear down and delete the sessions of ``keys`` still present; returns how many."""
        n = 0
        for key in keys:
            s = self._sessions.get(key)
            if s is None:
                continue
            s.failure_reason = "cleared"
            s.end_cause = TerminateCause.ADMIN_RESET
            self._fire(s, E.CLEAR, now=now)
            n += 1
        self._drain_pending(now)
        return n

    def clear(self, vr: str | None = None, dst: AddrLike | None = None, *, now: float) -> int:
        """``clear l2tp dial-out session``: tear down and delete; returns the number deleted."""
        return self.clear_keys(self.select(vr, dst), now=now)

    def reset(self, vr: str | None = None, dst: AddrLike | None = None, *, now: float) -> int:
        """``l2tp dial-out session reset``: failed/inhibited/postInhibited -> dormant."""
        n = 0
        for key in self.select(vr, dst):
            s = self._sessions.get(key)
            if s is not None and s.state in RESETTABLE_STATES:
                self._fire(s, E.RESET, now=now)
                n += 1
        self._drain_pending(now)
        return n
