"""The engine's policy for Python's cyclic garbage collector (engine.aio.memory.Collector)."""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from engine.aio import memory
from engine.aio.memory import FREEZE_ABOVE_SESSIONS, YOUNG, Collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector() -> Iterator[tuple[Collector, list[int]]]:
    sessions = [0]
    old = gc.get_threshold()
    c = Collector(lambda: sessions[0])
    c.install()
    try:
        yield c, sessions
    finally:
        c.uninstall()
        gc.unfreeze()
        gc.set_threshold(*old)


def test_young_generations_are_bounded(collector):
    assert gc.get_threshold()[:2] == YOUNG
    assert YOUNG[0] * YOUNG[1] <= 50_000      # what one generation-1 collection may walk


def test_survivors_are_frozen_only_while_many_sessions_are_up(collector):
    c, sessions = collector
    gc.unfreeze()
    sessions[0] = FREEZE_ABOVE_SESSIONS
    gc.collect(1)
    assert c.freezes == 0 and gc.get_freeze_count() == 0
    sessions[0] = FREEZE_ABOVE_SESSIONS + 1
    kept = [Node() for _ in range(100)]
    gc.collect(1)
    assert c.freezes == 1 and gc.get_freeze_count() > len(kept)
    gc.collect(0)                               # a young collection alone freezes nothing
    assert c.freezes == 1


def test_release_with_few_sessions_collects_what_was_frozen(collector, monkeypatch):
    c, sessions = collector
    monkeypatch.setattr(memory, "trim_heap", lambda: False)
    sessions[0] = 10_000
    a, b = Node(), Node()
    a.other, b.other = b, a                     # a cycle, frozen while many sessions are up
    gone = weakref.ref(a)
    gc.collect(1)
    assert c.freezes == 1
    del a, b
    c.release()                                 # many sessions still up: frozen garbage waits
    assert gone() is not None
    sessions[0] = 5
    r = c.release()                             # few left: thawed and collected
    assert gone() is None and r.collected >= 2
    assert gc.get_freeze_count() > 0            # what lives on is frozen again
