"""Ports of the simulated dataplane: an in-process link whose network is connected while the
port has an address and is up."""
from __future__ import annotations

import ipaddress

from engine.dataplane.sim import SimDataplane
from engine.types import Route
from tests.present import present

NET = ipaddress.IPv4Network("10.9.0.0/16")
NH = ipaddress.IPv4Address("10.5.0.2")
ADDR = ipaddress.IPv4Interface("10.5.0.1/24")


def _route(dp: SimDataplane) -> Route:
    return next(r for r in dp.routes("home") if r.prefix == NET)


def _packet(dst: str) -> bytes:
    hdr = bytearray(20)
    hdr[0], hdr[8], hdr[9] = 0x45, 64, 17
    hdr[2:4] = (20).to_bytes(2, "big")
    hdr[12:16] = ipaddress.IPv4Address("10.5.0.1").packed
    hdr[16:20] = ipaddress.IPv4Address(dst).packed
    return bytes(hdr)


def test_next_hop_through_a_port_follows_its_state() -> None:
    dp = SimDataplane()
    dp.add_vr("home")
    dp.add_route("home", Route(NET, "static", nexthop=NH))
    assert _route(dp).active is False
    dp.set_port("home", "gigabitEthernet1/0", "veth-a", ADDR, False)    # shut down
    assert _route(dp).active is False
    dp.set_port("home", "gigabitEthernet1/0", "veth-a", ADDR, True)     # no shutdown
    r = _route(dp)
    assert r.active and r.ifname == "gigabitEthernet1/0"
    dp.send_from_vr("home", _packet("10.9.1.1"))
    assert dp.vr_counters("home")["to_port"] == 1
    assert dp.port_status("home")[0]["counters"]["tx_packets"] == 1
    assert present(dp.lookup("home", ipaddress.IPv4Address("10.5.0.7"))).ifname == "gigabitEthernet1/0"
    dp.remove_port("gigabitEthernet1/0")
    assert _route(dp).active is False
    assert dp.port_status("home") == []


def test_port_moves_between_virtual_routers() -> None:
    dp = SimDataplane()
    dp.add_vr("home")
    dp.add_vr("default")
    dp.set_port("home", "gigabitEthernet1/0", "veth-a", ADDR, True)
    dp.set_port("default", "gigabitEthernet1/0", "veth-a", ADDR, True)
    assert dp.port_status("home") == []
    assert [p["vr"] for p in dp.port_status("default")] == ["default"]
    assert dp.lookup("home", ipaddress.IPv4Address("10.5.0.7")) is None
