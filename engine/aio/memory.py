"""Giving memory back to the system after a large teardown.

Freeing tens of thousands of sessions frees their objects, but the process keeps the pages:
the C allocator holds freed chunks for reuse and only gives back the top of its heap by itself.
``release_memory()`` asks glibc to return every free page (``malloc_trim(0)``, which also
releases whole free pages in the middle of the heap); on other C libraries and platforms it is a
no-op.  A torn-down session leaves no reference cycle (``PppLink.release``), so its memory is
free when the teardown ends; what else waits for the collector (garbage of earlier commands,
scattered among the freed pages) is collected first, fully only when few sessions are left:
a full collection costs time in proportion to every live object (hundreds of milliseconds
with tens of thousands of sessions up, the event loop stopped meanwhile), a collection of the
young generations only what was allocated lately.

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
