"""Dial-out reply interpretation (dialout.md §3): one test per denial reason, the full
grant, and CPE Framed attributes."""

from engine.aaa.client import (
    DialoutDenial,
    DialoutGrant,
    FramedInfo,
    RadiusReply,
    RadiusTimeout,
    dialout_request,
    dialout_user_name,
    parse_dialout_reply,
    parse_framed,
    parse_framed_route,
)
from engine.aaa.tunnel_attrs import (
    DENY_MISSING_TUNNEL,
    DENY_NO_NUMBER,
    DENY_REJECT,
    DENY_SERVICE_TYPE,
    DENY_TIMEOUT,
    DENY_TUNNEL_TYPE,
)
from tests.aaa.verdicts import denied, granted

FULL = {
    "Service-Type": (5,),
    "Tunnel-Type:1": (3,), "Tunnel-Medium-Type:1": (1,),
    "Tunnel-Server-Endpoint:1": ("127.0.0.3",), "Tunnel-Password:1": (b"secret-one",),
    "Tunnel-Preference:1": (2,), "Tunnel-Assignment-Id:1": ("lac-b",),
    "Tunnel-Type:2": (3,), "Tunnel-Medium-Type:2": (1,),
    "Tunnel-Server-Endpoint:2": ("127.0.0.2",), "Tunnel-Password:2": (b"secret-two",),
    "Tunnel-Preference:2": (1,), "Tunnel-Client-Endpoint:2": ("127.0.0.1",),
    "Tunnel-Client-Auth-Id:2": ("lns",), "Tunnel-Server-Auth-Id:2": ("lac1",),
    "Tunnel-Type:3": (3,), "Tunnel-Server-Endpoint:3": ("127.0.0.4",),
    "Tunnel-Preference:3": (2,),
    "ERX-Tunnel-Maximum-Sessions": (10,),
    "ERX-Dial-Out-Number": ("5551001",), "ERX-Minimum-BPS": (56000,),
    "ERX-Maximum-BPS": (64000,), "ERX-Bearer-Type": (2,),
    "ERX-PPP-Username": ("lns",), "ERX-PPP-Password": ("lns-pass",),
    "ERX-PPP-Auth-Protocol": (4,),
    "Framed-Route": ("10.10.1.0/24 0.0.0.0 1",),
}


def reply(attrs, code="accept"):
    return RadiusReply(1, code, attrs, b"\x00" * 16)


def without(*names, **replace):
    d = {k: v for k, v in FULL.items() if k not in names}
    d.update({k.replace("__", ":"): v for k, v in replace.items()})
    return d


def test_user_name_with_and_without_rd():
    assert dialout_user_name("10.10.1.1", "L2TP-dial-out.de.dt", "0.0.0.0:65000") == \
        "0.0.0.0:65000/10.10.1.1@L2TP-dial-out.de.dt"
    assert dialout_user_name("10.10.1.1", "L2TP-dial-out.de.dt") == "10.10.1.1@L2TP-dial-out.de.dt"


def test_dialout_request_has_no_password():
    spec = dialout_request("10.10.1.1@x", nas_ip="10.0.0.1")
    names = [n for n, _ in spec.attributes]
    assert spec.password is None
    assert not {"User-Password", "CHAP-Password"} & set(names)
    assert ("Service-Type", 5) in spec.attributes and ("NAS-Port-Type", 5) in spec.attributes
    assert ("NAS-IP-Address", "10.0.0.1") in spec.attributes


def test_full_grant():
    g = parse_dialout_reply(reply(FULL))
    assert isinstance(g, DialoutGrant)
    assert [t.tag for t in g.tunnels] == [2, 1, 3]            # by preference, then tag
    assert [[t.tag for t in lvl] for lvl in g.levels()] == [[2], [1, 3]]
    t2 = g.tunnels[0]
    assert t2.server_endpoint == "127.0.0.2" and t2.client_endpoint == "127.0.0.1"
    assert t2.password == b"secret-two" and t2.client_auth_id == "lns"
    assert t2.server_auth_id == "lac1" and t2.medium == 1 and t2.tunnel_type == 3
    assert t2.max_sessions == 10
    assert g.tunnels[1].assignment_id == "lac-b" and g.tunnels[2].password is None
    assert g.dial_out_number == "5551001"
    assert (g.min_bps, g.max_bps, g.bearer_type) == (56000, 64000, 2)
    assert (g.ppp_username, g.ppp_password) == ("lns", "lns-pass")
    assert g.ppp_auth_protocol == ("chap", "pap")


def test_untagged_single_tunnel_grant():
    attrs = {"Service-Type": (5,), "Tunnel-Type": (3,), "Tunnel-Server-Endpoint": ("192.0.2.1",),
             "ERX-Dial-Out-Number": ("1",)}
    g = parse_dialout_reply(reply(attrs))
    assert isinstance(g, DialoutGrant) and g.tunnels[0].tag == 0
    assert g.ppp_auth_protocol is None and g.tunnels[0].preference == 0


def test_deny_access_reject_ignores_attributes():
    d = parse_dialout_reply(reply(FULL, code="reject"))
    assert isinstance(d, DialoutDenial) and d.reason == DENY_REJECT


def test_deny_timeout():
    assert denied(RadiusTimeout(1)).reason == DENY_TIMEOUT
    assert denied(None).reason == DENY_TIMEOUT


def test_deny_missing_tunnel_attributes():
    attrs = {k: v for k, v in FULL.items() if not k.startswith("Tunnel-")}
    assert denied(reply(attrs)).reason == DENY_MISSING_TUNNEL
    # tunnel attributes present but no complete definition (no server endpoint)
    attrs = {k: v for k, v in FULL.items() if not k.startswith("Tunnel-Server-Endpoint")}
    assert denied(reply(attrs)).reason == DENY_MISSING_TUNNEL


def test_deny_service_type_not_outbound():
    assert denied(reply(without("Service-Type"))).reason == DENY_SERVICE_TYPE
    assert denied(reply(without(**{"Service-Type": (2,)}))).reason == DENY_SERVICE_TYPE


def test_deny_tunnel_type_not_l2tp():
    attrs = {k: ((1,) if k.startswith("Tunnel-Type") else v) for k, v in FULL.items()}
    assert denied(reply(attrs)).reason == DENY_TUNNEL_TYPE


def test_non_l2tp_tunnel_skipped_when_another_is_l2tp():
    attrs = dict(FULL)
    attrs["Tunnel-Type:2"] = (1,)
    g = granted(reply(attrs))
    assert [t.tag for t in g.tunnels] == [1, 3]


def test_deny_no_dial_out_number():
    assert denied(reply(without("ERX-Dial-Out-Number"))).reason == DENY_NO_NUMBER


def test_framed_routes_both_forms():
    assert parse_framed_route("10.10.1.0/24 0.0.0.0 1") == ("10.10.1.0", 24, None, 1)
    assert parse_framed_route("10.10.1.0 255.255.255.0 192.0.2.1 5") == \
        ("10.10.1.0", 24, "192.0.2.1", 5)
    assert parse_framed_route("10.10.1.9/24") == ("10.10.1.0", 24, None, 1)
    assert parse_framed_route("garbage here") is None
    r = reply({"Service-Type": (2,), "Framed-IP-Address": ("10.10.1.1",),
               "Framed-IP-Netmask": ("255.255.255.255",),
               "Framed-Route": ("10.10.1.0/24 0.0.0.0 1", "10.20.0.0 255.255.0.0 0.0.0.0 3",
                                "bad"),
               "Session-Timeout": (3600,), "Idle-Timeout": (300,)})
    f = parse_framed(r)
    assert f == FramedInfo("10.10.1.1", "255.255.255.255",
                           (("10.10.1.0", 24, None, 1), ("10.20.0.0", 16, None, 3)), 3600, 300)
    assert parse_framed(reply({}, code="reject")) is None
