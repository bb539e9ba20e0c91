"""Tunnel selection over a grant's tunnel definitions (dialout.md §4).

Rules (the E-series LAC mechanism for incoming calls, applied to the outgoing call):

* the tunnel definitions are grouped by Tunnel-Preference; the lowest value is tried first;
* within a level: round robin by default (a rotating start position per set of tunnels); with
  ``weighted_load_balancing``, the tunnel with the highest maximum-sessions weight that still
  has room (sessions on that tunnel < max-sessions; a weight of 0 means no limit and the lowest
  weight), ties broken by the fewest sessions then the definition order;
* a destination (the LAC address, Tunnel-Server-Endpoint) that failed (no SCCRP, StopCCN, CDN
  on set-up) is locked out for the lockout timeout and skipped;
* by default one tunnel per level is a candidate and a failure moves to the next *level*; with
  ``failover_within_preference`` every tunnel of the level is a candidate before the next level;
* when every destination is locked out, the destination that failed first is retried (one
  candidate).

``candidates()`` returns the ordered attempt list for one session; the service walks it,
re-checking the lockout before each attempt (another session may have locked a destination out
meanwhile).  The ``DestinationTable`` is the data behind ``show l2tp destination``.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby


@dataclass(frozen=True, slots=True)
class TunnelDef:
    """One tunnel of a grant (RFC 2868 tagged attributes + ERX-Tunnel-Maximum-Sessions)."""
    server_endpoint: str                   # the LAC address (Tunnel-Server-Endpoint)
    preference: int = 0                    # Tunnel-Preference: lower is more preferred
    assignment_id: str = ""                # Tunnel-Assignment-Id: same endpoint + id = shared
    max_sessions: int = 0                  # weight for weighted load balancing; 0 = no limit
    password: bytes | None = field(default=None, repr=False)   # Tunnel-Password: tunnel secret
    client_endpoint: str | None = None     # Tunnel-Client-Endpoint: local address to use
    client_auth_id: str | None = None      # Host Name sent in SCCRQ
    server_auth_id: str | None = None      # Host Name expected from the LAC
    tag: int = 0

    @property
    def share_key(self) -> tuple[str, str]:
        return (self.server_endpoint, self.assignment_id)


class DestinationState(str, enum.Enum):
    AVAILABLE = "available"
    LOCKED_OUT = "lockedOut"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DestinationSnapshot:
    address: str
    state: DestinationState
    lockout_remaining: float               # seconds, 0 when available
    locked_at: float | None                # time of the failure that locked it out
    failures: int
    successes: int
    last_failure_reason: str
    tunnels: int                           # tunnels currently open to it
    sessions: int                          # sessions currently using it


@dataclass(slots=True)
class Destination:
    address: str
    locked_at: float | None = None
    locked_until: float = 0.0
    failures: int = 0
    successes: int = 0
    last_failure_reason: str = ""


class DestinationTable:
    def __init__(self, lockout_timeout: float = 300.0) -> None:
        self.lockout_timeout = lockout_timeout
        self._dests: dict[str, Destination] = {}

    def get(self, address: str) -> Destination:
        d = self._dests.get(address)
        if d is None:
            d = self._dests[address] = Destination(address)
        return d

    def is_locked(self, address: str, *, now: float) -> bool:
        d = self._dests.get(address)
        return d is not None and d.locked_at is not None and now < d.locked_until

    def lock_out(self, address: str, reason: str, *, now: float) -> None:
        d = self.get(address)
        d.failures += 1
        d.last_failure_reason = reason
        d.locked_at = now
        d.locked_until = now + self.lockout_timeout

    def success(self, address: str, *, now: float) -> None:
        d = self.get(address)
        d.successes += 1
        d.locked_at = None
        d.locked_until = 0.0

    def failed_first(self, addresses: Sequence[str]) -> str | None:
        """Among locked-out ``addresses``, the one whose lockout started earliest."""
        best: Destination | None = None
        for a in addresses:
            d = self._dests.get(a)
            if d is None or d.locked_at is None:
                continue
            if best is None or d.locked_at < best.locked_at:   # type: ignore[operator]
                best = d
        return None if best is None else best.address

    def snapshot(self, *, now: float, tunnels: dict[str, int] | None = None,
                 sessions: dict[str, int] | None = None) -> tuple[DestinationSnapshot, ...]:
        tunnels = tunnels or {}
        sessions = sessions or {}
        out = []
        for addr in sorted(set(self._dests) | set(tunnels)):
            d = self._dests.get(addr) or Destination(addr)
            locked = d.locked_at is not None and now < d.locked_until
            out.append(DestinationSnapshot(
                address=addr,
                state=DestinationState.LOCKED_OUT if locked else DestinationState.AVAILABLE,
                lockout_remaining=max(0.0, d.locked_until - now) if locked else 0.0,
                locked_at=d.locked_at, failures=d.failures, successes=d.successes,
                last_failure_reason=d.last_failure_reason,
                tunnels=tunnels.get(addr, 0), sessions=sessions.get(addr, 0)))
        return tuple(out)


class TunnelSelector:
    def __init__(self, destinations: DestinationTable, *, weighted_load_balancing: bool = False,
                 failover_within_preference: bool = False) -> None:
        self.destinations = destinations
        self.weighted_load_balancing = weighted_load_balancing
        self.failover_within_preference = failover_within_preference
        self._rr: dict[tuple[tuple[str, str], ...], int] = {}

    def _order_level(self, level: list[TunnelDef], sessions_of: Callable[[TunnelDef], int]
                     ) -> list[TunnelDef]:
        if self.weighted_load_balancing:
            indexed = [(i, t, sessions_of(t)) for i, t in enumerate(level)]
            room = [(i, t, n) for i, t, n in indexed if t.max_sessions == 0 or n < t.max_sessions]
            room.sort(key=lambda x: (-x[1].max_sessions if x[1].max_sessions else 1, x[2], x[0]))
            return [t for _i, t, _n in room]
        key = tuple(t.share_key for t in level)
        start = self._rr.get(key, 0) % len(level)
        self._rr[key] = start + 1
        return level[start:] + level[:start]

    def candidates(self, tunnels: Sequence[TunnelDef], *, now: float,
                   sessions_of: Callable[[TunnelDef], int] = lambda t: 0) -> list[TunnelDef]:
        """The ordered list of tunnels to attempt for one session."""
        ordered = sorted(tunnels, key=lambda t: t.preference)       # stable within a level
        out: list[TunnelDef] = []
        for _pref, grp in groupby(ordered, key=lambda t: t.preference):
            level = list(grp)
            usable = [t for t in self._order_level(level, sessions_of)
                      if not self.destinations.is_locked(t.server_endpoint, now=now)]
            if not usable:
                continue
            out.extend(usable if self.failover_within_preference else usable[:1])
        if out or not tunnels:
            return out
        # Everything locked out (or full): retry the destination that failed first.
        first = self.destinations.failed_first([t.server_endpoint for t in ordered])
        for t in ordered:
            if first is None or t.server_endpoint == first:
                return [t]
        return [ordered[0]]
