"""The service driven through the in-process dataplane, as the integration layer will do it."""
from __future__ import annotations

import ipaddress
import struct

from engine.dataplane.sim import SimDataplane, ipv4_checksum, parse_ipv4_destination
from engine.dialout import (
    AuthorizeRequest,
    DialoutConfig,
    DialoutService,
    ForwardPackets,
    InstallRoutes,
    PlaceCall,
    RemoveRoutes,
    SessionState,
    StartPpp,
)
from tests.present import present

from .helpers import grant, vr_config

A = ipaddress.IPv4Address
S = SessionState


def ipv4(dst, src="192.168.0.1", payload=b"ping"):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 1, 0,
                      A(src).packed, A(dst).packed)
    return hdr[:10] + ipv4_checksum(hdr).to_bytes(2, "big") + hdr[12:] + payload


class Glue:
    def __init__(self):
        self.now = 0.0
        self.svc = DialoutService(DialoutConfig(vrs=(vr_config(),)), now=self.now)
        self.dp = SimDataplane()
        self.dp.add_vr("home")
        self.dp.set_address("home", "loopback0", ipaddress.IPv4Interface("192.168.0.1/32"))
        self.wire: list[tuple[str, bytes]] = []      # packets sent over PPP links
        self.other: list = []
        self.dp.on_trigger = lambda vr, p: self.svc.on_trigger(
            vr, present(parse_ipv4_destination(p)), p, now=self.now)
        self.dp.on_session_packet = lambda vr, ifn, p: self.wire.append((ifn, p))
        self.pump()

    def pump(self):
        while (r := self.svc.next_request()) is not None:
            if isinstance(r, InstallRoutes):
                if r.ifname is not None and r.peer_ip is not None:
                    self.dp.add_session_interface(r.vr, r.ifname, present(r.local_ip), r.peer_ip)
                self.dp.add_routes(r.vr, list(r.routes))
            elif isinstance(r, RemoveRoutes):
                for route in r.routes:
                    self.dp.remove_route(r.vr, route)
                if r.ifname is not None:
                    self.dp.remove_session_interface(r.vr, r.ifname)
            elif isinstance(r, ForwardPackets):
                self.wire.extend((present(r.ifname), p) for p in r.packets)
            else:
                self.other.append(r)

    def send(self, dst):
        self.dp.send_from_vr("home", ipv4(dst))
        self.pump()

    def take(self, cls):
        got = [r for r in self.other if isinstance(r, cls)]
        self.other = [r for r in self.other if not isinstance(r, cls)]
        return got


def test_trigger_to_traffic_and_back():
    g = Glue()
    g.send("10.10.1.1")
    g.send("10.10.1.1")
    (auth,) = g.take(AuthorizeRequest)
    g.svc.on_auth_result(auth.session_key, grant(), now=g.now)
    g.pump()
    (call,) = g.take(PlaceCall)
    g.svc.on_call_result(call.call_id, True, now=g.now)
    g.pump()
    (ppp,) = g.take(StartPpp)
    g.svc.on_ppp_up(auth.session_key, ("10.10.1.0/24",), "10.10.1.1", now=g.now,
                    local_ip="192.168.0.1")
    g.pump()
    # Both buffered triggers went over the new link, in order.
    assert [ifn for ifn, _ in g.wire] == [ppp.ifname, ppp.ifname]
    # Traffic inside the access route now goes straight to the session, not to dial-out.
    g.wire.clear()
    g.send("10.10.1.200")
    assert g.wire == [(ppp.ifname, ipv4("10.10.1.200"))]
    assert g.svc.session_state("home", "10.10.1.200") is None
    # Outside the access route, still in the target: another session.
    g.send("10.10.2.1")
    assert g.svc.session_state("home", "10.10.2.1") is S.AUTHENTICATING
    # Call ends: the access route goes away, the dial-out route catches triggers again.
    g.svc.on_call_down(auth.session_key, "CDN", now=g.now)
    g.pump()
    assert present(g.dp.lookup("home", A("10.10.1.200"))).protocol == "dial-out"
    g.send("10.10.1.1")
    assert g.svc.session_state("home", "10.10.1.1") is S.AUTHENTICATING
