"""Sim dataplane: interface removal cost, ordered streaming, next-hop routes, MTU."""
from __future__ import annotations

import ipaddress
import random

import pytest

from engine.dataplane.sim import SimDataplane
from engine.rib import Rib
from engine.sortedkeys import SortedKeys
from engine.types import DataplaneConfigError, DataplaneError, Route
from tests.present import present

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address
Ifc = ipaddress.IPv4Interface


class CountingName(str):
    """An interface name that counts how often it is compared."""

    compares = 0

    def __eq__(self, other: object) -> bool:
        CountingName.compares += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_interface_removal_touches_only_that_interfaces_routes():
    """Tearing down N sessions costs O(N) route comparisons, not O(N^2)."""
    n = 1000
    dp = SimDataplane()
    dp.add_vr("home")
    dp.add_route("home", Route(N("10.0.0.0/8"), "dial-out"))
    names = [CountingName(f"dialout{i}") for i in range(n)]
    base = int(A("10.10.0.0"))
    for i, name in enumerate(names):
        dp.add_session_interface("home", name, A("10.255.0.1"), A(base + i))
        dp.add_route("home", Route(N((base + i, 32)), "access", ifname=name))
    CountingName.compares = 0
    for name in names:
        dp.remove_session_interface("home", name)
    assert CountingName.compares <= 10 * n
    assert [r.protocol for r in dp.routes("home")] == ["dial-out"]


def test_sorted_keys_against_a_sorted_list():
    rng = random.Random(7)
    keys = SortedKeys()
    ref: set[int] = set()
    for _ in range(20_000):
        k = rng.randrange(5000)
        if rng.random() < 0.6:
            assert keys.add(k) == (k not in ref)
            ref.add(k)
        else:
            assert keys.discard(k) == (k in ref)
            ref.discard(k)
    assert list(keys) == sorted(ref) and len(keys) == len(ref)
    assert all((k in keys) == (k in ref) for k in range(5000))
    assert list(keys.iter_from(2500)) == [k for k in sorted(ref) if k >= 2500]
    assert list(keys.iter_from(2500, inclusive=False)) == [k for k in sorted(ref) if k > 2500]


def test_rib_streams_in_prefix_order_and_survives_changes():
    rib = Rib()
    prefixes = [N((0x0A000000 + (i << 8), 24)) for i in range(3000)]
    shuffled = prefixes[:]
    random.Random(1).shuffle(shuffled)
    for p in shuffled:
        rib.add(Route(p, "access", ifname="x"))
    rib.add(Route(N("10.0.0.0/8"), "dial-out"))
    stream = rib.iter_routes()
    first = [next(stream) for _ in range(3)]
    assert [str(r.prefix) for r in first] == ["10.0.0.0/8", "10.0.0.0/24", "10.0.1.0/24"]
    # changes while the stream is open: a removed route is not shown, the stream goes on
    rib.remove(Route(prefixes[3], "access", ifname="x"))
    rest = list(stream)
    assert [r.prefix for r in rest] == prefixes[2:3] + prefixes[4:]
    # resume after a prefix
    assert next(rib.iter_routes(prefixes[10], after=True)).prefix == prefixes[11]
    assert next(rib.iter_routes(prefixes[10])).prefix == prefixes[10]


def test_next_hop_route_inactive_until_connected_then_active_and_back():
    dp = SimDataplane()
    dp.add_vr("home")
    route = Route(N("10.9.0.0/16"), "static", nexthop=A("10.1.1.2"))
    dp.add_route("home", route)                      # no connected network: kept, inactive
    shown = [r for r in dp.routes("home") if r.prefix == route.prefix]
    assert shown == [route] and not shown[0].active
    assert dp.lookup("home", A("10.9.1.1")) is None
    dp.set_address("home", "loopback0", Ifc("10.1.1.1/24"))
    active = dp.lookup("home", A("10.9.1.1"))
    assert active is not None and active.active and active.ifname == "loopback0"
    # a session /32 that covers the next hop more specifically takes it over when it goes
    dp.add_session_interface("home", "ppp1", A("10.255.0.1"), A("10.3.3.3"))
    other = Route(N("10.8.0.0/16"), "static", nexthop=A("10.3.3.3"))
    dp.add_route("home", other)
    assert present(dp.lookup("home", A("10.8.0.1"))).ifname == "ppp1"
    dp.remove_session_interface("home", "ppp1")
    assert dp.lookup("home", A("10.8.0.1")) is None
    assert not [r for r in dp.routes("home") if r.prefix == other.prefix][0].active
    dp.add_session_interface("home", "ppp1", A("10.255.0.1"), A("10.3.3.3"))
    assert present(dp.lookup("home", A("10.8.0.1"))).ifname == "ppp1"
    dp.set_address("home", "loopback0", None)
    assert dp.lookup("home", A("10.9.1.1")) is None
    dp.remove_route("home", route)
    dp.remove_route("home", other)
    assert not [r for r in dp.routes("home") if r.prefix in (route.prefix, other.prefix)]


def test_packets_follow_a_resolved_next_hop_route():
    dp = SimDataplane()
    dp.add_vr("v")
    got: list[tuple[str, str]] = []
    dp.on_session_packet = lambda vr, ifname, pkt: got.append((vr, ifname))
    dp.add_route("v", Route(N("192.0.2.0/24"), "static", nexthop=A("10.3.3.3")))
    pkt = bytes([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0]) + A("10.0.0.1").packed \
        + A("192.0.2.9").packed
    dp.send_from_vr("v", pkt)
    assert got == [] and dp.vr_counters("v")["no_route"] == 1
    dp.add_session_interface("v", "ppp3", A("10.0.0.1"), A("10.3.3.3"))
    dp.send_from_vr("v", pkt)
    assert got == [("v", "ppp3")]


def test_session_mtu_is_stored_and_honoured():
    dp = SimDataplane()
    dp.add_vr("v")
    got: list[int] = []
    dp.on_session_packet = lambda vr, ifname, pkt: got.append(len(pkt))
    dp.add_session_interface("v", "ppp1", A("10.0.0.1"), A("10.0.0.2"))
    assert dp.mtu("v", "ppp1") == 1500
    dp.set_mtu("v", "ppp1", 1400)
    assert dp.mtu("v", "ppp1") == 1400

    def packet(size: int) -> bytes:
        return (bytes([0x45, 0, size >> 8, size & 0xFF, 0, 0, 0, 0, 64, 17, 0, 0])
                + A("10.0.0.1").packed + A("10.0.0.2").packed + bytes(size - 20))
    dp.send_from_vr("v", packet(1400))
    dp.send_from_vr("v", packet(1401))
    assert got == [1400] and dp.vr_counters("v")["too_big"] == 1
    with pytest.raises(DataplaneConfigError) as info:
        dp.set_mtu("v", "ppp1", 67)
    assert str(info.value) == "virtual-router v: ppp1: MTU 67 out of range 68-65535"
    with pytest.raises(DataplaneError) as info2:
        dp.set_mtu("v", "ppp9", 1400)
    assert "\n" not in str(info2.value) and "ppp9" in str(info2.value)
    dp.remove_session_interface("v", "ppp1")
    dp.add_session_interface("v", "ppp1", A("10.0.0.1"), A("10.0.0.2"))
    assert dp.mtu("v", "ppp1") == 1500


def test_unknown_vr_is_one_line_and_still_a_key_error():
    dp = SimDataplane()
    with pytest.raises(KeyError) as info:
        dp.routes("nowhere")
    assert isinstance(info.value, DataplaneError)
    assert str(info.value) == "virtual-router nowhere: virtual router: not in the dataplane"
