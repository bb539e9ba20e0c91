"""SimDataplane forwarding decisions."""
from __future__ import annotations

import ipaddress
import struct
from typing import Any

import pytest

from engine.dataplane.base import Dataplane, Route
from engine.dataplane.sim import SimDataplane, decrement_ttl, ipv4_checksum, parse_ipv4_destination
from tests.present import present

A = ipaddress.IPv4Address
N = ipaddress.IPv4Network


def ipv4(src, dst, ttl=64, payload=b"hello"):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, ttl, 1, 0,
                      A(src).packed, A(dst).packed)
    hdr = hdr[:10] + ipv4_checksum(hdr).to_bytes(2, "big") + hdr[12:]
    return hdr + payload


class RecordingSim(SimDataplane):
    """The simulator with every packet it hands up recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []   # (kind, vr, [ifname,] packet)


@pytest.fixture
def dp():
    d = RecordingSim()
    d.on_trigger = lambda vr, p: d.events.append(("trigger", vr, p))
    d.on_session_packet = lambda vr, ifn, p: d.events.append(("session", vr, ifn, p))
    d.on_local_packet = lambda vr, p: d.events.append(("local", vr, p))
    d.add_vr("home")
    d.set_address("home", "loopback0", ipaddress.IPv4Interface("192.168.0.1/32"))
    d.add_route("home", Route(N("10.10.0.0/16"), "dial-out"))
    d.add_route("home", Route(N("172.16.0.0/12"), "static", ifname="null0"))
    yield d
    d.close()


def test_protocol_conformance(dp):
    assert isinstance(dp.name, str)
    needed = [n for n in dir(Dataplane) if not n.startswith("_")]
    assert all(hasattr(dp, n) for n in needed)


def test_header_helpers():
    p = ipv4("1.1.1.1", "2.2.2.2", ttl=2)
    assert parse_ipv4_destination(p) == A("2.2.2.2")
    assert ipv4_checksum(p[:20]) == 0
    q = present(decrement_ttl(p))
    assert q[8] == 1 and ipv4_checksum(q[:20]) == 0 and q[20:] == b"hello"
    assert decrement_ttl(q) is None
    assert parse_ipv4_destination(b"\x60" + bytes(39)) is None
    assert parse_ipv4_destination(b"\x45abc") is None
    assert parse_ipv4_destination(b"\x44" + bytes(19)) is None


def test_send_from_vr_decisions(dp):
    local = ipv4("192.168.0.1", "192.168.0.1")
    trig = ipv4("192.168.0.1", "10.10.1.1")
    dp.send_from_vr("home", local)
    dp.send_from_vr("home", trig)
    dp.send_from_vr("home", ipv4("192.168.0.1", "172.16.0.1"))   # null0
    dp.send_from_vr("home", ipv4("192.168.0.1", "8.8.8.8"))      # no route
    dp.send_from_vr("home", b"\x00\x01")                         # malformed
    dp.send_from_vr("nope", trig)                                # unknown VR
    assert dp.events == [("local", "home", local), ("trigger", "home", trig)]
    c = dp.vr_counters("home")
    assert (c["local"], c["trigger"], c["null_route"], c["no_route"], c["malformed"]) == (
        1, 1, 1, 1, 1)
    assert dp.counters["unknown_vr"] == 1


def test_access_route_supersedes_and_session_forwarding(dp):
    dp.add_session_interface("home", "dialout1", A("192.168.0.1"), A("10.10.1.1"))
    dp.add_routes("home", [Route(N("10.10.1.0/24"), "access", ifname="dialout1")])
    p1 = ipv4("192.168.0.1", "10.10.1.77")
    p2 = ipv4("192.168.0.1", "10.10.2.1")
    dp.send_from_vr("home", p1)
    dp.send_from_vr("home", p2)
    assert dp.events == [("session", "home", "dialout1", p1), ("trigger", "home", p2)]
    assert dp.lookup("home", A("10.10.1.77")).protocol == "access"
    # Removing the interface removes its routes: the dial-out route catches triggers again.
    dp.remove_session_interface("home", "dialout1")
    assert dp.lookup("home", A("10.10.1.77")).protocol == "dial-out"
    assert all(r.ifname != "dialout1" for r in dp.routes("home"))


def test_deliver_local_forward_and_ttl(dp):
    dp.add_session_interface("home", "dialout1", A("192.168.0.1"), A("10.10.1.1"))
    dp.add_session_interface("home", "dialout2", A("192.168.0.1"), A("10.20.0.1"))
    dp.add_route("home", Route(N("10.20.0.0/16"), "access", ifname="dialout2"))
    to_me = ipv4("10.10.1.1", "192.168.0.1", ttl=1)
    dp.deliver("home", "dialout1", to_me)
    through = ipv4("10.10.1.1", "10.20.5.5", ttl=10)
    dp.deliver("home", "dialout1", through)
    dp.deliver("home", "dialout1", ipv4("10.10.1.1", "10.20.5.5", ttl=1))
    assert dp.events[0] == ("local", "home", to_me)              # local delivery keeps TTL
    kind, vr, ifn, fwd = dp.events[1]
    assert (kind, ifn) == ("session", "dialout2")
    assert fwd[8] == 9 and ipv4_checksum(fwd[:20]) == 0
    assert len(dp.events) == 2
    assert dp.vr_counters("home")["ttl_exceeded"] == 1
    # A delivered packet to a dial-out destination is a trigger too.
    dp.deliver("home", "dialout2", ipv4("10.20.5.5", "10.10.9.9"))
    assert dp.events[-1][0] == "trigger"


def test_addresses_and_connected_routes(dp):
    dp.set_address("home", "eth0", ipaddress.IPv4Interface("10.0.0.1/24"))
    assert dp.lookup("home", A("10.0.0.7")) == Route(N("10.0.0.0/24"), "connected",
                                                        ifname="eth0")
    assert dp.is_local("home", A("10.0.0.1"))
    dp.send_from_vr("home", ipv4("10.0.0.1", "10.0.0.7"))
    assert dp.vr_counters("home")["no_neighbor"] == 1
    dp.set_address("home", "eth0", None)
    assert dp.lookup("home", A("10.0.0.7")) is None
    assert not dp.is_local("home", A("10.0.0.1"))
    dp.remove_route("home", Route(N("10.10.0.0/16"), "dial-out"))
    assert dp.lookup("home", A("10.10.0.1")) is None
    dp.remove_vr("home")
    assert dp.vrs() == []
    with pytest.raises(KeyError):
        dp.routes("home")
