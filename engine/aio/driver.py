"""One asyncio timer kept at a sans-IO core's ``get_timer()``.

Every core (L2TP endpoint, RADIUS client, PPP link, dial-out service) is driven the same way:
after any input its owner flushes the core's output, then re-arms one loop timer at the core's
``get_timer()``; when that timer fires, the core's ``handle_timer(now=...)`` runs and the owner
flushes again.  ``CoreTimer`` is that timer; the owner supplies what "flush" means for its core.

Cores tolerate an early ``handle_timer`` (it does nothing before a deadline), so ``keep_earlier``
may keep an armed timer that fires no later than needed instead of re-arming at every change
(cheap for cores whose deadline moves with every reply).
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class TimedCore(Protocol):
    def get_timer(self) -> float | None: ...

    def handle_timer(self, *, now: float) -> None: ...


class CoreTimer:
    """Keeps one ``loop.call_at`` handle at ``core.get_timer()``.

    ``arm()`` after every flush; on expiry ``core.handle_timer(now=loop.time())`` then
    ``after()`` (the owner's flush, which re-arms).  ``cancel()`` when the core goes away.
    """

    __slots__ = ("_at", "_handle", "after", "arg", "closed", "core", "keep_earlier", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, core: TimedCore,
                 after: Callable[..., None], *, keep_earlier: bool = False,
                 arg: object = None) -> None:
        """``after()``, or ``after(arg)`` when ``arg`` is given (one timer per call of many:
        no closure or partial kept per timer)."""
        self.loop = loop
        self.core = core
        self.after = after
        self.arg = arg
        self.keep_earlier = keep_earlier
        self._handle: asyncio.TimerHandle | None = None
        self._at: float | None = None
        self.closed = False

    @property
    def armed_at(self) -> float | None:
        return self._at if self._handle is not None else None

    def arm(self) -> None:
        if self.closed:
            return
        at = self.core.get_timer()
        h = self._handle
        if h is not None:
            if at == self._at:
                return
            if self.keep_earlier and (at is None or at > self._at):   # type: ignore[operator]
                return                   # the armed (earlier) timer still fires in time
            h.cancel()
            self._handle = None
        self._at = at
        if at is not None:
            self._handle = self.loop.call_at(at, self._fire)

    def cancel(self) -> None:
        self.closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._at = None

    def _fire(self) -> None:
        self._handle = None
        self._at = None
        if self.closed:
            return
        self.core.handle_timer(now=self.loop.time())
        if self.arg is None:
            self.after()
        else:
            self.after(self.arg)
