"""Value types shared by the protocol cores, the engine and the forwarding planes.

This module imports nothing from the project, so any layer may use it without an import cycle.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# Administrative distances: the lower wins for the same prefix.  An access route supersedes the
# dial-out route for the destinations it covers, including an identical prefix.
DISTANCE = {"connected": 0, "access": 1, "static": 1, "dial-out": 250}


@dataclass(frozen=True, slots=True)
class Route:
    """One route of a virtual router.

    ``active`` is False for a route whose next hop is not (yet) reachable through a connected
    network: the route is kept, shown, and installed when its next hop resolves.  It is not
    part of the route's identity (equality and hash ignore it)."""
    prefix: ipaddress.IPv4Network
    protocol: str                      # "connected" | "static" | "access" | "dial-out"
    ifname: str | None = None          # outgoing interface (session interface, loopbackN, null0)
    nexthop: ipaddress.IPv4Address | None = None
    distance: int | None = None        # None: DISTANCE[protocol]
    metric: int = 0
    tag: int = 0
    active: bool = field(default=True, compare=False)

    @property
    def admin_distance(self) -> int:
        return DISTANCE[self.protocol] if self.distance is None else self.distance

    def describe(self) -> str:
        """The route as an operator names it: ``10.9.0.0/16 via 10.1.1.2``."""
        if self.nexthop is not None:
            return f"{self.prefix} via {self.nexthop}"
        if self.ifname is not None:
            return f"{self.prefix} dev {self.ifname}"
        return str(self.prefix)


class DataplaneError(OSError):
    """A forwarding-plane operation failed.  ``str()`` is one line naming the object, fit to
    be shown to an operator as ``% <message>``; ``errno`` is the kernel's error when there is
    one."""

    def __init__(self, vr: str, obj: str, reason: str, *, errno: int | None = None) -> None:
        super().__init__(f"virtual-router {vr}: {obj}: {reason}")
        self.vr = vr
        self.obj = obj
        self.reason = reason
        self.errno = errno


class DataplaneConfigError(DataplaneError, ValueError):
    """The request names something the forwarding plane cannot have (an interface that does
    not exist there, a route of a kind it cannot install)."""


class UnknownVirtualRouter(DataplaneConfigError, KeyError):
    """The forwarding plane has no such virtual router (also a ``KeyError``)."""

    def __init__(self, vr: str) -> None:
        super().__init__(vr, "virtual router", "not in the dataplane")


def as_address(addr: ipaddress.IPv4Address | str | int | bytes) -> ipaddress.IPv4Address:
    """An address object; one already made is kept, not parsed again (the records of a session
    and the forwarding plane then share it)."""
    return addr if type(addr) is ipaddress.IPv4Address else ipaddress.IPv4Address(addr)
