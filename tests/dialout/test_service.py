"""DialoutService: request flow, levels, counters, buffering, route check, snapshots."""
from __future__ import annotations

import ipaddress

import pytest

from engine.dataplane.base import Route
from engine.dialout import (
    AuthorizeRequest,
    CallParams,
    ChassisConfig,
    ChassisState,
    CloseTunnel,
    ConfigError,
    DialoutConfig,
    DialoutService,
    ForwardPackets,
    Grant,
    InstallRoutes,
    OpenTunnel,
    PlaceCall,
    RemoveRoutes,
    SessionState,
    StartPpp,
    TargetConfig,
    TargetState,
    TearDown,
    TunnelDef,
    VrState,
    access_routes_from,
)

from .helpers import CALL, DOMAIN, LAC_A, NET, Harness, grant, vr_config

S = SessionState
DST = "10.10.1.1"
IP = ipaddress.IPv4Address


def test_initial_config_installs_dial_out_routes():
    h = Harness()
    assert h.initial == [InstallRoutes("home", (Route(NET, "dial-out"),), None)]
    snap = h.svc.snapshot(now=h.now)
    assert snap.chassis.state is ChassisState.IN_SERVICE
    assert [(v.name, v.state) for v in snap.vrs] == [("home", VrState.IN_SERVICE)]
    assert [(t.prefix, t.domain, t.profile, t.state) for t in snap.targets] == [
        (NET, DOMAIN, "dialprof", TargetState.IN_SERVICE)]


def test_full_success_flow_requests():
    h = Harness()
    h.trigger(DST, b"p1")
    h.trigger(DST, b"p2")
    reqs = h.reqs()
    assert reqs == [AuthorizeRequest(1, h.key(DST), "home", f"10.10.1.1@{DOMAIN}", DOMAIN,
                                     "dialprof")]
    h.auth(DST, grant(LAC_A))
    h.trigger(DST, b"p3")
    reqs = h.reqs()
    assert reqs == [OpenTunnel(1, "home", LAC_A),
                    PlaceCall(1, h.key(DST), 1, LAC_A, CALL)]
    h.svc.on_tunnel_result(1, True, now=h.now, tunnel_id=11)
    h.svc.on_call_result(1, True, now=h.now, tunnel_id=11, session_id=22)
    assert h.reqs() == [StartPpp(1, h.key(DST), "ppp1", "dialprof", "lns", "pw", 2)]
    h.svc.on_ppp_up(h.key(DST), (), "10.10.1.1", now=h.now, local_ip="192.168.0.1")
    reqs = h.reqs()
    access = Route(ipaddress.IPv4Network("10.10.1.1/32"), "access", ifname="ppp1")
    assert reqs == [
        InstallRoutes("home", (access,), "ppp1", h.key(DST), IP("192.168.0.1"),
                      IP("10.10.1.1")),
        ForwardPackets("home", "ppp1", (b"p1", b"p2", b"p3"), h.key(DST)),
    ]
    snap = h.snap(DST)
    assert snap.state is S.IN_SERVICE
    assert (snap.tunnel_id, snap.session_id, snap.ifname) == (11, 22, "ppp1")
    assert snap.access_routes == (ipaddress.IPv4Network("10.10.1.1/32"),)
    assert snap.triggers_forwarded == 3 and snap.triggers_buffered == 0
    # a session holding no trigger holds no buffer of its own (64,000 of them idle)
    assert h.svc._sessions[h.key(DST)].buffer == ()
    c = h.svc.snapshot(now=h.now).chassis.counters
    assert (c.sessions_created, c.triggers_received, c.triggers_enqueued,
            c.triggers_forwarded, c.auth_requests, c.auth_grants, c.dialouts_requested,
            c.dialouts_established) == (1, 3, 3, 3, 1, 1, 1, 1)
    # A trigger racing the route installation is forwarded directly.
    h.trigger(DST, b"p4")
    assert h.reqs() == [ForwardPackets("home", "ppp1", (b"p4",), h.key(DST))]
    # Call ends -> routes removed, tunnel closed, dormant.
    h.svc.on_call_down(h.key(DST), "CDN", now=h.now)
    reqs = h.reqs()
    assert reqs == [RemoveRoutes("home", (access,), "ppp1", h.key(DST)),
                    CloseTunnel(1, "no sessions")]
    assert h.state(DST) is S.DORMANT
    assert h.snap(DST).counters.dialouts_torn_down == 1


def test_user_name_with_route_distinguisher():
    h = Harness(vrs=(vr_config(rd="0.0.0.0:65000"),))
    h.trigger(DST)
    (req,) = h.reqs()
    assert req.user_name == "0.0.0.0:65000/10.10.1.1@L2TP-dial-out.de.dt"


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_trigger_buffer_limit(limit):
    h = Harness(vrs=(vr_config(buffer=limit),))
    for i in range(5):
        h.trigger(DST, bytes([i]))
    h.auth(DST, grant())
    h.trigger(DST, b"x")
    snap = h.snap(DST)
    assert snap.triggers_buffered == min(limit, 6)
    assert snap.counters.triggers_enqueued == min(limit, 6)
    assert snap.counters.triggers_discarded == 6 - min(limit, 6)
    h.reqs()
    h.call_ok(DST)
    h.ppp_up(DST)
    fwd = h.of(h.reqs(), ForwardPackets)
    if limit:
        assert fwd[0].packets == tuple(bytes([i]) for i in range(limit))
    else:
        assert fwd == []


def test_route_check_with_framed_route_covering_and_not():
    h = Harness()
    h.bring_up(DST, routes=("10.10.0.0/17",))
    assert h.state(DST) is S.IN_SERVICE
    h.to_connecting("10.10.200.1")
    h.call_ok("10.10.200.1")
    h.ppp_up("10.10.200.1", routes=("10.10.0.0/17",))
    assert h.state("10.10.200.1") is S.FAILED
    reqs = h.reqs()
    assert h.of(reqs, InstallRoutes) == [] and len(h.of(reqs, TearDown)) == 1


def test_access_routes_from_precedence():
    assert access_routes_from(framed_routes=[("10.1.0.0", 16, "0.0.0.0", 1)],
                              framed_ip="10.2.0.1", peer_ip="10.3.0.1") == (
        ipaddress.IPv4Network("10.1.0.0/16"),)
    assert access_routes_from(framed_ip="10.2.0.1", framed_netmask="255.255.255.0",
                              peer_ip="10.3.0.1") == (ipaddress.IPv4Network("10.2.0.0/24"),)
    assert access_routes_from(peer_ip="10.3.0.1") == (ipaddress.IPv4Network("10.3.0.1/32"),)
    assert access_routes_from() == ()


@pytest.mark.parametrize("bad", [Grant((), CALL), Grant((LAC_A,), CallParams(""))])
def test_incomplete_grant_is_a_deny(bad):
    h = Harness()
    h.trigger(DST)
    h.auth(DST, bad)
    assert h.state(DST) is S.INHIBITED
    c = h.snap(DST).counters
    assert (c.auth_grants, c.auth_denies) == (0, 1)


def test_discard_reasons_and_levels():
    h = Harness()
    h.trigger("10.99.0.1")                        # no target
    h.svc.on_trigger("other", "10.10.0.1", b"", now=h.now)   # no such VR
    snap = h.svc.snapshot(now=h.now)
    assert snap.chassis.counters.triggers_received == 2
    assert snap.chassis.counters.triggers_discarded == 2
    assert snap.chassis.sessions == 0
    h.svc.set_vr_state("home", "down", now=h.now)
    h.trigger(DST)
    assert h.state(DST) is None
    assert h.svc.snapshot(now=h.now).vrs[0].counters.triggers_discarded == 2
    h.svc.set_vr_state("home", "inService", now=h.now)
    h.svc.set_target_state("home", NET, "inhibited", now=h.now)
    h.trigger(DST)
    assert h.state(DST) is None
    assert h.svc.snapshot(now=h.now).targets[0].counters.triggers_discarded == 1


def test_target_state_change_spares_connecting_sessions():
    h = Harness()
    h.to_connecting(DST)
    h.svc.set_target_state("home", NET, TargetState.INHIBITED, now=h.now)
    h.trigger(DST)
    assert h.snap(DST).triggers_buffered == 2
    h.call_ok(DST)
    h.ppp_up(DST)
    assert h.state(DST) is S.IN_SERVICE


def test_max_sessions():
    h = Harness(ChassisConfig(max_sessions=2))
    for d in ("10.10.0.1", "10.10.0.2", "10.10.0.3"):
        h.trigger(d)
    assert h.state("10.10.0.3") is None
    assert h.svc.snapshot(now=h.now).chassis.sessions == 2


def test_config_validation_and_restricted_chassis():
    svc = DialoutService()
    for bad in (ChassisConfig(connect_timeout=29), ChassisConfig(connect_timeout=3601),
                ChassisConfig(dormant_timeout=-1), ChassisConfig(lockout_timeout=59),
                ChassisConfig(max_connecting=0)):
        with pytest.raises(ConfigError):
            svc.apply_config(DialoutConfig(bad), now=0)
    with pytest.raises(ConfigError):
        svc.apply_config(DialoutConfig(vrs=(vr_config(buffer=51),)), now=0)
    svc.set_chassis_state("restricted")
    with pytest.raises(ConfigError):
        svc.apply_config(DialoutConfig(), now=0)
    svc.set_chassis_state("inService")
    svc.apply_config(DialoutConfig(vrs=(vr_config(),)), now=0)
    svc.requests()
    svc.set_chassis_state(ChassisState.RESTRICTED)
    svc.on_trigger("home", DST, b"", now=0)
    assert svc.session_state("home", DST) is None


def test_reconfigure_targets_and_vrs():
    h = Harness()
    h.bring_up(DST)
    h.reqs()
    other = TargetConfig(ipaddress.IPv4Network("10.20.0.0/16"), DOMAIN, "p2")
    # Re-creating a target with other parameters = remove + add; its sessions are cleared.
    changed = TargetConfig(NET, "other.domain", "dialprof")
    h.vrs = (vr_config(targets=(changed, other)),)
    h.svc.apply_config(DialoutConfig(h.chassis, h.vrs), now=h.now)
    reqs = h.reqs()
    assert h.state(DST) is None
    assert len(h.of(reqs, TearDown)) == 1
    assert [r.routes for r in h.of(reqs, RemoveRoutes)][-1] == (Route(NET, "dial-out"),)
    assert {r.routes[0].prefix for r in h.of(reqs, InstallRoutes)} == {
        NET, ipaddress.IPv4Network("10.20.0.0/16")}
    h.trigger(DST)
    assert h.reqs()[0].domain == "other.domain"
    # Removing the VR clears its sessions and routes.
    h.vrs = ()
    h.svc.apply_config(DialoutConfig(h.chassis, ()), now=h.now)
    assert len(h.svc) == 0
    assert len(h.of(h.reqs(), RemoveRoutes)) == 2
    assert h.svc.snapshot(now=h.now).vrs == ()


def test_longest_target_wins_and_sessions_per_destination():
    narrow = TargetConfig(ipaddress.IPv4Network("10.10.1.0/24"), "narrow.example", "p")
    h = Harness(vrs=(vr_config(targets=(TargetConfig(NET, DOMAIN, "dialprof"), narrow)),))
    h.trigger("10.10.1.5")
    h.trigger("10.10.2.5")
    names = [r.user_name for r in h.of(h.reqs(), AuthorizeRequest)]
    assert names == ["10.10.1.5@narrow.example", f"10.10.2.5@{DOMAIN}"]
    targets = {t.prefix: t.sessions for t in h.svc.snapshot(now=h.now).targets}
    assert targets == {NET: 1, narrow.prefix: 1}


def test_clear_in_service_and_stale_results():
    h = Harness()
    h.bring_up(DST)
    h.reqs()
    call_id = h.call_id(DST)
    assert h.svc.clear("home", now=h.now) == 1
    reqs = h.reqs()
    assert [type(r).__name__ for r in reqs] == ["RemoveRoutes", "TearDown", "CloseTunnel"]
    assert h.state(DST) is None
    # Late results for the deleted session are ignored and counted.
    h.svc.on_call_result(call_id, True, now=h.now)
    h.svc.on_call_down(h.key(DST), "CDN", now=h.now)
    h.svc.on_ppp_up(h.key(DST), (), "1.2.3.4", now=h.now)
    h.svc.on_tunnel_result(999, True, now=h.now)
    assert h.svc.snapshot(now=h.now).chassis.stale_inputs == 4
    assert h.reqs() == []


def test_stale_auth_request_id_ignored():
    h = Harness()
    h.trigger(DST)
    (req,) = h.reqs()
    h.svc.on_auth_result(req.session_key, grant(), now=h.now, request_id=req.request_id + 5)
    assert h.state(DST) is S.AUTHENTICATING
    assert h.svc.session_for_auth_request(req.request_id) == req.session_key
    h.svc.on_auth_result(req.session_key, grant(), now=h.now, request_id=req.request_id)
    assert h.state(DST) is S.CONNECTING


def test_interface_names_reused():
    h = Harness()
    h.bring_up("10.10.0.1")
    h.bring_up("10.10.0.2")
    assert [h.snap(d).ifname for d in ("10.10.0.1", "10.10.0.2")] == ["ppp1", "ppp2"]
    h.svc.clear("home", "10.10.0.1", now=h.now)
    h.bring_up("10.10.0.3")
    assert h.snap("10.10.0.3").ifname == "ppp1"


def test_snapshot_and_trace_lines():
    h = Harness()
    h.to_connecting(DST)
    h.now += 7
    snap = h.svc.snapshot(now=h.now)
    (s,) = snap.sessions
    assert (s.vr, str(s.destination), s.target, s.state) == ("home", DST, NET, S.CONNECTING)
    assert s.time_in_state == 7 and s.next_timer == 53
    assert s.tunnel_endpoint == "192.0.2.1" and s.tunnel_ref == 1
    assert s.user_name == f"{DST}@{DOMAIN}"
    assert dict(snap.chassis.sessions_by_state)["connecting"] == 1
    assert dict(snap.vrs[0].sessions_by_state)["connecting"] == 1
    assert snap.chassis.connecting == 1
    assert [t.state for t in snap.tunnels] == ["connecting"]
    lines = []
    while (ev := h.svc.next_event()) is not None:
        lines.append(ev.line)
    assert any("dormant -> authenticating" in line for line in lines)
    assert any("authenticating -> connecting" in line for line in lines)
    assert any("Access-Request user 10.10.1.1@" in line for line in lines)


def test_ten_thousand_sessions_up():
    h = Harness(ChassisConfig(max_connecting=20000))
    tun = TunnelDef("192.0.2.1", preference=1, assignment_id="bulk")
    g = grant(tun)
    base = int(IP("10.10.0.0"))
    keys = []
    for i in range(10000):
        dst = IP(base + 1 + i)
        h.svc.on_trigger("home", dst, b"x", now=h.now)
        keys.append(h.key(dst))
    for k in keys:
        h.svc.on_auth_result(k, g, now=h.now)
    reqs = h.reqs()
    assert len(h.of(reqs, OpenTunnel)) == 1
    calls = h.of(reqs, PlaceCall)
    assert len(calls) == 10000
    for c in calls:
        h.svc.on_call_result(c.call_id, True, now=h.now)
    for k in keys:
        h.svc.on_ppp_up(k, (), k.dst, now=h.now)
    snap = h.svc.snapshot(now=h.now)
    assert dict(snap.chassis.sessions_by_state)["inService"] == 10000
    assert snap.chassis.counters.dialouts_established == 10000
    assert len(h.of(h.reqs(), InstallRoutes)) == 10000
    assert h.svc.get_timer() is None


def test_reports_for_an_earlier_call_are_stale():
    t1 = TunnelDef("192.0.2.1", preference=1)
    t2 = TunnelDef("192.0.2.2", preference=2)
    h = Harness()
    h.to_connecting(DST, t1, t2)
    first = h.call_id(DST)
    h.call_fail(DST)
    second = h.call_id(DST)
    assert second != first
    # A late CDN report for the first call must not fail the second attempt.
    h.svc.on_call_down(h.key(DST), "CDN", now=h.now, call_id=first)
    assert h.state(DST) is S.CONNECTING and h.call_id(DST) == second
    h.svc.on_call_result(first, True, now=h.now)
    assert h.snap(DST).ifname is None
    h.call_ok(DST)
    h.svc.on_ppp_up(h.key(DST), (), DST, now=h.now, call_id=first)
    assert h.state(DST) is S.CONNECTING
    h.svc.on_ppp_up(h.key(DST), (), DST, now=h.now, call_id=second)
    assert h.state(DST) is S.IN_SERVICE
    assert h.svc.snapshot(now=h.now).chassis.stale_inputs == 3


def test_invalid_trigger_destination_is_counted_not_raised():
    h = Harness()
    h.svc.on_trigger("home", "not-an-address", b"", now=h.now)
    c = h.svc.snapshot(now=h.now).chassis.counters
    assert (c.triggers_received, c.triggers_discarded) == (1, 1)


def test_deny_counted_at_every_level():
    from engine.dialout import Denial
    h = Harness()
    h.trigger(DST)
    h.auth(DST, Denial("Access-Reject"))
    snap = h.svc.snapshot(now=h.now)
    levels = [snap.chassis.counters, snap.vrs[0].counters, snap.targets[0].counters,
              snap.sessions[0].counters]
    for c in levels:
        assert (c.sessions_created, c.triggers_received, c.triggers_enqueued,
                c.triggers_discarded, c.auth_requests, c.auth_denies, c.auth_grants) == (
            1, 1, 1, 1, 1, 1, 0)
    assert snap.sessions[0].state is S.INHIBITED
    assert snap.sessions[0].failure_reason == "denied: Access-Reject"
    assert dict(snap.vrs[0].sessions_by_state)["inhibited"] == 1


def test_trigger_buffer_limit_is_per_virtual_router():
    """max-buffered-triggers bounds the packets held by all of a VR's sessions together; a
    session's forwarded or dropped packets free room for the others; VRs do not share it."""
    h = Harness(vrs=(vr_config(buffer=2), vr_config("other", buffer=2)))
    for dst in ("10.10.1.1", "10.10.1.2"):
        h.trigger(dst, b"a")
        h.trigger(dst, b"b")
    assert [h.snap(d).triggers_buffered for d in ("10.10.1.1", "10.10.1.2")] == [2, 0]
    assert h.snap("10.10.1.2").counters.triggers_discarded == 2
    assert h.svc.snapshot(now=h.now).vrs[0].triggers_buffered == 2
    h.trigger("10.10.1.1", b"o", vr="other")
    assert h.snap("10.10.1.1", vr="other").triggers_buffered == 1
    h.reqs()
    h.auth("10.10.1.1", grant())
    h.call_ok("10.10.1.1")
    h.ppp_up("10.10.1.1")                  # its two packets are forwarded: room for two more
    h.trigger("10.10.1.2", b"c")
    h.trigger("10.10.1.2", b"d")
    h.trigger("10.10.1.2", b"e")
    assert h.snap("10.10.1.2").triggers_buffered == 2
    h.svc.clear("home", "10.10.1.2", now=h.now)   # cleared: its packets are dropped
    h.trigger("10.10.1.3", b"f")
    assert h.snap("10.10.1.3").triggers_buffered == 1
    assert [v.triggers_buffered for v in h.svc.snapshot(now=h.now).vrs] == [1, 1]


def test_snapshot_shows_only_what_the_session_holds_now():
    h = Harness(ChassisConfig(max_connecting=1))
    h.bring_up(DST)
    h.now += 5
    snap = h.snap(DST)
    assert (snap.tunnel_id, snap.session_id, snap.tunnel_endpoint) == (7, 9, "192.0.2.1")
    assert snap.access_routes == (ipaddress.IPv4Network(f"{DST}/32"),)
    assert snap.up_time == snap.time_in_state == 5
    # a pending session already has its user name
    h.trigger("10.10.2.2")
    h.trigger("10.10.3.3")
    assert h.state("10.10.3.3") is S.PENDING
    assert h.snap("10.10.3.3").user_name == f"10.10.3.3@{DOMAIN}"
    # the call ends: dormant, with no tunnel, session, peer or access route left over
    h.svc.on_call_down(h.key(DST), "LCP terminate", now=h.now)
    snap = h.snap(DST)
    assert snap.state is S.DORMANT
    assert (snap.tunnel_id, snap.session_id, snap.tunnel_endpoint, snap.tunnel_ref,
            snap.peer_ip, snap.access_routes, snap.up_time) == (None,) * 5 + ((), None)
    assert snap.failure_reason == "LCP terminate"


def test_failed_session_lists_no_route_it_never_installed():
    h = Harness()
    h.bring_up(DST, routes=("10.10.9.0/24",))
    snap = h.snap(DST)
    assert snap.state is S.FAILED
    assert (snap.access_routes, snap.tunnel_id, snap.session_id, snap.up_time) == (
        (), None, None, None)
    assert "10.10.9.0/24 does not cover 10.10.1.1" in snap.failure_reason
