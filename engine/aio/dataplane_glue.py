"""Dataplane glue: virtual routers, their addresses and static routes, session interfaces and
access routes, kept in step with the configuration and the dial-out requests."""
from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

from engine.aio.calls import Call, CallTable
from engine.aio.config import PortConfig, VirtualRouterConfig
from engine.dialout import service as ds
from engine.types import DataplaneError, Route

log = logging.getLogger(__name__)


def session_mtu(call: Call) -> int:
    """The session device's MTU: what the peer can receive (its negotiated MRU), capped by
    the profile's ``ip mtu``."""
    mtu: int = call.ppp.lcp_policy.peer_mru if call.ppp is not None else 1500
    ip_mtu = call.profile.ip_mtu if call.profile is not None else None
    return min(mtu, ip_mtu) if ip_mtu else mtu


class DataplaneGlue:
    def __init__(self, calls: CallTable, output: Callable[[str], None]) -> None:
        self.dp: Any = None                       # SimDataplane | LinuxDataplane once started
        self.calls = calls
        self.output = output
        self.vrs_made: set[str] = set()
        #: VR -> why the dataplane could not create it (retried at every apply)
        self.vr_failures: dict[str, str] = {}
        self._static: dict[str, set[Route]] = {}  # VR -> static routes installed
        self._addresses: dict[str, dict[str, Any]] = {}
        #: physical ports named at start: port name (gigabitEthernet1/0) -> Linux interface
        self.ports: dict[str, str] = {}
        self._ports: dict[str, tuple[str, PortConfig]] = {}   # port -> (VR, as applied)
        self._ports_refused: set[str] = set()    # VRs with a port the dataplane refused

    # ---------------------------------------------------------------- virtual routers
    def ensure_vr(self, name: str) -> bool:
        """Create the VR in the dataplane unless it exists; False (the reason in
        ``vr_failures``, one ``%`` line to the operator) when the dataplane cannot."""
        if name in self.vrs_made or self.dp is None:
            return name in self.vrs_made
        try:
            self.dp.add_vr(name)
        except (OSError, ValueError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if self.vr_failures.get(name) != reason:
                log.warning("virtual router %s cannot be created: %s", name, reason)
                self.output(f"% virtual-router {name}: cannot be created: {reason}")
            self.vr_failures[name] = reason
            return False
        self.vr_failures.pop(name, None)
        self.vrs_made.add(name)
        return True

    def remove_vr(self, name: str) -> None:
        self.vr_failures.pop(name, None)
        self.vrs_made.discard(name)
        self._static.pop(name, None)
        self._addresses.pop(name, None)
        for port in [p for p, (vr, _c) in self._ports.items() if vr == name]:
            del self._ports[port]
        self._ports_refused.discard(name)
        if self.dp is not None:
            self.dp.remove_vr(name)

    def socket_factory(self, vr: str) -> Callable[[], socket.socket] | None:
        """Sockets of a virtual router live in its namespace (linux dataplane); the default
        VR's sockets, like the main L2TP socket, live in the namespace the process started in
        unless the default VR has ports (then in its namespace, where its ports are)."""
        dp = self.dp
        if not hasattr(dp, "socket_in_vr"):
            return None
        if vr == "default" and not any(v == "default" for v, _c in self._ports.values()):
            return None          # the default VR without ports: the process's namespace
        return lambda: dp.socket_in_vr(vr)

    def apply_addresses(self, v: VirtualRouterConfig) -> None:
        want = {f"loopback{u}": a for u, a in v.loopbacks}
        have = self._addresses.setdefault(v.name, {})
        for ifname in set(have) - set(want):
            del have[ifname]
            self.call(self.dp.set_address, v.name, ifname, None)
        for ifname, addr in want.items():
            if have.get(ifname) != addr:
                if self.call(self.dp.set_address, v.name, ifname, addr):
                    have[ifname] = addr
        self.apply_ports(v)

    def apply_ports(self, v: VirtualRouterConfig) -> None:
        """Move the VR's configured ports in (address, up/down) and give back the others."""
        want = {p.name: p for p in v.ports}
        self._ports_refused.discard(v.name)
        for name, (vr, _c) in list(self._ports.items()):
            if vr == v.name and name not in want:
                del self._ports[name]
                self.call(self.dp.remove_port, name)
        for name, p in want.items():
            if self._ports.get(name) == (v.name, p):
                continue
            kname = self.ports.get(name)
            if kname is None:
                self.output(f"% virtual-router {v.name}: {name}: no such port (ports are named "
                            "at start with --port)")
                self._ports_refused.add(v.name)
                continue
            if self.call(self.dp.set_port, v.name, name, kname, p.address, not p.shutdown):
                self._ports[name] = (v.name, p)
            else:                                  # retried at the next reconciliation
                self._ports.pop(name, None)
                self._ports_refused.add(v.name)

    def port_status(self, vr: str) -> list[dict[str, Any]]:
        """The VR's ports (dataplane state and kernel counters) with their descriptions."""
        if self.dp is None or vr not in self.vrs_made:
            return []
        rows: list[dict[str, Any]] = self.dp.port_status(vr)
        for row in rows:
            applied = self._ports.get(row["name"])
            row["description"] = applied[1].description if applied else ""
        return rows

    def call(self, fn: Callable[..., None], *args: Any) -> bool:
        """A configuration change to the dataplane; a failure is one ``%`` line to the
        operator and the rest of the configuration is still applied."""
        try:
            fn(*args)
            return True
        except DataplaneError as exc:
            log.warning("%s", exc)
            self.output(f"% {exc}")
            return False

    def apply_static(self, v: VirtualRouterConfig) -> bool:
        """Install the VR's static routes; False when the dataplane refused one (or one of
        the VR's ports: both are retried at the next reconciliation)."""
        want: set[Route] = set()
        for s in v.static_routes:
            if s.nexthop is None:
                want.add(Route(s.prefix, "static", ifname="null0", distance=s.distance, tag=s.tag))
            else:
                want.add(Route(s.prefix, "static", nexthop=s.nexthop, distance=s.distance,
                               tag=s.tag))
        have = self._static.setdefault(v.name, set())
        for r in have - want:
            self.call(self.dp.remove_route, v.name, r)
        # a route the dataplane refused is retried at the next reconciliation
        self._static[v.name] = {r for r in want if r in have
                                or self.call(self.dp.add_route, v.name, r)}
        return self._static[v.name] == want and v.name not in self._ports_refused

    # ---------------------------------------------------------------- sessions
    def install_routes(self, req: ds.InstallRoutes) -> None:
        if req.ifname is not None and req.local_ip is not None and req.peer_ip is not None:
            call = self.calls.by_if.get((req.vr, req.ifname))
            if call is not None and not call.network_up:
                self.dp.add_session_interface(req.vr, req.ifname, req.local_ip, req.peer_ip)
                call.network_up = True
                self.call(self.dp.set_mtu, req.vr, req.ifname, session_mtu(call))
        self.dp.add_routes(req.vr, list(req.routes))

    def remove_routes(self, req: ds.RemoveRoutes) -> None:
        for r in req.routes:
            try:
                self.dp.remove_route(req.vr, r)
            except Exception:
                log.debug("route %s already gone", r)
        if req.ifname is not None:
            call = self.calls.by_if.get((req.vr, req.ifname))
            if call is None or not call.established or call.ppp is None:
                self.remove_interface(req.vr, req.ifname)

    def remove_interface(self, vr: str, ifname: str) -> None:
        call = self.calls.pop_interface(vr, ifname)
        if call is not None and call.network_up:
            call.network_up = False
            try:
                self.dp.remove_session_interface(vr, ifname)
            except Exception:
                log.debug("interface %s already gone", ifname)

    def routes(self) -> tuple[tuple[str, tuple[Route, ...]], ...]:
        if self.dp is None:
            return ()
        return tuple((vr, tuple(self.dp.routes(vr))) for vr in sorted(self.vrs_made))
