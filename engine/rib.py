"""Routing table of one virtual router.

Theory of operation:

* Routes (``engine.dataplane.base.Route``) are kept in one dict per prefix length, keyed by the
  network address as an integer; each key holds every route for that prefix (several protocols
  may install the same prefix: a static, an access and a dial-out route can coexist).
* For one prefix the best route is the one with the lowest administrative distance, then the
  lowest metric, then the oldest (insertion order).
* ``lookup(dst)`` is longest-prefix match: the prefix lengths in use are scanned from the
  longest down, masking the destination once per length (at most 33 dict look-ups, whatever the
  number of routes: 64,000 access routes of one length cost a single probe).
* Dial-out rule (dialout.md §6): an access route supersedes the dial-out route *for the
  destinations it covers*.  For an identical prefix the administrative distance already decides
  (access 1 < dial-out 250).  When the longest match is a dial-out route but a shorter access
  route also covers the destination, the access route wins.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable, Iterator

from engine.dataplane.base import Route

_ALL_ONES = 0xFFFFFFFF


def _mask(length: int) -> int:
    return (_ALL_ONES << (32 - length)) & _ALL_ONES if length else 0


_MASKS = tuple(_mask(n) for n in range(33))


def _rank(route: Route) -> tuple[int, int]:
    return (route.admin_distance, route.metric)


class Rib:
    """Routing table of one virtual router (longest-prefix match, then administrative distance)."""

    __slots__ = ("_tables", "_lengths", "_count")

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        # prefix length -> {network int -> [routes, best first]}
        self._tables: dict[int, dict[int, list[Route]]] = {}
        self._lengths: list[int] = []          # prefix lengths in use, longest first
        self._count = 0
        for route in routes:
            self.add(route)

    # -- changes ---------------------------------------------------------------------------
    def add(self, route: Route) -> bool:
        """Add ``route``; returns False when the identical route is already present."""
        net = route.prefix
        length = net.prefixlen
        table = self._tables.get(length)
        if table is None:
            table = self._tables[length] = {}
            self._lengths.append(length)
            self._lengths.sort(reverse=True)
        key = int(net.network_address)
        bucket = table.get(key)
        if bucket is None:
            table[key] = [route]
        else:
            if route in bucket:
                return False
            bucket.append(route)
            bucket.sort(key=_rank)             # stable: equal rank keeps insertion order
        self._count += 1
        return True

    def add_many(self, routes: Iterable[Route]) -> int:
        return sum(1 for r in routes if self.add(r))

    def remove(self, route: Route) -> bool:
        """Remove exactly ``route``; returns False when it was not present."""
        length = route.prefix.prefixlen
        table = self._tables.get(length)
        if table is None:
            return False
        key = int(route.prefix.network_address)
        bucket = table.get(key)
        if not bucket or route not in bucket:
            return False
        bucket.remove(route)
        self._count -= 1
        if not bucket:
            del table[key]
            if not table:
                del self._tables[length]
                self._lengths.remove(length)
        return True

    def remove_where(self, *, ifname: str | None = None,
                     protocol: str | None = None) -> list[Route]:
        """Remove every route matching all the given fields; returns the removed routes."""
        gone = [r for r in self if (ifname is None or r.ifname == ifname)
                and (protocol is None or r.protocol == protocol)]
        for r in gone:
            self.remove(r)
        return gone

    def clear(self) -> None:
        self._tables.clear()
        self._lengths.clear()
        self._count = 0

    # -- queries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Route]:
        for length in sorted(self._tables):
            table = self._tables[length]
            for key in sorted(table):
                yield from table[key]

    def routes(self) -> list[Route]:
        """Every route, ordered by prefix length then address (best route of a prefix first)."""
        return list(self)

    def routes_for(self, prefix: ipaddress.IPv4Network) -> list[Route]:
        table = self._tables.get(prefix.prefixlen)
        if table is None:
            return []
        return list(table.get(int(prefix.network_address), ()))

    def lookup(self, dst: ipaddress.IPv4Address | str | int) -> Route | None:
        """Best route for ``dst`` or None."""
        addr = dst if isinstance(dst, int) else int(ipaddress.IPv4Address(dst))
        best: Route | None = None
        for length in self._lengths:
            bucket = self._tables[length].get(addr & _MASKS[length])
            if not bucket:
                continue
            if best is None:
                best = bucket[0]
                if best.protocol != "dial-out":
                    return best
                continue
            # The longest match is a dial-out route: a covering access route supersedes it.
            for route in bucket:
                if route.protocol == "access":
                    return route
        return best

    def lookup_all(self, dst: ipaddress.IPv4Address | str) -> list[Route]:
        """Every route covering ``dst``, longest prefix first (for diagnostics)."""
        addr = int(ipaddress.IPv4Address(dst))
        out: list[Route] = []
        for length in self._lengths:
            out.extend(self._tables[length].get(addr & _MASKS[length], ()))
        return out
