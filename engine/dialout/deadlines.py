"""Deadlines of in-service sessions: inactivity (``ip inactivity-timer``, RADIUS Idle-Timeout)
and RADIUS Session-Timeout; sans-IO.

One heap of ``(deadline, seq, key, generation, cause)``.  ``start`` gives a session its limits
when it goes in service, ``activity`` records traffic (O(1): it only stores the time), ``stop``
forgets the session.  The inactivity entry is re-pushed lazily: when it comes due and traffic
was seen since, it moves to ``last activity + idle``; otherwise the session has expired.
Entries of a stopped or restarted session (older generation) are dropped when they surface.
"""
from __future__ import annotations

import heapq
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from engine.dialout.causes import TerminateCause

K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class _Limits:
    gen: int
    token: int
    idle: float
    last_activity: float


@dataclass(frozen=True, slots=True)
class Expiry(Generic[K]):
    key: K
    token: int                 # what the caller gave to ``start`` (e.g. the call id)
    cause: TerminateCause
    reason: str


class SessionDeadlines(Generic[K]):
    def __init__(self) -> None:
        self._limits: dict[K, _Limits] = {}
        self._heap: list[tuple[float, int, K, int, TerminateCause]] = []
        self._seq = 0
        self._gen = 0

    def __len__(self) -> int:
        return len(self._limits)

    def _push(self, at: float, key: K, gen: int, cause: TerminateCause) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, key, gen, cause))

    def start(self, key: K, token: int, *, now: float, idle: float = 0.0,
              session_timeout: float = 0.0) -> None:
        """(Re)start the limits of ``key``; 0 means no such limit."""
        self.stop(key)
        if idle <= 0 and session_timeout <= 0:
            return
        self._gen += 1
        self._limits[key] = _Limits(self._gen, token, float(idle), now)
        if idle > 0:
            self._push(now + idle, key, self._gen, TerminateCause.IDLE_TIMEOUT)
        if session_timeout > 0:
            self._push(now + session_timeout, key, self._gen, TerminateCause.SESSION_TIMEOUT)

    def activity(self, key: K, *, now: float) -> None:
        lim = self._limits.get(key)
        if lim is not None and now > lim.last_activity:
            lim.last_activity = now

    def stop(self, key: K) -> None:
        self._limits.pop(key, None)

    def _live(self, key: K, gen: int) -> _Limits | None:
        lim = self._limits.get(key)
        return lim if lim is not None and lim.gen == gen else None

    def get_timer(self) -> float | None:
        heap = self._heap
        while heap:
            at, _seq, key, gen, _cause = heap[0]
            if self._live(key, gen) is not None:
                return at
            heapq.heappop(heap)
        return None

    def expire(self, *, now: float) -> list[Expiry[K]]:
        """Pop every deadline due at ``now``; the sessions returned are forgotten."""
        out: list[Expiry[K]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _at, _seq, key, gen, cause = heapq.heappop(heap)
            lim = self._live(key, gen)
            if lim is None:
                continue
            if cause is TerminateCause.IDLE_TIMEOUT:
                due = lim.last_activity + lim.idle
                if due > now:
                    self._push(due, key, gen, cause)
                    continue
                reason = "ip inactivity-timer expired"
            else:
                reason = "Session-Timeout expired"
            del self._limits[key]
            out.append(Expiry(key, lim.token, cause, reason))
        return out
