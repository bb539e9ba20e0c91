"""The engine's debug output: ``debug l2tp``, ``debug l2tp dial-out``, ``debug ppp`` and
``debug radius`` turn tracers on the running objects on and off; traced lines go to the
engine's output."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from engine.dialout import service as ds

if TYPE_CHECKING:
    from engine.aio.aaa_glue import RadiusClients
    from engine.aio.calls import CallTable
    from engine.l2tp.connection import L2tpEndpoint


def format_dialout_trace(ev: ds.DialoutTrace) -> str:
    """``debug l2tp dial-out``: a line about a session carries the milliseconds since its
    trigger (``+12.345ms``), so a slow dial-out shows where its time went."""
    if ev.elapsed is None:
        return f"L2TP dial-out [{ev.vr}]: {ev.line}"
    return f"L2TP dial-out [{ev.vr}] +{ev.elapsed * 1000.0:.3f}ms: {ev.line}"



class EngineDebug:
    """The debug kinds of an ``Engine`` and the tracers they install."""
    _debug: frozenset[str]
    output: Callable[[str], None]
    l2tp: L2tpEndpoint
    dialout: ds.DialoutService
    radius: RadiusClients
    _calls: CallTable

    @property
    def debug(self) -> frozenset[str]:
        return self._debug

    @debug.setter
    def debug(self, kinds: Iterable[str]) -> None:
        """``debug l2tp`` and friends; control messages are described only while traced."""
        self._debug = frozenset(kinds)
        self.l2tp.trace = self._on_l2tp_trace if "l2tp" in self._debug else None
        self.dialout.trace = self._on_dialout_trace if "dial-out" in self._debug else None
        for name, r in self.radius.by_vr.items():
            if r.adapter is not None:
                r.adapter.on_trace = self._radius_tracer(name)
        for call in self._calls.values():
            if call.ppp is not None:
                call.ppp.tracer = self.ppp_tracer(call.ifname or "")

    def ppp_tracer(self, ifname: str) -> Callable[[str], None] | None:
        """``debug ppp``: every PPP control packet of the interface, in the trace's format."""
        if "ppp" not in self._debug:
            return None
        return lambda line: self.output(f"%PPP: {ifname}: {line}")

    def _radius_tracer(self, vr: str) -> Callable[[str], None] | None:
        """``debug radius``: every RADIUS packet of the virtual router, one line each."""
        if "radius" not in self._debug:
            return None
        return lambda line: self.output(f"RADIUS [{vr}]: {line}")

    def set_debug(self, kind: str | None, on: bool) -> None:
        """Turn one kind of debug output on or off (``None``: every kind)."""
        if kind is None:
            self.debug = self._debug | {"l2tp", "dial-out", "ppp", "radius"} if on else frozenset()
        else:
            self.debug = self._debug | {kind} if on else self._debug - {kind}

    def trace(self, kind: str, line: str) -> None:
        if kind in self._debug:
            self.output(f"%{kind.upper()}: {line}")

    def _on_l2tp_trace(self, line: str) -> None:
        if "l2tp" in self._debug:
            self.output(f"L2TP: {line}")

    def _on_dialout_trace(self, ev: ds.DialoutTrace) -> None:
        if "dial-out" in self._debug:
            self.output(format_dialout_trace(ev))
