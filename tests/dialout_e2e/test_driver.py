"""CoreTimer: one loop timer kept at a sans-IO core's get_timer()."""
from __future__ import annotations

import asyncio

from engine.aio.driver import CoreTimer


class FakeCore:
    def __init__(self) -> None:
        self.deadline: float | None = None
        self.fired: list[float] = []

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, *, now: float) -> None:
        self.fired.append(now)
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None


async def test_fires_at_the_core_deadline_then_runs_the_owner_flush():
    loop = asyncio.get_running_loop()
    core = FakeCore()
    flushed: list[float] = []

    def flush() -> None:
        flushed.append(loop.time())
        t.arm()
    t = CoreTimer(loop, core, flush)
    t.arm()
    assert t.armed_at is None                       # no deadline, no timer
    due = core.deadline = loop.time() + 0.05
    t.arm()
    assert t.armed_at == due
    await asyncio.sleep(0.1)
    assert len(core.fired) == 1 and core.fired[0] >= due - 0.01
    assert len(flushed) == 1 and t.armed_at is None


async def test_rearms_when_the_deadline_moves_and_cancel_stops_it():
    loop = asyncio.get_running_loop()
    core = FakeCore()
    t = CoreTimer(loop, core, lambda: None)
    core.deadline = loop.time() + 10
    t.arm()
    core.deadline = loop.time() + 0.02
    t.arm()
    assert t.armed_at == core.deadline
    t.cancel()
    t.arm()
    await asyncio.sleep(0.05)
    assert core.fired == [] and t.armed_at is None


async def test_keep_earlier_keeps_an_earlier_timer():
    loop = asyncio.get_running_loop()
    core = FakeCore()
    t = CoreTimer(loop, core, lambda: None, keep_earlier=True)
    first = loop.time() + 0.02
    core.deadline = first
    t.arm()
    core.deadline = loop.time() + 10                # later: the armed timer is kept
    t.arm()
    assert t.armed_at == first
    core.deadline = None
    t.arm()
    assert t.armed_at == first
    await asyncio.sleep(0.05)
    assert len(core.fired) == 1                      # an early wake-up, harmless


async def test_owner_flush_gets_the_argument_it_was_given():
    loop = asyncio.get_running_loop()
    core = FakeCore()
    seen: list[object] = []
    owner = object()
    t = CoreTimer(loop, core, seen.append, arg=owner)
    core.deadline = loop.time() + 0.01
    t.arm()
    await asyncio.sleep(0.05)
    assert seen == [owner] and core.fired
