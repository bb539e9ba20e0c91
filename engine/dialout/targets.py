"""Dial-out targets (dialout.md §1, §7 Table 73) and the counters kept at every level.

A target is one ``l2tp dial-out target A.B.C.D MASK domain D profile P`` of a virtual router:
the dial-out route.  Its parameters are fixed at creation (a change is ``no`` + re-create), so
``Target`` keeps the ``TargetConfig`` it was built from and only its state and counters change.

Target states: ``down`` (not enough resources to create the dial-out route), ``inhibited``
(cannot get resources to handle triggers: triggers are discarded, it can return to inService)
and ``inService``.  A target's state change does not affect its sessions already connecting or
inService.
"""
from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

from engine.types import Route


class TargetState(str, enum.Enum):
    DOWN = "down"
    INHIBITED = "inhibited"
    IN_SERVICE = "inService"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One dial-out route of a VR; fixed at creation."""
    prefix: ipaddress.IPv4Network
    domain: str
    profile: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", ipaddress.IPv4Network(self.prefix))


@dataclass(frozen=True, slots=True)
class CounterSnapshot:
    sessions_created: int = 0
    sessions_removed: int = 0
    sessions_reset: int = 0
    triggers_received: int = 0
    triggers_enqueued: int = 0
    triggers_discarded: int = 0
    triggers_forwarded: int = 0
    auth_requests: int = 0
    auth_grants: int = 0
    auth_denies: int = 0
    dialouts_requested: int = 0
    dialouts_rejected: int = 0
    dialouts_established: int = 0
    dialouts_timed_out: int = 0
    dialouts_torn_down: int = 0


COUNTER_NAMES = tuple(f.name for f in fields(CounterSnapshot))


class Counter(enum.IntEnum):
    """The dial-out counters, in the order of ``CounterSnapshot``'s fields."""
    SESSIONS_CREATED = 0
    SESSIONS_REMOVED = enum.auto()
    SESSIONS_RESET = enum.auto()
    TRIGGERS_RECEIVED = enum.auto()
    TRIGGERS_ENQUEUED = enum.auto()
    TRIGGERS_DISCARDED = enum.auto()
    TRIGGERS_FORWARDED = enum.auto()
    AUTH_REQUESTS = enum.auto()
    AUTH_GRANTS = enum.auto()
    AUTH_DENIES = enum.auto()
    DIALOUTS_REQUESTED = enum.auto()
    DIALOUTS_REJECTED = enum.auto()
    DIALOUTS_ESTABLISHED = enum.auto()
    DIALOUTS_TIMED_OUT = enum.auto()
    DIALOUTS_TORN_DOWN = enum.auto()


assert tuple(c.name.lower() for c in Counter) == COUNTER_NAMES


class Counters:
    """Mutable counters (the vendor MIB's dial-out counters) of one level."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = [0] * len(COUNTER_NAMES)

    def add(self, counter: Counter, n: int = 1) -> None:
        self.values[counter] += n

    def __getitem__(self, counter: Counter) -> int:
        return self.values[counter]

    def snapshot(self) -> CounterSnapshot:
        return CounterSnapshot(*self.values)


@dataclass(slots=True)
class Target:
    vr: str
    config: TargetConfig
    state: TargetState = TargetState.IN_SERVICE
    counters: Counters = field(default_factory=Counters)
    sessions: int = 0            # sessions currently in the table for this target
    assigned: TargetState = TargetState.IN_SERVICE   # set_target_state (resources)
    assigned_reason: str = ""
    reason: str = ""             # why the target is not inService

    @property
    def prefix(self) -> ipaddress.IPv4Network:
        return self.config.prefix

    @property
    def domain(self) -> str:
        return self.config.domain

    @property
    def profile(self) -> str:
        return self.config.profile

    def route(self) -> Route:
        """The dial-out route this target installs in its VR's RIB."""
        return Route(self.config.prefix, "dial-out")


class TargetTable:
    """The targets of one VR; ``match(dst)`` is longest-prefix over the target prefixes."""

    __slots__ = ("_targets",)

    def __init__(self) -> None:
        self._targets: dict[ipaddress.IPv4Network, Target] = {}

    def __len__(self) -> int:
        return len(self._targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self._targets.values())

    def get(self, prefix: ipaddress.IPv4Network) -> Target | None:
        return self._targets.get(prefix)

    def add(self, target: Target) -> None:
        self._targets[target.prefix] = target

    def remove(self, prefix: ipaddress.IPv4Network) -> Target | None:
        return self._targets.pop(prefix, None)

    def match(self, dst: ipaddress.IPv4Address) -> Target | None:
        best: Target | None = None
        for t in self._targets.values():
            if dst in t.prefix and (best is None or t.prefix.prefixlen > best.prefix.prefixlen):
                best = t
        return best
