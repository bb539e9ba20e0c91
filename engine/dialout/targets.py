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
from dataclasses import dataclass, field, fields, make_dataclass

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


def _counters_snapshot(self) -> CounterSnapshot:
    return CounterSnapshot(*(getattr(self, n) for n in COUNTER_NAMES))


# The mutable counters of one level: the same fields as CounterSnapshot, made from its names.
Counters = make_dataclass(
    "Counters", [(n, int, 0) for n in COUNTER_NAMES], slots=True,
    namespace={"snapshot": _counters_snapshot,
               "__doc__": "Mutable counters (the vendor MIB's dial-out counters) of one level."})


@dataclass(slots=True)
class Target:
    vr: str
    config: TargetConfig
    state: TargetState = TargetState.IN_SERVICE
    counters: Counters = field(default_factory=Counters)
    sessions: int = 0            # sessions currently in the table for this target

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

    def __iter__(self):
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
