"""A released link (its call ended) holds no reference cycle: it is freed as soon as its owner
drops it, without the cycle collector; its snapshot stays readable."""
import gc
from collections.abc import Iterator

import pytest

from engine.ppp.link import PppLink

from .test_link import CPE, LNS, run_pair


def live_links() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is PppLink)


@pytest.fixture
def collector_off() -> Iterator[None]:
    """No automatic collection during the test (earlier garbage collected first)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def test_released_link_is_freed_without_the_collector(collector_off):
    before = live_links()
    a, b, _w = run_pair(LNS, CPE)
    assert a.network_up and b.network_up      # both authenticated (CHAP both ways)
    assert a.auth_peer is not None and a.auth_local is not None
    a.close("cleared", now=300.0)
    a.release()
    a.release()                               # twice is harmless
    snap = a.snapshot()
    assert snap.down_reason == "cleared" and snap.counters.tx_frames > 0
    b.release()
    del a, b, _w
    assert live_links() == before


def test_without_release_a_link_waits_for_the_collector(collector_off):
    """What ``release`` is for: a link alone is a cycle (its machines point back at it)."""
    before = live_links()
    a, b, _w = run_pair(LNS, CPE)
    del a, b, _w
    assert live_links() == before + 2
    gc.collect()
    assert live_links() == before
