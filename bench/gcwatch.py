"""Pauses of Python's cyclic garbage collector, as a bench figure.

A full (generation 2) collection walks every container object of the process: with tens of
thousands of sessions that is millions of objects, and the event loop stands still meanwhile.
``GcWatch`` records, per generation, how many collections ran and the longest one.
"""
from __future__ import annotations

import gc
import time
from typing import Any


class GcWatch:
    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self._t0 = 0.0

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        g = info["generation"]
        self.count[g] += 1
        self.longest[g] = max(self.longest[g], time.perf_counter() - self._t0)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._cb)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._cb)

    def figures(self) -> dict[str, float]:
        """{"gen2_collections": n, "gen2_longest_ms": ms, ...} for the three generations."""
        out: dict[str, float] = {}
        for g in range(3):
            out[f"gen{g}_collections"] = self.count[g]
            out[f"gen{g}_longest_ms"] = round(self.longest[g] * 1000, 1)
        return out
