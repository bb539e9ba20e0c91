"""Read-only views of the dial-out levels (``show l2tp dial-out ...``)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from engine.dialout.model import ChassisState, VrState
from engine.dialout.selection import DestinationSnapshot
from engine.dialout.session import SessionState
from engine.dialout.targets import CounterSnapshot, TargetState


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
    reason: str = ""                        # why the chassis is not inService


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
    triggers_buffered: int = 0              # held by all the VR's sessions together
    reason: str = ""                        # why the VR is not inService


@dataclass(frozen=True, slots=True)
class TargetSnapshot:
    vr: str
    prefix: ipaddress.IPv4Network
    domain: str
    profile: str
    state: TargetState
    sessions: int
    counters: CounterSnapshot
    reason: str = ""                        # why the target is not inService


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
    up_time: float | None = None            # seconds since inService; None when not inService


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
