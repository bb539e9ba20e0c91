"""Show output shared between operator lines: the same show line, in the same context, asked
again within a short time by any line gets the output computed for the first (a snapshot of
at most SHOW_TTL seconds). Fifty operators polling a table of thousands of sessions then cost
the router one rendering per interval, not fifty. A configuration change empties it."""
from __future__ import annotations

import asyncio
import time
from typing import Any

SHOW_TTL = 1.0                # seconds a rendered show output is served again
MAX_ENTRIES = 256
# per-line output: never shared
PRIVATE = frozenset({"show users", "show logging"})


class ShowCache:
    def __init__(self, ttl: float = SHOW_TTL) -> None:
        self.ttl = ttl
        self.entries: dict[tuple[Any, ...], tuple[float, list[str]]] = {}
        self.hits = 0
        self.misses = 0
        # shows being streamed now: the lines asking the same show wait for their output
        self.pending: dict[tuple[Any, ...], asyncio.Future[list[str] | None]] = {}

    def key(self, ctx: Any, cmd: Any, line: str) -> tuple[Any, ...] | None:
        words = " ".join(n.word for n in cmd.spec.nodes[:2] if n.word)
        if words in PRIVATE:
            return None
        return (" ".join(line.split()), ctx.vr, ctx.vrf, ctx.mode == "user")

    def get(self, key: tuple[Any, ...]) -> list[str] | None:
        e = self.entries.get(key)
        if e is None or time.monotonic() - e[0] > self.ttl:
            self.misses += 1
            return None
        self.hits += 1
        return e[1]

    def put(self, key: tuple[Any, ...], lines: list[str]) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            now = time.monotonic()
            self.entries = {k: v for k, v in self.entries.items() if now - v[0] <= self.ttl}
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
        self.entries[key] = (time.monotonic(), list(lines))

    def clear(self) -> None:
        """Forget every output, and every show being streamed: a line asking after a
        configuration change sees the new configuration."""
        self.entries.clear()
        self.pending.clear()
