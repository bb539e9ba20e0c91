"""Giving memory back to the system after a large teardown.

Freeing tens of thousands of sessions frees their objects, but the process keeps the pages:
the C allocator holds freed chunks for reuse and only gives back the top of its heap by itself.
``release_memory()`` asks glibc to return every free page (``malloc_trim(0)``, which also
releases whole free pages in the middle of the heap); on other C libraries and platforms it is a
no-op.  A torn-down session leaves no reference cycle (``PppLink.release``), so its memory is
free when the teardown ends; what else waits for the collector (garbage of earlier commands,
scattered among the freed pages) is collected first, every generation only when few sessions
are left and frozen objects only when they have grown (``Collector``): a full collection costs
time in proportion to every object it walks (hundreds of milliseconds with tens of thousands
of sessions up, the event loop stopped meanwhile), a collection of the young generations only
what was allocated lately.

How much comes back depends on the allocator serving Python objects: with the default
``pymalloc``, objects live in 1 MiB arenas that go back to the system only once entirely empty,
so a few long-lived objects allocated during a flood keep their arenas; with
``PYTHONMALLOC=malloc`` every object is a glibc chunk and the trim returns the free pages
between them (see ``bench/scale.py`` for the figures of both).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

_trim: Callable[[int], int] | None = None
_trim_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (not Linux, not glibc, no libc found)."""
    global _trim, _trim_looked_up
    if not _trim_looked_up:
        _trim_looked_up = True
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                fn = libc.malloc_trim
            except (OSError, AttributeError):      # musl and others: no malloc_trim
                fn = None
            if fn is not None:
                fn.argtypes = [ctypes.c_size_t]
                fn.restype = ctypes.c_int
                _trim = fn
    return _trim


def trim_heap() -> bool:
    """Ask the C allocator to give its free pages back; True when it released some."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False


@dataclass(frozen=True, slots=True)
class Release:
    """What one ``release_memory`` did."""
    collected: int          # unreachable objects found by the collector
    trimmed: bool           # the C allocator gave pages back
    seconds: float          # time spent (the event loop is not served meanwhile)


def release_memory(*, full: bool) -> Release:
    """Collect cyclic garbage (every generation if ``full``, else the young ones), then return
    free pages to the system."""
    t0 = time.perf_counter()
    collected = gc.collect(2 if full else 1)
    trimmed = trim_heap()
    r = Release(collected, trimmed, time.perf_counter() - t0)
    log.debug("memory released after teardown: %d objects collected, trimmed=%s, %.1f ms",
              r.collected, r.trimmed, r.seconds * 1000)
    return r


# ---------------------------------------------------------------- the cyclic collector
#: a collection of generation 0 after this many net allocations of container objects, of
#: generation 1 after every YOUNG[1] of those: neither walks more than about 20,000 objects
#: (≈ 20 ms; 20,000 / 2 gave pauses up to 56 ms with 64,000 sessions up, and a generation 1
#: of 20 × 50,000 took 460 ms).  The interpreter's default of 700 / 10 collects far more often
#: than a flood of session objects needs.
YOUNG = (10_000, 2)
OLD = 50
#: at most this many sessions (calls and dial-out sessions): a full collection is cheap, and
#: the objects that survived the young generations are left to it; above, they are frozen
FREEZE_ABOVE_SESSIONS = 2000
#: when a large teardown leaves few sessions, the frozen objects are thawed and collected only
#: once they have grown by more than this many since they were last walked: a full collection
#: walks every object of the process, 25-70 ms with the heap a flood of 32,000-64,000 sessions
#: leaves, and after a teardown the frozen set is mostly the process's own long-lived state;
#: below the bound it keeps at most this many objects of frozen cyclic garbage a while longer
THAW_ABOVE_GROWTH = 20_000


class Collector:
    """Keeps the cyclic garbage collector's pauses short with tens of thousands of sessions.

    A full collection walks every container object of the process: with 64,000 sessions up
    that is millions of objects and more than a second with the event loop stopped.  Session
    objects leave no reference cycle when they end (``PppLink.release``), so they need no full
    collection: while more than ``FREEZE_ABOVE_SESSIONS`` sessions are up, what survives a
    collection of generation 1 is frozen (``gc.freeze``: never walked again, still freed by
    its reference count).  The process's own objects at start-up (modules, classes, the
    configuration) are frozen when the collector is installed.  When a large teardown leaves
    few sessions (``release``), the frozen objects are thawed and collected fully once they
    have grown by more than ``THAW_ABOVE_GROWTH`` since they were last walked, so cyclic
    garbage frozen while many sessions were up (a closed shell connection's objects) is not
    kept for ever, and a teardown that leaves the process as it was costs no full pass.
    """

    def __init__(self, sessions: Callable[[], int]) -> None:
        self.sessions = sessions
        self.freezes = 0
        self._installed = False
        self._walked = 0          # frozen objects just after the last full walk of them

    def install(self) -> None:
        gc.set_threshold(YOUNG[0], YOUNG[1], OLD)
        if not self._installed:
            gc.callbacks.append(self._after_collection)
            self._installed = True
            gc.freeze()
            self._walked = gc.get_freeze_count()

    def uninstall(self) -> None:
        """Back to the interpreter's own ways: nothing frozen, no callback."""
        if self._installed:
            gc.callbacks.remove(self._after_collection)
            self._installed = False
            gc.unfreeze()

    def _after_collection(self, phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] >= 1 \
                and self.sessions() > FREEZE_ABOVE_SESSIONS:
            gc.freeze()
            self.freezes += 1

    def release(self) -> Release:
        """After a large teardown: with few sessions left, collect every generation (thawing
        the frozen objects first if they grew past ``THAW_ABOVE_GROWTH``) and freeze again
        what lives on; else collect the young generations only."""
        full = self.sessions() <= FREEZE_ABOVE_SESSIONS
        thaw = full and gc.get_freeze_count() > self._walked + THAW_ABOVE_GROWTH
        if thaw:
            gc.unfreeze()
        r = release_memory(full=full)
        if full:
            gc.freeze()            # what lives on now is long-lived: out of later walks
            if thaw:
                self._walked = gc.get_freeze_count()
        return r
