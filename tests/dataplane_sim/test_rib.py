"""Rib: longest-prefix match, administrative distance, access supersedes dial-out."""
from __future__ import annotations

import ipaddress

from engine.dataplane.base import Route
from engine.rib import Rib
from tests.present import present

N = ipaddress.IPv4Network


def r(prefix, proto, ifname=None, **kw):
    return Route(N(prefix), proto, ifname=ifname, **kw)


def test_longest_prefix_match():
    rib = Rib([r("0.0.0.0/0", "static", "null0"), r("10.0.0.0/8", "static", "a"),
               r("10.1.0.0/16", "static", "b"), r("10.1.2.3/32", "static", "c")])
    assert present(rib.lookup("10.1.2.3")).ifname == "c"
    assert present(rib.lookup("10.1.2.4")).ifname == "b"
    assert present(rib.lookup("10.2.0.1")).ifname == "a"
    assert present(rib.lookup("11.0.0.1")).ifname == "null0"
    assert Rib().lookup("1.2.3.4") is None
    assert Rib([r("10.0.0.0/8", "static")]).lookup("11.0.0.0") is None


def test_admin_distance_for_same_prefix_and_explicit_distance():
    rib = Rib([r("10.0.0.0/24", "static", "s"), r("10.0.0.0/24", "connected", "c")])
    assert present(rib.lookup("10.0.0.9")).protocol == "connected"
    rib2 = Rib([r("10.0.0.0/24", "static", "s", distance=5),
                r("10.0.0.0/24", "static", "t", distance=3)])
    assert present(rib2.lookup("10.0.0.9")).ifname == "t"
    rib3 = Rib([r("10.0.0.0/24", "static", "s", metric=5), r("10.0.0.0/24", "static", "t")])
    assert present(rib3.lookup("10.0.0.9")).ifname == "t"


def test_access_supersedes_dial_out_identical_prefix():
    dial = r("10.10.0.0/16", "dial-out")
    access = r("10.10.0.0/16", "access", "dialout1")
    rib = Rib([dial, access])
    assert rib.lookup("10.10.3.3") == access
    rib.remove(access)
    assert rib.lookup("10.10.3.3") == dial


def test_access_supersedes_dial_out_for_covered_destinations_only():
    dial = r("10.10.0.0/16", "dial-out")
    narrow = r("10.10.1.0/24", "access", "dialout1")
    rib = Rib([dial, narrow])
    assert rib.lookup("10.10.1.7") == narrow
    assert rib.lookup("10.10.2.7") == dial
    # A shorter access route covering a more specific dial-out target also wins.
    wide = r("10.0.0.0/8", "access", "dialout2")
    rib2 = Rib([dial, wide])
    assert rib2.lookup("10.10.9.9") == wide
    # ...but a shorter static route does not.
    rib3 = Rib([dial, r("10.0.0.0/8", "static", "x")])
    assert rib3.lookup("10.10.9.9") == dial


def test_add_remove_idempotence_and_listing():
    rib = Rib()
    a = r("10.0.0.0/8", "static", "a")
    assert rib.add(a) and not rib.add(a)
    assert len(rib) == 1
    assert rib.remove(a) and not rib.remove(a)
    assert len(rib) == 0 and rib.lookup("10.0.0.1") is None
    rib.add_many([r("10.0.0.0/8", "static", "a"), r("10.0.0.0/8", "access", "b"),
                  r("9.0.0.0/8", "static", "c")])
    assert [x.ifname for x in rib.routes()] == ["c", "a", "b"]
    assert len(rib.routes_for(N("10.0.0.0/8"))) == 2
    assert [x.ifname for x in rib.remove_where(ifname="a")] == ["a"]
    assert [x.ifname for x in rib.lookup_all("10.1.1.1")] == ["b"]
    rib.clear()
    assert len(rib) == 0


def test_64000_access_routes():
    rib = Rib([r("10.0.0.0/8", "dial-out")])
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    routes = [Route(N((base + i, 32)), "access", ifname=f"dialout{i}") for i in range(64000)]
    rib.add_many(routes)
    assert len(rib) == 64001
    for i in range(0, 64000, 997):
        assert present(rib.lookup(ipaddress.IPv4Address(base + i))).ifname == f"dialout{i}"
    assert present(rib.lookup(ipaddress.IPv4Address(base + 64000))).protocol == "dial-out"
    for route in routes[:32000]:
        rib.remove(route)
    assert present(rib.lookup(ipaddress.IPv4Address(base + 5))).protocol == "dial-out"
    assert present(rib.lookup(ipaddress.IPv4Address(base + 40000))).protocol == "access"


def test_routes_of_an_interface_small_and_many():
    """A session interface's route or two are kept in a short list; a port with many routes
    goes over to a dict, and both kinds answer, remove and go away alike."""
    from engine.rib import SMALL
    rib = Rib()
    rib.add(r("10.9.0.1/32", "connected", "ppp1"))
    rib.add(r("10.9.0.1/32", "access", "ppp1"))
    assert isinstance(rib._by_ifname["ppp1"], list)            # 2 routes: no dict (232 B)
    many = [r(f"10.8.{i // 250}.{i % 250}/32", "static", "gi1/0") for i in range(SMALL * 4)]
    for x in many:
        rib.add(x)
    assert isinstance(rib._by_ifname["gi1/0"], dict)
    assert rib.routes_via("gi1/0") == many
    for x in many[::2]:
        assert rib.remove(x)
    assert rib.routes_via("gi1/0") == many[1::2]
    assert not rib.remove(many[0])
    assert rib.remove(r("10.9.0.1/32", "access", "ppp1"))
    assert rib.routes_via("ppp1") == [r("10.9.0.1/32", "connected", "ppp1")]
    assert rib.remove_interface("ppp1") == [r("10.9.0.1/32", "connected", "ppp1")]
    assert sorted(rib.remove_interface("gi1/0"), key=str) == sorted(many[1::2], key=str)
    assert len(rib) == 0 and rib.interfaces() == []
