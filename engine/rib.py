"""Routing table of one virtual router.

Theory of operation:

* Routes (``engine.types.Route``) are kept in one dict per prefix length, keyed by the
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
* Two indexes make every change cheap, whatever the size of the table: the routes of each
  outgoing interface (``remove_interface`` costs the number of routes through that interface,
  not the size of the table), and an ordered set of the prefixes present
  (``engine.sortedkeys.SortedKeys``, key ``network << 6 | length``: address order, then
  length).  Adding or removing a route is O(log n) amortised; nothing is ever re-sorted.
* ``iter_routes(start)`` streams the table in prefix order lazily, and may be resumed from any
  prefix; it tolerates changes to the table between the routes it yields.
"""
from __future__ import annotations

import ipaddress
from bisect import insort
from collections.abc import Iterable, Iterator

from engine.compact import compact
from engine.sortedkeys import SortedKeys
from engine.types import Route

_ALL_ONES = 0xFFFFFFFF


def _mask(length: int) -> int:
    return (_ALL_ONES << (32 - length)) & _ALL_ONES if length else 0


_MASKS = tuple(_mask(n) for n in range(33))


def _rank(route: Route) -> tuple[int, int]:
    return (route.admin_distance, route.metric)


def prefix_key(prefix: ipaddress.IPv4Network) -> int:
    """Order key of a prefix: by network address, then prefix length."""
    return (int(prefix.network_address) << 6) | prefix.prefixlen


SMALL = 8        # routes of one interface kept in a list; beyond, in a dict (O(1) removal)


class Rib:
    """Routing table of one virtual router (longest-prefix match, then administrative distance)."""

    __slots__ = ("_by_ifname", "_count", "_lengths", "_order", "_tables")

    def __init__(self, routes: Iterable[Route] = ()) -> None:
        # prefix length -> {network int -> [routes, best first]}
        self._tables: dict[int, dict[int, list[Route]]] = {}
        self._lengths: list[int] = []          # prefix lengths in use, longest first
        self._count = 0
        # ifname -> its routes: a list while short (most interfaces are one session's, with
        # a route or two), a dict once it has more than SMALL (a port with many routes)
        self._by_ifname: dict[str, list[Route] | dict[Route, None]] = {}
        self._order = SortedKeys()             # prefix_key of every prefix present
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
            insort(self._lengths, length, key=lambda n: -n)
        key = int(net.network_address)
        bucket = table.get(key)
        if bucket is None:
            table[key] = [route]
            self._order.add((key << 6) | length)
        else:
            if route in bucket:
                return False
            insort(bucket, route, key=_rank)   # after equal ranks: insertion order kept
        if route.ifname is not None:
            by_if = self._by_ifname.get(route.ifname)
            if by_if is None:
                self._by_ifname[route.ifname] = [route]
            elif isinstance(by_if, list):
                by_if.append(route)
                if len(by_if) > SMALL:
                    self._by_ifname[route.ifname] = dict.fromkeys(by_if)
            else:
                by_if[route] = None
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
        if route.ifname is not None:
            by_if = self._by_ifname.get(route.ifname)
            if by_if is not None:
                if isinstance(by_if, list):
                    if route in by_if:
                        by_if.remove(route)
                else:
                    by_if.pop(route, None)
                if not by_if:
                    del self._by_ifname[route.ifname]
                    compact(self._by_ifname)
                elif isinstance(by_if, dict):
                    compact(by_if)
        if not bucket:
            del table[key]
            self._order.discard((key << 6) | length)
            if not table:
                del self._tables[length]
                self._lengths.remove(length)
            else:
                compact(table)
        return True

    def remove_interface(self, ifname: str) -> list[Route]:
        """Remove every route through ``ifname`` (as the kernel does when an interface goes);
        costs the number of such routes."""
        gone = list(self._by_ifname.get(ifname, ()))
        for r in gone:
            self.remove(r)
        return gone

    def remove_where(self, *, ifname: str | None = None,
                     protocol: str | None = None) -> list[Route]:
        """Remove every route matching all the given fields; returns the removed routes.
        With ``ifname`` only the routes through that interface are visited."""
        candidates: Iterable[Route] = (list(self._by_ifname.get(ifname, ()))
                                       if ifname is not None else list(self))
        gone = [r for r in candidates if protocol is None or r.protocol == protocol]
        for r in gone:
            self.remove(r)
        return gone

    def clear(self) -> None:
        self._tables.clear()
        self._lengths.clear()
        self._by_ifname.clear()
        self._order.clear()
        self._count = 0

    # -- queries ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Route]:
        return self.iter_routes()

    def iter_routes(self, start: ipaddress.IPv4Network | None = None, *,
                    after: bool = False) -> Iterator[Route]:
        """Routes in prefix order (network address, then length; the best route of a prefix
        first), lazily, from ``start`` (included unless ``after``).  Resume a stream with the
        last prefix seen and ``after=True``."""
        first = None if start is None else prefix_key(start)
        tables = self._tables
        for k in self._order.iter_from(first, inclusive=not after):
            table = tables.get(k & 0x3F)
            bucket = table.get(k >> 6) if table is not None else None
            if bucket:
                yield from tuple(bucket)

    def routes(self) -> list[Route]:
        """Every route in prefix order (see ``iter_routes``)."""
        return list(self.iter_routes())

    def interfaces(self) -> list[str]:
        """Outgoing interfaces with at least one route."""
        return list(self._by_ifname)

    def routes_via(self, ifname: str) -> list[Route]:
        return list(self._by_ifname.get(ifname, ()))

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
