"""The chassis, virtual-router and target levels: configuration reconciliation, level states
and the snapshots behind ``show l2tp dial-out``."""
from __future__ import annotations

import ipaddress
from collections import Counter

from engine.dialout.actions import SessionActions
from engine.dialout.model import (AddrLike, ChassisConfig, ChassisState, ConfigError,
                                  DialoutConfig, InstallRoutes, NetLike, RemoveRoutes, SessionKey,
                                  VrState, validate_config)
from engine.dialout.records import SessionEntry, VrEntry
from engine.dialout.session import SessionEvent, SessionState
from engine.dialout.snapshots import (ChassisSnapshot, DialoutSnapshot, SessionSnapshot,
                                      TargetSnapshot, TunnelSnapshot, VrSnapshot)
from engine.dialout.targets import Target, TargetState

E = SessionEvent


class Levels(SessionActions):
    """Configuration and state of the chassis, VR and target levels; snapshots."""

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
                                    f"{tcfg.profile}: {t.state}", now)
        self._drain_pending(now)

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

    def set_vr_state(self, vr: str, state: VrState | str, *, now: float) -> None:
        v = self._vrs[vr]
        v.state = VrState(state)
        if self.tracing:
            self._trace(vr, None, f"virtual router {vr}: dial-out {v.state}", now)

    def set_target_state(self, vr: str, prefix: NetLike, state: TargetState | str, *,
                         now: float) -> None:
        t = self._vrs[vr].targets.get(ipaddress.IPv4Network(prefix))
        if t is None:
            raise KeyError(f"no dial-out target {prefix} in {vr}")
        t.state = TargetState(state)
        if self.tracing:
            self._trace(vr, None, f"target {t.prefix}: {t.state}", now)



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
            tunnel_endpoint=None if s.tdef is None else s.tdef.server_endpoint,
            tunnel_id=s.tunnel_id, session_id=s.session_id, call_id=s.call_id, ifname=s.ifname,
            access_routes=s.access_routes, peer_ip=s.peer_ip,
            triggers_buffered=len(s.buffer), triggers_forwarded=s.triggers_forwarded,
            inhibit_count=s.inhibit_count, failure_reason=s.failure_reason,
            counters=s.counters.snapshot())

    def session_snapshot(self, vr: str, dst: AddrLike, *, now: float) -> SessionSnapshot | None:
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
            counters=v.counters.snapshot(), triggers_buffered=v.buffered)
            for v in sorted(self._vrs.values(),
                                                            key=lambda v: v.name))
        targets = tuple(TargetSnapshot(
            vr=t.vr, prefix=t.prefix, domain=t.domain, profile=t.profile, state=t.state,
            sessions=t.sessions, counters=t.counters.snapshot())
            for v in sorted(self._vrs.values(), key=lambda v: v.name)
            for t in sorted(v.targets, key=lambda t: (int(t.prefix.network_address),
                                                      t.prefix.prefixlen)))
        sessions = tuple(self._session_snapshot(s, now) for s in sorted(
            self._sessions.values(), key=lambda s: (s.key.vr, int(s.key.dst))))
        dest_tunnels: Counter[str] = Counter()
        dest_sessions: Counter[str] = Counter()
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
