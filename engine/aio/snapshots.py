"""Read-only views of the running engine (``show`` commands read these, never the engine)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engine.dataplane.base import Route
from engine.dialin.sessions import SubscriberView
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
    #: an incoming call's subscriber: its user and address ("" for dial-out interfaces)
    subscriber: str = ""


def subscriber_label(c: Any) -> str:
    """``user address`` of an incoming call's subscriber (``-`` while either is unknown);
    "" for a dial-out call."""
    s = c.dialin
    if s is None:
        return ""
    return f"{s.user or '-'} {s.address if s.address is not None else '-'}"


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
    subscribers: tuple[SubscriberView, ...] = ()

    @property
    def vr_states(self) -> tuple[tuple[str, str], ...]:
        return tuple((v.name, str(v.state)) for v in self.dialout.vrs)


@dataclass(frozen=True, slots=True)
class ClearProgress:
    """Sessions ended in slices (a large clear, the sessions of tunnels gone down): how far."""
    total: int
    done: int
    started: float


class EngineReads:
    """Indexed, per-object reads for the show commands: one session by key, one tunnel table
    without its calls, lists as lazy iterators the caller consumes page by page.  Nothing
    here copies a whole table of sessions, calls or routes."""

    __slots__ = ("_e",)

    def __init__(self, engine: Any) -> None:
        self._e = engine                      # engine.aio.engine.Engine

    def now(self) -> float:
        return float(self._e.now())

    # ------------------------------------------------------------ dial-out
    def chassis(self) -> Any:
        return self._e.dialout.chassis_snapshot()

    def clearing(self) -> ClearProgress | None:
        return self._e.clear_progress()

    def tunnels_down(self) -> ClearProgress | None:
        """The sessions of tunnels gone down still being ended (a slice per loop turn)."""
        return self._e.teardown_progress()

    def vrs(self) -> tuple[Any, ...]:
        return self._e.dialout.vr_snapshots()

    def targets(self) -> tuple[Any, ...]:
        return self._e.dialout.target_snapshots()

    def destinations(self) -> tuple[Any, ...]:
        return self._e.dialout.destination_snapshots(now=self.now())

    def session(self, vr: str, dst: str) -> Any:
        """One session by its key, or None: a dictionary look-up."""
        return self._e.dialout.session_snapshot(vr, dst, now=self.now())

    def sessions_to(self, dst: str) -> list[Any]:
        """The sessions of ``dst`` in every VR: one look-up per VR."""
        return self._e.dialout.sessions_to(dst, now=self.now())

    def iter_sessions(self, vr: str | None = None, state: str | None = None) -> Iterator[Any]:
        return self._e.dialout.iter_sessions(vr, state, now=self.now())

    def iter_session_states(self, vr: str | None = None,
                            state: str | None = None) -> Iterator[tuple[str, Any, str]]:
        return self._e.dialout.iter_session_states(vr, state)

    # ------------------------------------------------------------ L2TP
    def tunnels(self) -> tuple[Any, ...]:
        return self._e.l2tp.tunnel_infos()

    def iter_l2tp_calls(self) -> Iterator[Any]:
        return self._e.l2tp.iter_call_infos()

    def l2tp_statistics(self) -> dict[str, Any]:
        e = self._e
        tunnels = e.l2tp.tunnel_infos()
        calls, established = e.l2tp.call_counts()
        ad = e.l2tp_adapter
        return {"local": ad.local_addr if ad is not None else None,
                "bind_error": ad.bind_error if ad is not None else None,
                "tunnels": len(tunnels),
                "tunnels_established": sum(1 for t in tunnels if t.state == "established"),
                "sessions": calls, "sessions_established": established,
                "counters": dict(e.l2tp.counters)}

    # ------------------------------------------------------------ PPP
    def _ppp(self, c: Any) -> PppInterfaceSnapshot:
        return PppInterfaceSnapshot(c.ifname, c.key.vr, str(c.key.dst), c.tunnel_id,
                                    c.session_id, c.ppp.snapshot(), subscriber_label(c))

    def ppp_interface(self, ifname: str) -> list[PppInterfaceSnapshot]:
        """The PPP interface ``ifname`` of every VR: one look-up per VR."""
        by_if = self._e._calls.by_if
        out = []
        for vr in sorted(self._e.dataplane.vrs_made):
            c = by_if.get((vr, ifname))
            if c is not None and c.ppp is not None and self._e._calls.live(c):
                out.append(self._ppp(c))
        return sorted(out, key=lambda p: p.tunnel_id)

    def iter_ppp(self) -> Iterator[PppInterfaceSnapshot]:
        """Every PPP interface in call order, lazily (the call ids are copied, not the calls)."""
        calls = self._e._calls
        for call_id in list(calls.by_id):
            c = calls.get(call_id)
            if c is not None and c.ppp is not None and c.ifname:
                yield self._ppp(c)

    # ------------------------------------------------------------ routes and RADIUS
    def iter_routes(self, vr: str) -> Iterator[Route]:
        """The VR's routes in prefix order, lazily; survives changes between pages."""
        dp = self._e.dp
        if dp is None or vr not in self._e.dataplane.vrs_made:
            return iter(())
        return dp.iter_routes(vr)

    def has_vr(self, vr: str) -> bool:
        return self._e.dp is not None and vr in self._e.dataplane.vrs_made

    def radius(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        return self._e.radius.snapshot(now=self.now())

    def radius_unknown_sources(self) -> dict[str, int]:
        return {vr: r.client.counters["unknown_source"]
                for vr, r in sorted(self._e.radius.by_vr.items())}
