"""The service's mutable per-level records: virtual router, tunnel, session."""
from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field

from engine.dialout.causes import TerminateCause
from engine.dialout.model import Grant, SessionKey, VrConfig, VrState
from engine.dialout.selection import TunnelDef
from engine.dialout.session import SessionState
from engine.dialout.targets import Counters, Target, TargetTable
from engine.sortedkeys import SortedKeys

IPv4 = ipaddress.IPv4Address


@dataclass(slots=True, eq=False)
class VrEntry:
    name: str
    config: VrConfig
    state: VrState = VrState.INIT_PENDING
    targets: TargetTable = field(default_factory=TargetTable)
    counters: Counters = field(default_factory=Counters)
    by_state: Counter[SessionState] = field(default_factory=Counter)
    buffered: int = 0                      # trigger packets held by all its sessions
    reason: str = ""                       # why the VR is not inService, as reported
    order: SortedKeys = field(default_factory=SortedKeys)   # its sessions' trigger addresses


@dataclass(slots=True, eq=False)
class TunnelEntry:
    ref: int
    vr: str
    tdef: TunnelDef
    state: str = "connecting"                # connecting, established, down
    tunnel_id: int | None = None
    sessions: set[SessionKey] = field(default_factory=set)
    down_reason: str = ""                    # why it went down (its sessions' reason)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.vr, self.tdef.server_endpoint, self.tdef.assignment_id)


@dataclass(slots=True, eq=False)
class SessionEntry:
    key: SessionKey
    vrobj: VrEntry
    target: Target
    created_at: float
    state: SessionState = SessionState.DORMANT
    state_since: float = 0.0
    user_name: str = ""
    user_name_rd: str | None = None         # the route distinguisher user_name was made with
    buffer: tuple[bytes, ...] = ()        # held triggers (empty: shared, no list per session)
    triggers_forwarded: int = 0
    counters: Counters = field(default_factory=Counters)
    inhibit_count: int = 0
    deadline: float | None = None
    timer_gen: int = 0
    auth_request_id: int | None = None
    grant: Grant | None = None
    candidates: list[TunnelDef] = field(default_factory=list)
    cand_index: int = 0
    tunnel: TunnelEntry | None = None
    tdef: TunnelDef | None = None
    call_id: int | None = None
    call_established: bool = False
    call_established_before: bool = False   # value at the last _detach
    tunnel_id: int | None = None
    session_id: int | None = None
    ifname: str | None = None
    ifnum: int | None = None
    access_routes: tuple[ipaddress.IPv4Network, ...] = ()
    routes_installed: bool = False
    in_service_since: float | None = None
    peer_ip: IPv4 | None = None
    local_ip: IPv4 | None = None
    in_pending: bool = False
    failure_reason: str = ""
    end_cause: TerminateCause = TerminateCause.NAS_REQUEST
