"""Sessions ended a slice per loop turn: a large ``clear l2tp dial-out session`` and the calls
of a tunnel gone down (LAC failure, StopCCN from the peer, no acknowledgement, ``clear l2tp
tunnel``) share one queue, served by one task that ends at most ``TEARDOWN_SLICE`` sessions per
loop turn, so the router keeps answering while tens of thousands of sessions end.

A tunnel gone down is forgotten at once by the dial-out service (a new trigger opens another
tunnel; a destination whose tunnel failed during set-up is locked out at once); its sessions
are then ended a slice at a time: the service releases up to a slice of them
(``tunnel_down_step``) and the calls under them are ended in the same step (PPP link closed,
accounting Stop with Lost-Service, session interface removed; no CDN: the L2TP call died with
its tunnel).  While a call waits its turn, data sent to it is dropped by the L2TP endpoint
(its tunnel no longer carries data).  Calls the service does not know (incoming calls on the
same tunnel) follow once the service's part is done.
"""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.aio.calls import Call
from engine.aio.snapshots import ClearProgress
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause

if TYPE_CHECKING:
    from engine.aio.engine import Engine

#: sessions ended per loop turn by a large clear or a tunnel gone down
TEARDOWN_SLICE = 64


@dataclass(slots=True, eq=False)
class _Clear:
    keys: deque[ds.SessionKey]

    def left(self) -> bool:
        return bool(self.keys)


@dataclass(slots=True, eq=False)
class _TunnelDown:
    ref: int | None                 # the dial-out service's tunnel, None: it knows none
    reason: str
    calls: dict[int, Call]          # call id -> call, not ended yet

    def left(self) -> bool:
        return self.ref is not None or bool(self.calls)


class _Progress:
    """How far the teardowns of one kind are: sessions named, sessions ended, since when."""

    __slots__ = ("done", "started", "total")

    def __init__(self, total: int, started: float) -> None:
        self.total, self.done, self.started = total, 0, started

    def view(self) -> ClearProgress:
        return ClearProgress(self.total, self.done, self.started)


class Teardown:
    """The engine's teardown queue (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self._jobs: deque[_Clear | _TunnelDown] = deque()
        self._task: asyncio.Task[None] | None = None
        self._clearing: _Progress | None = None
        self._tunnels_down: _Progress | None = None

    def __bool__(self) -> bool:
        """Work is left: sessions to end, or the memory they freed not given back yet."""
        return bool(self._jobs) or self._task is not None

    def clearing(self) -> ClearProgress | None:
        """The clears under way, or None."""
        return None if self._clearing is None else self._clearing.view()

    def tunnels_down(self) -> ClearProgress | None:
        """The calls of tunnels gone down still being ended, or None."""
        return None if self._tunnels_down is None else self._tunnels_down.view()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # ---------------------------------------------------------------- queueing
    def clear(self, keys: list[ds.SessionKey]) -> bool:
        """Clear the sessions of ``keys``: at once (True) when they fit in one slice and
        nothing is queued, else queued (False)."""
        e = self.e
        if len(keys) <= TEARDOWN_SLICE and not self._jobs:
            e.dialout.clear_keys(keys, now=e.now())
            e._pump()
            return True
        self._jobs.append(_Clear(deque(keys)))
        if self._clearing is None:
            self._clearing = _Progress(0, e.now())
        self._clearing.total += len(keys)
        self._start()
        return False

    def tunnel_down(self, ref: int | None, reason: str, calls: dict[int, Call]) -> None:
        """The L2TP tunnel under ``calls`` (a dictionary taken over) and under the service's
        tunnel ``ref`` is gone: the service forgets the tunnel now; its sessions and calls
        end in slices (at once when they fit in one and nothing is queued)."""
        e = self.e
        now = e.now()
        left = e.dialout.on_tunnel_down(ref, reason, now=now) if ref is not None else None
        job = _TunnelDown(ref if left else None, reason, calls)
        if not job.left():
            return
        if not self._jobs and max(left or 0, len(job.calls)) <= TEARDOWN_SLICE:
            while job.left():                             # two slices at most
                self._tunnel_slice(job, TEARDOWN_SLICE, now)
            return
        self._jobs.append(job)
        if self._tunnels_down is None:
            self._tunnels_down = _Progress(0, now)
        self._tunnels_down.total += len(job.calls)
        self._start()

    def _start(self) -> None:
        loop = self.e.loop
        if self._task is None and loop is not None:
            self._task = loop.create_task(self._run())

    # ---------------------------------------------------------------- slices
    async def _run(self) -> None:
        try:
            while self._jobs:
                self.slice()
                self.e._pump()
                await asyncio.sleep(0)
            # a large teardown is done: memory back, in a turn of its own (a collection and
            # the trim after the last slice would stall the loop for both)
            self.e.after_teardown()
        finally:
            self._task = None
            self._jobs.clear()
            self._clearing = self._tunnels_down = None

    def slice(self) -> int:
        """End up to ``TEARDOWN_SLICE`` queued sessions, oldest teardown first; returns how
        many were taken off the queue."""
        now = self.e.now()
        budget = TEARDOWN_SLICE
        while self._jobs and budget > 0:
            job = self._jobs[0]
            if isinstance(job, _Clear):
                n = self._clear_slice(job, budget, now)
                if self._clearing is not None:
                    self._clearing.done += n
            else:
                before = len(job.calls)
                n = self._tunnel_slice(job, budget, now)
                if self._tunnels_down is not None:
                    self._tunnels_down.done += before - len(job.calls)
            budget -= n
            if not job.left():
                self._jobs.popleft()
                self._finished(job)
        return TEARDOWN_SLICE - budget

    def _finished(self, job: _Clear | _TunnelDown) -> None:
        """The last job of a kind is done: its progress is no longer shown."""
        kind = type(job)
        if not any(isinstance(j, kind) for j in self._jobs):
            if kind is _Clear:
                self._clearing = None
            else:
                self._tunnels_down = None

    def _clear_slice(self, job: _Clear, budget: int, now: float) -> int:
        q = job.keys
        part = [q.popleft() for _ in range(min(budget, len(q)))]
        self.e.dialout.clear_keys(part, now=now)
        return len(part)

    def _tunnel_slice(self, job: _TunnelDown, budget: int, now: float) -> int:
        e = self.e
        n = 0
        if job.ref is not None:
            # the service releases its sessions; their calls end in the same step, before
            # any other input can reuse what the sessions held (interface names)
            released = e.dialout.tunnel_down_step(job.ref, now=now, limit=budget)
            for call_id in released:
                call = job.calls.pop(call_id, None)
                if call is not None:
                    e.end_call(call, job.reason, call.down_cause or TerminateCause.LOST_SERVICE,
                               now=now, report=False, send_cdn=False)
            n = max(1, len(released))
            if e.dialout.tunnel_down_left(job.ref):
                return n
            job.ref = None
        calls = job.calls
        while calls and n < budget:
            _cid, call = calls.popitem()
            n += 1
            if e._calls.live(call):
                e.end_call(call, job.reason, call.down_cause or TerminateCause.LOST_SERVICE,
                           now=now, report=True, send_cdn=False)
        return n
