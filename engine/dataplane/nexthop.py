"""Next-hop resolution of one virtual router's routes.

Theory of operation: a route with a next hop and no outgoing interface is *active* when its next
hop lies in one of the VR's connected networks (an interface address's network, a session's
peer /32), and it then goes out of the interface of the longest such network.  Otherwise it is
kept *inactive*: listed (``Route.active`` False) but not used for forwarding, and activated as
soon as a connected network covering its next hop appears.  When a connected network goes, the
routes resolved through it are resolved again (through another network, or made inactive).

The resolver only keeps the books; the forwarding plane installs and removes what it reports.
Costs: ``add``/``remove`` O(1) plus a longest-prefix match; a connected /32 coming up costs
one dict probe, a shorter network a scan of the inactive routes (configured routes, few);
a network going costs the routes resolved through its interface.
"""
from __future__ import annotations

import ipaddress
from bisect import insort
from dataclasses import replace

from engine.compact import compact
from engine.types import Route

_MASKS = tuple(((0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF) if n else 0 for n in range(33))


class _Connected:
    """Connected networks -> interface, longest-prefix match (the oldest network wins a tie)."""

    __slots__ = ("_lengths", "_tables")

    def __init__(self) -> None:
        self._tables: dict[int, dict[int, tuple[str, ...]]] = {}
        self._lengths: list[int] = []                  # longest first

    def add(self, network: ipaddress.IPv4Network, ifname: str) -> None:
        length = network.prefixlen
        table = self._tables.get(length)
        if table is None:
            table = self._tables[length] = {}
            insort(self._lengths, length, key=lambda n: -n)
        key = int(network.network_address)
        table[key] = table.get(key, ()) + (ifname,)      # mostly one: a tuple, not a list

    def remove(self, network: ipaddress.IPv4Network, ifname: str) -> None:
        length = network.prefixlen
        table = self._tables.get(length)
        key = int(network.network_address)
        names = table.get(key) if table is not None else None
        if table is None or not names or ifname not in names:
            return
        i = names.index(ifname)
        names = names[:i] + names[i + 1:]
        if names:
            table[key] = names
        else:
            del table[key]
            if not table:
                del self._tables[length]
                self._lengths.remove(length)
            else:
                compact(table)

    def lookup(self, addr: int) -> str | None:
        for length in self._lengths:
            names = self._tables[length].get(addr & _MASKS[length])
            if names:
                return names[0]
        return None

    def clear(self) -> None:
        self._tables.clear()
        self._lengths.clear()


def needs_resolution(route: Route) -> bool:
    """A route that leaves through whatever interface reaches its next hop."""
    return (route.nexthop is not None and route.ifname is None
            and route.protocol not in ("connected", "dial-out"))


class NextHops:
    """Books of the next-hop routes of one VR (see the module docstring)."""

    __slots__ = ("_active", "_by_if", "_connected", "_inactive", "_inactive_by_nh")

    def __init__(self) -> None:
        self._connected = _Connected()
        self._active: dict[Route, str] = {}                  # route -> interface it uses
        self._by_if: dict[str, dict[Route, None]] = {}
        self._inactive: dict[Route, None] = {}
        self._inactive_by_nh: dict[int, dict[Route, None]] = {}

    # -- queries ---------------------------------------------------------------------------
    def resolve(self, nexthop: ipaddress.IPv4Address) -> str | None:
        """The interface through which ``nexthop`` is reached, or None."""
        return self._connected.lookup(int(nexthop))

    def ifname_of(self, route: Route) -> str | None:
        """The interface an active route uses (None when inactive or unknown)."""
        return self._active.get(route)

    def inactive(self) -> list[Route]:
        """The inactive routes, as shown (``active`` False)."""
        return [replace(r, active=False) for r in self._inactive]

    def __contains__(self, route: Route) -> bool:
        return route in self._active or route in self._inactive

    # -- configured routes -----------------------------------------------------------------
    def add(self, route: Route) -> str | None:
        """Book ``route``; the interface it resolves through, or None (kept inactive)."""
        if route in self._active:
            return self._active[route]
        if route in self._inactive:
            return None
        assert route.nexthop is not None
        ifname = self.resolve(route.nexthop)
        if ifname is None:
            self._park(route)
        else:
            self._activate(route, ifname)
        return ifname

    def remove(self, route: Route) -> str | None:
        """Forget ``route``; the interface it was active through (None when inactive)."""
        ifname = self._active.pop(route, None)
        if ifname is not None:
            self._drop_by_if(route, ifname)
            return ifname
        self._unpark(route)
        return None

    # -- connected networks ----------------------------------------------------------------
    def connected_up(self, ifname: str,
                     network: ipaddress.IPv4Network) -> list[tuple[Route, str]]:
        """A connected network appeared; the inactive routes it activates, with their
        interface."""
        self._connected.add(network, ifname)
        if network.prefixlen == 32:
            candidates = list(self._inactive_by_nh.get(int(network.network_address), ()))
        else:
            candidates = [r for r in self._inactive
                          if r.nexthop is not None and r.nexthop in network]
        out = []
        for route in candidates:
            assert route.nexthop is not None
            via = self.resolve(route.nexthop)
            if via is not None:
                self._unpark(route)
                self._activate(route, via)
                out.append((route, via))
        return out

    def connected_down(self, ifname: str, network: ipaddress.IPv4Network
                       ) -> tuple[list[Route], list[tuple[Route, str]]]:
        """A connected network went; returns the routes made inactive and the routes moved
        to another interface (with it).  Both lists name routes that used ``ifname``."""
        self._connected.remove(network, ifname)
        lost: list[Route] = []
        moved: list[tuple[Route, str]] = []
        for route in list(self._by_if.get(ifname, ())):
            assert route.nexthop is not None
            if route.nexthop not in network:
                continue
            via = self.resolve(route.nexthop)
            if via == ifname:
                continue
            self._active.pop(route)
            self._drop_by_if(route, ifname)
            if via is None:
                self._park(route)
                lost.append(route)
            else:
                self._activate(route, via)
                moved.append((route, via))
        return lost, moved

    def clear(self) -> None:
        self._connected.clear()
        self._active.clear()
        self._by_if.clear()
        self._inactive.clear()
        self._inactive_by_nh.clear()

    # -- internals -------------------------------------------------------------------------
    def _activate(self, route: Route, ifname: str) -> None:
        self._active[route] = ifname
        self._by_if.setdefault(ifname, {})[route] = None

    def _drop_by_if(self, route: Route, ifname: str) -> None:
        routes = self._by_if.get(ifname)
        if routes is not None:
            routes.pop(route, None)
            if not routes:
                del self._by_if[ifname]

    def _park(self, route: Route) -> None:
        assert route.nexthop is not None
        self._inactive[route] = None
        self._inactive_by_nh.setdefault(int(route.nexthop), {})[route] = None

    def _unpark(self, route: Route) -> None:
        if self._inactive.pop(route, False) is None and route.nexthop is not None:
            key = int(route.nexthop)
            routes = self._inactive_by_nh.get(key)
            if routes is not None:
                routes.pop(route, None)
                if not routes:
                    del self._inactive_by_nh[key]
