"""Memory after a large clear: a few thousand real dial-out sessions (lab in a second process,
sim dataplane) are cleared; every index keyed by session gives its table back, no torn-down
session is left for the cycle collector, and the freed memory is handed back once.  (What RSS
does is a figure of ``bench/scale.py``, not asserted here.)"""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench import dialout as bd
from engine.aio import memory
from engine.aio.engine import TEARDOWN_SLICE, Engine
from engine.compact import MIN_TABLE_BYTES
from engine.ppp.link import PppLink

pytestmark = pytest.mark.timeout(180)

N = 1500


def session_indexes(eng: Engine) -> Iterator[tuple[str, Any]]:
    """Every index of the engine that holds an entry per session."""
    yield "calls.by_id", eng._calls.by_id
    yield "calls.by_l2tp", eng._calls.by_l2tp
    yield "calls.by_if", eng._calls.by_if
    yield "dialout._sessions", eng.dialout._sessions
    yield "dialout._calls", eng.dialout._calls
    v = eng.dp._vrs["home"]
    yield "dp.sessions", v.sessions
    yield "dp.mtus", v.mtus
    yield "rib._by_ifname", v.rib._by_ifname
    for length, table in v.rib._tables.items():
        yield f"rib._tables[{length}]", table
    for length, table in v.nexthops._connected._tables.items():
        yield f"connected._tables[{length}]", table
    for tid, t in eng.l2tp.tunnels.items():
        yield f"tunnel {tid} calls", t.calls
        yield f"tunnel {tid} peer_calls", t.peer_calls


BEFORE = [0]          # links of earlier tests in this process, alive when this one starts


def live_links() -> int:
    gc.unfreeze()        # frozen objects (engine.aio.memory.Collector) are not listed otherwise
    return sum(1 for o in gc.get_objects() if type(o) is PppLink) - BEFORE[0]


async def test_clear_gives_index_tables_back_and_leaves_no_cycles(monkeypatch):
    addrs = bd.lac_addresses(2)
    home_port, lns_port = bd.free_ports(2)
    with tempfile.TemporaryDirectory(prefix="jcli-memory-") as tmp:
        path = os.path.join(tmp, "lab.toml")
        with open(path, "w") as f:
            f.write(bd.lab_text(N, addrs, home_port, lns_port))
        lab = bd.start_lab(path)
        eng = Engine(output=lambda line: None)
        releases: list[tuple[int, bool]] = []     # (PppLink objects alive, full) per release
        real_release = memory.release_memory

        def release(*, full: bool) -> memory.Release:
            releases.append((live_links(), full))
            return real_release(full=full)

        monkeypatch.setattr(memory, "release_memory", release)
        gc_was_enabled = gc.isenabled()
        gc.unfreeze()           # earlier tests' frozen garbage is collected before the count
        gc.collect()
        BEFORE[0] = 0
        BEFORE[0] = live_links()
        try:
            await eng.start()
            eng.apply_config(bd.engine_config(home_port, lns_port, 500))
            b = bd.Bench(eng)
            for i in range(N):
                b.trigger(bd.destination(i))
            end = time.monotonic() + 120
            while len(b.installed) < N and time.monotonic() < end:
                await asyncio.sleep(0.01)
            assert len(b.installed) == N
            peak = {name: sys.getsizeof(ix) for name, ix in session_indexes(eng)}
            # each of these tables grew well past what compaction leaves behind
            for name in ("calls.by_id", "calls.by_l2tp", "calls.by_if", "dialout._sessions",
                         "dialout._calls", "dp.sessions", "rib._by_ifname"):
                assert peak[name] > 2 * MIN_TABLE_BYTES, (name, peak[name])
            assert live_links() == N

            gc.disable()        # what the teardown frees, it frees without the collector
            assert eng.memory_releases == 0
            n, done = eng.start_clear()
            assert (n, done) == (N, False) and N > TEARDOWN_SLICE
            end = time.monotonic() + 60
            while (eng.dialout or eng._calls or eng.teardown) and time.monotonic() < end:
                await asyncio.sleep(0.01)
            assert not eng.dialout and not eng._calls
            assert eng.memory_releases == 1
            # no torn-down link waited for the collector; few sessions left: a full collection
            assert releases == [(0, True)]
            assert live_links() == 0

            grown = {name: sys.getsizeof(ix) for name, ix in session_indexes(eng)
                     if sys.getsizeof(ix) >= MIN_TABLE_BYTES}
            assert grown == {}, grown
        finally:
            if gc_was_enabled:
                gc.enable()
            await eng.stop()
            bd.stop_pid(lab)
