"""Waiting on a condition instead of sleeping a fixed time and hoping."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Timeout(AssertionError):
    pass


def wait_until(pred: Callable[[], object], timeout: float = 10.0, interval: float = 0.02,
               what: str = "") -> object:
    """Poll ``pred`` until it is true (returned) or ``timeout`` seconds pass (``Timeout``)."""
    end = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= end:
            raise Timeout(f"not true within {timeout} s: {what or pred}")
        time.sleep(interval)


async def async_wait_until(pred: Callable[[], object], timeout: float = 10.0,
                           interval: float = 0.02, what: str = "") -> object:
    """``wait_until`` for tests running in the event loop (the loop keeps running)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = pred()
        if value:
            return value
        if loop.time() >= end:
            raise Timeout(f"not true within {timeout} s: {what or pred}")
        await asyncio.sleep(interval)


def file_settled(path: object, quiet: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the file at ``path`` has stopped growing for ``quiet`` seconds (a capture
    written with ``tcpdump -U`` has everything it saw)."""
    from pathlib import Path
    p = Path(str(path))
    end = time.monotonic() + timeout
    size, since = -1, time.monotonic()
    while time.monotonic() < end:
        now_size = p.stat().st_size if p.exists() else 0
        if now_size != size:
            size, since = now_size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
