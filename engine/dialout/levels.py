"""The chassis, virtual-router and target levels: configuration reconciliation, level states
and the snapshots behind ``show l2tp dial-out``."""
from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator

from engine.dialout.actions import SessionActions
from engine.dialout.model import (
    AddrLike,
    ChassisConfig,
    ChassisState,
    ConfigError,
    DialoutConfig,
    InstallRoutes,
    NetLike,
    RemoveRoutes,
    SessionKey,
    VrState,
    validate_config,
)
from engine.dialout.records import SessionEntry, VrEntry
from engine.dialout.selection import DestinationSnapshot
from engine.dialout.session import SessionEvent, SessionState
from engine.dialout.snapshots import (
    ChassisSnapshot,
    DialoutSnapshot,
    SessionSnapshot,
    TargetSnapshot,
    TunnelSnapshot,
    VrSnapshot,
)
from engine.dialout.targets import Target, TargetState

E = SessionEvent


class Levels(SessionActions):
    """Configuration and state of the chassis, VR and target levels; snapshots."""

    # ------------------------------------------------------------------ configuration
    @property
    def chassis_config(self) -> ChassisConfig:
        return self._cfg

    def set_chassis_state(self, state: ChassisState | str, reason: str = "", *,
                          now: float = 0.0) -> None:
        """The integration reports the chassis resources: ``restricted`` when they are lost
        (``reason`` says which), ``inService`` when they are back.  A full session table
        (max-sessions) restricts the chassis by itself, whatever is reported here."""
        state = ChassisState(state)
        if state is ChassisState.RESTRICTED:
            self._restricted_by = reason or "system resources exhausted"
        else:
            self._restricted_by = ""
            if state is ChassisState.INIT_INCOMPLETE:
                self.chassis_state = state
                return
            if self.chassis_state is ChassisState.INIT_INCOMPLETE:
                self.chassis_state = ChassisState.IN_SERVICE
        self._update_chassis(now)

    def check_config(self, config: DialoutConfig) -> None:
        """Raise ConfigError if ``apply_config(config)`` would be refused: out of range, or
        a dial-out setting (chassis settings, a VR's targets or trigger buffer) changed while
        the service is restricted.  VRs coming and going, their route distinguisher and
        profiles are not dial-out settings and are taken."""
        validate_config(config)
        refusal = self.config_refusal()
        if refusal is not None and self._dialout_settings_change(config):
            raise ConfigError(refusal)

    def config_refusal(self) -> str | None:
        """Why dial-out settings cannot be changed now (dialout.md §7 restricted), or None."""
        if self.chassis_state is not ChassisState.RESTRICTED:
            return None
        return (f"Dial-out service is restricted ({self.chassis_reason}): "
                "dial-out configuration refused")

    def _dialout_settings_change(self, config: DialoutConfig) -> bool:
        old = self._applied
        if old is None:
            return True
        if config.chassis != old.chassis:
            return True
        before = {v.name: (v.targets, v.max_buffered_triggers) for v in old.vrs}
        for v in config.vrs:
            was = before.get(v.name)
            if was is None:
                if v.targets:
                    return True
            elif was != (v.targets, v.max_buffered_triggers):
                return True
        return False

    def apply_config(self, config: DialoutConfig, *, now: float) -> None:
        """Reconcile chassis settings, VRs and their targets with ``config``.  While the
        chassis is restricted only a configuration whose dial-out settings are unchanged is
        taken (e.g. new profile names); any other raises ConfigError and changes nothing."""
        self.check_config(config)
        self._applied = config
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
                v = self._vrs[name] = VrEntry(name, vcfg)
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
                                    f"{tcfg.profile} created", now)
            self._refresh_targets(v, now)
        self._update_chassis(now)
        self._drain_pending(now)

    def _refresh_targets(self, v: VrEntry, now: float) -> None:
        for t in v.targets:
            self._refresh_target(v, t, now)

    def _refresh_target(self, v: VrEntry, t: Target, now: float) -> None:
        """A target is down while its VR is not inService or its profile does not exist;
        otherwise in the state last reported for its resources (inService or inhibited)."""
        if v.state is not VrState.IN_SERVICE:
            state, reason = TargetState.DOWN, f"virtual router {v.state}" + (
                f": {v.reason}" if v.reason else "")
        elif v.config.profiles is not None and t.profile not in v.config.profiles:
            state, reason = TargetState.DOWN, f'profile "{t.profile}" does not exist'
        elif t.assigned is TargetState.INHIBITED:
            state, reason = TargetState.INHIBITED, t.assigned_reason
        else:
            state, reason = t.assigned, ""
        if (state, reason) != (t.state, t.reason):
            t.state, t.reason = state, reason
            if self.tracing:
                self._trace(v.name, None, f"target {t.prefix}: {state}"
                            + (f" ({reason})" if reason else ""), now)

    def _remove_target(self, v: VrEntry, t: Target, *, now: float) -> None:
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

    def set_vr_state(self, vr: str, state: VrState | str, reason: str = "", *,
                     now: float) -> None:
        """The integration reports the VR's dial-out context: initPending while it is being
        created, initFailed when it could not be (``reason``), down when dial-out cannot work
        in it (e.g. no AAA), inService.  Its targets follow (down unless inService)."""
        v = self._vrs[vr]
        new = VrState(state)
        reason = "" if new is VrState.IN_SERVICE else reason
        if new is not v.state or reason != v.reason:
            v.state, v.reason = new, reason
            if self.tracing:
                self._trace(vr, None, f"virtual router {vr}: dial-out {v.state}"
                            + (f" ({reason})" if reason else ""), now)
        self._refresh_targets(v, now)

    def set_target_state(self, vr: str, prefix: NetLike, state: TargetState | str,
                         reason: str = "", *, now: float) -> None:
        """The integration reports a target's resources: ``inhibited`` (cannot handle
        triggers, ``reason`` says why) or ``inService``; ``down`` follows from the VR and
        profile and is not set here."""
        t = self._vrs[vr].targets.get(ipaddress.IPv4Network(prefix))
        if t is None:
            raise KeyError(f"no dial-out target {prefix} in {vr}")
        t.assigned = TargetState(state)
        t.assigned_reason = (reason or "no resources for triggers"
                             if t.assigned is TargetState.INHIBITED else "")
        self._refresh_target(self._vrs[vr], t, now)



    # ------------------------------------------------------------------ queries / snapshots
    def session_state(self, vr: str, dst: AddrLike) -> SessionState | None:
        s = self._sessions.get(SessionKey(vr, ipaddress.IPv4Address(dst)))
        return None if s is None else s.state

    def __len__(self) -> int:
        return len(self._sessions)

    @staticmethod
    def _by_state_tuple(c: Counter[SessionState]) -> tuple[tuple[str, int], ...]:
        return tuple((st.value, c.get(st, 0)) for st in SessionState)

    def _session_snapshot(self, s: SessionEntry, now: float) -> SessionSnapshot:
        return SessionSnapshot(
            vr=s.key.vr, destination=s.key.dst, target=s.target.prefix, state=s.state,
            created_at=s.created_at, state_since=s.state_since,
            time_in_state=max(0.0, now - s.state_since),
            next_timer=None if s.deadline is None else max(0.0, s.deadline - now),
            user_name=s.user_name,
            tunnel_ref=None if s.tunnel is None else s.tunnel.ref,
            tunnel_endpoint=(None if s.tdef is None or s.tunnel is None
                             else s.tdef.server_endpoint),
            tunnel_id=s.tunnel_id, session_id=s.session_id, call_id=s.call_id, ifname=s.ifname,
            access_routes=s.access_routes if s.routes_installed else (), peer_ip=s.peer_ip,
            triggers_buffered=len(s.buffer), triggers_forwarded=s.triggers_forwarded,
            inhibit_count=s.inhibit_count, failure_reason=s.failure_reason,
            counters=s.counters.snapshot(),
            up_time=None if s.in_service_since is None else max(0.0, now - s.in_service_since))

    def session_snapshot(self, vr: str, dst: AddrLike, *, now: float) -> SessionSnapshot | None:
        s = self._sessions.get(SessionKey(vr, ipaddress.IPv4Address(dst)))
        return None if s is None else self._session_snapshot(s, now)

    def sessions_to(self, dst: AddrLike, *, now: float) -> list[SessionSnapshot]:
        """The sessions of every VR triggered by ``dst``: one look-up per VR."""
        addr = ipaddress.IPv4Address(dst)
        out = []
        for name in sorted(self._vrs):
            s = self._sessions.get(SessionKey(name, addr))
            if s is not None:
                out.append(self._session_snapshot(s, now))
        return out

    def iter_session_keys(self, vr: str | None = None,
                          after: SessionKey | None = None) -> Iterator[SessionKey]:
        """Session keys in (VR name, trigger address) order, lazily, from the VR index (no
        sort, no copy of the table); keys created or deleted meanwhile are seen or skipped.
        Resume a stream with the last key seen as ``after``."""
        names = sorted(self._vrs) if vr is None else [vr]
        for name in names:
            if after is not None and name < after.vr:
                continue
            v = self._vrs.get(name)
            if v is None:
                continue
            start = int(after.dst) if after is not None and name == after.vr else None
            for k in v.order.iter_from(start, inclusive=start is None):
                yield SessionKey(name, ipaddress.IPv4Address(k))

    def iter_sessions(self, vr: str | None = None, state: str | None = None, *, now: float,
                      after: SessionKey | None = None) -> Iterator[SessionSnapshot]:
        """Snapshots of one session at a time, in ``iter_session_keys`` order."""
        get = self._sessions.get
        for key in self.iter_session_keys(vr, after):
            s = get(key)
            if s is not None and (state is None or s.state.value == state):
                yield self._session_snapshot(s, now)

    def iter_session_states(self, vr: str | None = None, state: str | None = None
                            ) -> Iterator[tuple[str, ipaddress.IPv4Address, str]]:
        """(VR, trigger address, state) of each session in ``iter_session_keys`` order: the
        one-line form, without building snapshots."""
        get = self._sessions.get
        for key in self.iter_session_keys(vr):
            s = get(key)
            if s is not None and (state is None or s.state.value == state):
                yield key.vr, key.dst, s.state.value

    def chassis_snapshot(self) -> ChassisSnapshot:
        c = self._cfg
        return ChassisSnapshot(
            state=self.chassis_state, connect_timeout=c.connect_timeout,
            dormant_timeout=c.dormant_timeout, max_sessions=c.max_sessions,
            max_connecting=c.max_connecting, lockout_timeout=c.lockout_timeout,
            failover_within_preference=c.failover_within_preference,
            weighted_load_balancing=c.weighted_load_balancing,
            sessions=len(self._sessions), connecting=self._connecting,
            sessions_by_state=self._by_state_tuple(self._by_state),
            stale_inputs=self.stale_inputs, counters=self.counters.snapshot(),
            reason=self.chassis_reason)

    def vr_snapshots(self) -> tuple[VrSnapshot, ...]:
        return tuple(VrSnapshot(
            name=v.name, state=v.state, route_distinguisher=v.config.route_distinguisher,
            max_buffered_triggers=v.config.max_buffered_triggers, targets=len(v.targets),
            sessions=sum(v.by_state.values()), sessions_by_state=self._by_state_tuple(v.by_state),
            counters=v.counters.snapshot(), triggers_buffered=v.buffered, reason=v.reason)
            for v in sorted(self._vrs.values(), key=lambda v: v.name))

    def target_snapshots(self) -> tuple[TargetSnapshot, ...]:
        return tuple(TargetSnapshot(
            vr=t.vr, prefix=t.prefix, domain=t.domain, profile=t.profile, state=t.state,
            sessions=t.sessions, counters=t.counters.snapshot(), reason=t.reason)
            for v in sorted(self._vrs.values(), key=lambda v: v.name)
            for t in sorted(v.targets, key=lambda t: (int(t.prefix.network_address),
                                                      t.prefix.prefixlen)))

    def destination_snapshots(self, *, now: float) -> tuple[DestinationSnapshot, ...]:
        """Per LAC; the session counts come from the tunnels (never from the sessions)."""
        dest_tunnels: Counter[str] = Counter()
        dest_sessions: Counter[str] = Counter()
        for tun in self._tunnels.values():
            dest_tunnels[tun.tdef.server_endpoint] += 1
            dest_sessions[tun.tdef.server_endpoint] += len(tun.sessions)
        return tuple(self.destinations.snapshot(now=now, tunnels=dict(dest_tunnels),
                                                sessions=dict(dest_sessions)))

    def tunnel_snapshots(self) -> tuple[TunnelSnapshot, ...]:
        return tuple(TunnelSnapshot(
            tunnel_ref=t.ref, vr=t.vr, server_endpoint=t.tdef.server_endpoint,
            assignment_id=t.tdef.assignment_id, state=t.state, tunnel_id=t.tunnel_id,
            sessions=len(t.sessions)) for t in sorted(self._tunnels.values(),
                                                      key=lambda t: t.ref))

    def snapshot(self, *, now: float) -> DialoutSnapshot:
        """Everything at once (tests and tools; the show commands read per object)."""
        return DialoutSnapshot(self.chassis_snapshot(), self.vr_snapshots(),
                               self.target_snapshots(), tuple(self.iter_sessions(now=now)),
                               self.destination_snapshots(now=now), self.tunnel_snapshots())
