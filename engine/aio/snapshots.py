"""Read-only views of the running engine (``show`` commands read these, never the engine)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.dataplane.base import Route
from engine.dialout import service as ds


@dataclass(frozen=True, slots=True)
class PingResult:
    sent: int
    received: int
    rtts_ms: tuple[float, ...]

    @property
    def success_line(self) -> str:
        rate = int(100 * self.received / self.sent) if self.sent else 0
        if self.rtts_ms:
            mn, mx = min(self.rtts_ms), max(self.rtts_ms)
            avg = sum(self.rtts_ms) / len(self.rtts_ms)
            return (f"Success rate = {rate}% ({self.received}/{self.sent}), "
                    f"round-trip min/avg/max = {mn:.0f}/{avg:.0f}/{mx:.0f} ms")
        return f"Success rate = {rate}% ({self.received}/{self.sent})"


@dataclass(frozen=True, slots=True)
class PppInterfaceSnapshot:
    ifname: str
    vr: str
    destination: str
    tunnel_id: int
    session_id: int
    ppp: Any                      # engine.ppp.link.PppSnapshot


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    now: float
    started: float
    dataplane: str
    dialout: ds.DialoutSnapshot
    l2tp: Any                     # engine.l2tp.connection.L2tpSnapshot
    l2tp_counters: dict[str, int]
    ppp: tuple[PppInterfaceSnapshot, ...]
    radius: tuple[tuple[str, tuple[Any, ...]], ...]    # (vr, ServerStats...)
    routes: tuple[tuple[str, tuple[Route, ...]], ...]
    # (vr, RADIUS datagrams from an address that is no server of the VR)
    radius_unknown_sources: tuple[tuple[str, int], ...] = ()
    # the L2TP socket's local address, and why the configured port could not be bound
    l2tp_local: tuple[str, int] | None = None
    l2tp_bind_error: str | None = None
    subscribers: tuple[Any, ...] = ()              # engine.dialin.sessions.SubscriberView

    @property
    def vr_states(self) -> tuple[tuple[str, str], ...]:
        return tuple((v.name, str(v.state)) for v in self.dialout.vrs)
