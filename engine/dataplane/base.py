"""The forwarding-plane interface the engine programs.

Two implementations: ``sim`` (in-process forwarding, the embedded default) and ``linux``
(a network namespace per virtual router, TUN devices and kernel routes through netlink).

Theory of operation: the engine decides *what* routes and interfaces exist; the dataplane makes
them real and moves packets.  Packets reach the engine through three callbacks:

* ``on_trigger(vr, packet)``: an IPv4 packet routed by a dial-out route (a trigger);
* ``on_session_packet(vr, ifname, packet)``: an IPv4 packet routed out of a session interface,
  to be carried over that session's PPP link;
* ``on_local_packet(vr, packet)``: an IPv4 packet addressed to the router itself in that VR
  (for example an ICMP echo reply to a ``ping`` the shell sent).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Protocol

from engine.types import DISTANCE, DataplaneConfigError, DataplaneError, Route, UnknownVirtualRouter

__all__ = ["DISTANCE", "DataplaneConfigError", "DataplaneError", "UnknownVirtualRouter",
           "Route", "Dataplane", "TriggerCallback", "SessionPacketCallback",
           "LocalPacketCallback"]

TriggerCallback = Callable[[str, bytes], None]
SessionPacketCallback = Callable[[str, str, bytes], None]
LocalPacketCallback = Callable[[str, bytes], None]


class Dataplane(Protocol):
    name: str
    on_trigger: TriggerCallback | None
    on_session_packet: SessionPacketCallback | None
    on_local_packet: LocalPacketCallback | None

    def add_vr(self, vr: str) -> None: ...
    def remove_vr(self, vr: str) -> None: ...
    def set_address(self, vr: str, ifname: str, address: ipaddress.IPv4Interface | None) -> None: ...
    def add_route(self, vr: str, route: Route) -> None: ...
    def add_routes(self, vr: str, routes: list[Route]) -> None: ...
    def remove_route(self, vr: str, route: Route) -> None: ...
    def routes(self, vr: str) -> list[Route]: ...
    def iter_routes(self, vr: str, start: ipaddress.IPv4Network | None = None, *,
                    after: bool = False) -> Iterator[Route]:
        """Routes in prefix order from ``start`` (resume with the last prefix and ``after``)."""
    def set_mtu(self, vr: str, ifname: str, mtu: int) -> None:
        """Set a session interface's MTU."""
    def lookup(self, vr: str, dst: ipaddress.IPv4Address) -> Route | None: ...
    def add_session_interface(self, vr: str, ifname: str, local: ipaddress.IPv4Address,
                              peer: ipaddress.IPv4Address) -> None: ...
    def remove_session_interface(self, vr: str, ifname: str) -> None: ...
    def deliver(self, vr: str, ifname: str, packet: bytes) -> None:
        """A packet received over a session's PPP link enters the VR on ``ifname``."""
    def send_from_vr(self, vr: str, packet: bytes) -> None:
        """A packet originated by the router in ``vr`` (ping) is routed there."""
    def close(self) -> None: ...
