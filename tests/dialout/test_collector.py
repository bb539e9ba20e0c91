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


def test_install_freezes_the_startup_heap_and_uninstall_thaws_it():
    old = gc.get_threshold()
    gc.unfreeze()
    c = Collector(lambda: 0)
    try:
        c.install()
        assert gc.get_freeze_count() > 0        # never walked by a collection meanwhile
        c.uninstall()
        assert gc.get_freeze_count() == 0       # the interpreter as it was
    finally:
        c.uninstall()
        gc.unfreeze()
        gc.set_threshold(*old)


def test_release_with_few_sessions_does_not_thaw_for_a_little_frozen_garbage(collector,
                                                                              monkeypatch):
    """A full collection walks every object: thawing after each large teardown stalled the loop
    25-70 ms with the heap 32,000-64,000 sessions leave.  Little growth, no thaw."""
    c, sessions = collector
    monkeypatch.setattr(memory, "trim_heap", lambda: False)
    sessions[0] = 10_000
    a, b = Node(), Node()
    a.other, b.other = b, a                     # a cycle, frozen while many sessions are up
    gone = weakref.ref(a)
    gc.collect(1)
    del a, b
    sessions[0] = 5
    walked: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            walked.append(gc.get_freeze_count())

    gc.callbacks.append(seen)
    try:
        r = c.release()
    finally:
        gc.callbacks.remove(seen)
    assert gone() is not None and r.collected == 0     # kept frozen, not walked
    assert walked and walked[0] > 0                      # the full pass left frozen ones alone


def test_release_with_few_sessions_collects_what_was_frozen(collector, monkeypatch):
    c, sessions = collector
    monkeypatch.setattr(memory, "trim_heap", lambda: False)
    monkeypatch.setattr(memory, "THAW_ABOVE_GROWTH", 0)   # any growth: thaw
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


def test_the_frozen_set_is_measured_again_after_a_thaw(collector, monkeypatch):
    c, sessions = collector
    monkeypatch.setattr(memory, "trim_heap", lambda: False)
    monkeypatch.setattr(memory, "THAW_ABOVE_GROWTH", 1000)
    sessions[0] = 10_000
    nodes = [Node() for _ in range(2000)]
    for x, y in zip(nodes[::2], nodes[1::2], strict=True):
        x.other, y.other = y, x                 # 1,000 cycles, 2,000 objects
    gone = weakref.ref(nodes[0])
    gc.collect(1)
    del nodes, x, y
    sessions[0] = 5
    assert c.release().collected >= 2000 and gone() is None   # grew past the bound: thawed
    again = Node()
    again.other = again
    kept = weakref.ref(again)
    sessions[0] = 10_000
    gc.collect(1)
    del again
    sessions[0] = 5
    c.release()                                 # measured from the last thaw: one cycle, kept
    assert kept() is not None
