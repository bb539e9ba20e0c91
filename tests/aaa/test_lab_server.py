"""Lab RADIUS server over loopback with the asyncio adapter."""

import asyncio
import hashlib
import random
import tomllib

import pytest

from engine.aaa.client import (
    DialoutDenial,
    DialoutGrant,
    RadiusClient,
    RadiusReply,
    RadiusServer,
    RadiusTimeout,
    accounting_start,
    accounting_stop,
    chap_request,
    dialout_request,
    dialout_user_name,
    pap_request,
    parse_dialout_reply,
    parse_framed,
)
from engine.aaa.types import RadiusEvent
from engine.aaa.udp import RadiusUdpAdapter
from engine.lab.radius_server import RadiusServerCore, RadiusSpec, start_radius_servers
from tests.aaa.verdicts import denied
from tests.present import present
from tests.wait import async_wait_until

LAB = '''
[[radius]]
name = "home"
listen = "127.0.0.1:0"
secret = "home-secret"
[radius.users."0.0.0.0:65000/10.10.1.1@L2TP-dial-out.de.dt".reply]
"Service-Type" = "Outbound-User"
"Tunnel-Type:1" = "L2TP"
"Tunnel-Medium-Type:1" = "IPv4"
"Tunnel-Server-Endpoint:1" = "127.0.0.2"
"Tunnel-Password:1" = "tunnel-secret"
"Tunnel-Preference:1" = 2
"Tunnel-Type:2" = "L2TP"
"Tunnel-Medium-Type:2" = "IPv4"
"Tunnel-Server-Endpoint:2" = "127.0.0.3"
"Tunnel-Password:2" = "a-much-longer-second-secret"
"Tunnel-Preference:2" = 1
"Tunnel-Client-Auth-Id:2" = "lns"
"ERX-Tunnel-Maximum-Sessions" = 8
"ERX-Dial-Out-Number" = "5551001"
"ERX-PPP-Username" = "lns"
"ERX-PPP-Password" = "lns-pass"
"ERX-PPP-Auth-Protocol" = "CHAP"
[radius.users."10.10.9.9@L2TP-dial-out.de.dt"]
reply = { "Service-Type" = "Outbound-User", "Tunnel-Type:1" = "L2TP", "Tunnel-Server-Endpoint:1" = "127.0.0.2" }

[[radius]]
name = "lns"
listen = "127.0.0.1:0"
secret = "lns-secret"
[radius.users.cpe1]
password = "cpe1-pass"
[radius.users.cpe1.reply]
"Service-Type" = "Framed-User"
"Framed-IP-Address" = "10.10.1.1"
"Framed-Route" = ["10.10.1.0 255.255.255.0 0.0.0.0 1", "10.10.2.0/24 0.0.0.0 2"]
"Session-Timeout" = 3600
'''


def specs(**override):
    tables = tomllib.loads(LAB)["radius"]
    for t in tables:
        t.update(override)
    return [RadiusSpec.from_toml(t) for t in tables]


def client_for(srv, secret, **kw):
    servers = [RadiusServer(srv.address[0], srv.address[1], secret, **kw),
               RadiusServer(srv.address[0], srv.address[1], secret, kind="acct", **kw)]
    return RadiusUdpAdapter(RadiusClient(servers, rng=random.SystemRandom()),
                            local_host="127.0.0.1")


@pytest.fixture
async def lab():
    servers = await start_radius_servers(specs())
    adapters = []

    def make(i, secret, **kw):
        a = client_for(servers[i], secret, **kw)
        adapters.append(a)
        return a
    try:
        yield servers, make
    finally:
        for a in adapters:
            a.close()
        for s in servers:
            s.close()


def test_spec_from_toml():
    home, lns = specs()
    assert (home.name, home.host, home.port, home.secret) == ("home", "127.0.0.1", 0, b"home-secret")
    assert home.mode is None and len(home.users) == 2 and home.users[0].password is None
    assert lns.users[0].password == "cpe1-pass"
    assert ("Framed-Route", "10.10.2.0/24 0.0.0.0 2") in lns.users[0].reply
    s = RadiusSpec.from_toml({"name": "x", "listen": "127.0.0.1:1812", "secret": "s",
                              "failure": {"mode": "delay", "delay": 1.5}})
    assert (s.mode, s.delay, s.listen) == ("delay", 1.5, "127.0.0.1:1812")
    assert RadiusSpec.from_toml({"listen": "127.0.0.1:1", "secret": "s", "mode": "silent"}).mode == "silent"
    for bad in ({"listen": "nope", "secret": "s"}, {"listen": "127.0.0.1:1"},
                {"listen": "127.0.0.1:1", "secret": "s", "mode": "explode"},
                {"listen": "127.0.0.1:1", "secret": "s", "users": {"u": {"reply": {"No-Such": 1}}}},
                {"listen": "127.0.0.1:1", "secret": "s",
                 "users": {"u": {"reply": {"Tunnel-Type:1": "NoSuchType"}}}},
                {"listen": "127.0.0.1:1", "secret": "s", "mode": "delay"}):
        with pytest.raises(ValueError):
            RadiusSpec.from_toml(bad)


async def test_dialout_grant_over_loopback(lab):
    servers, make = lab
    a = make(0, b"home-secret")
    user = dialout_user_name("10.10.1.1", "L2TP-dial-out.de.dt", "0.0.0.0:65000")
    r = await a.ask(dialout_request(user, nas_ip="127.0.0.1"))
    g = parse_dialout_reply(r)
    assert isinstance(g, DialoutGrant)
    assert [(t.tag, t.server_endpoint, t.password) for t in g.tunnels] == [
        (2, "127.0.0.3", b"a-much-longer-second-secret"), (1, "127.0.0.2", b"tunnel-secret")]
    assert g.tunnels[0].client_auth_id == "lns" and g.tunnels[0].max_sessions == 8
    assert (g.dial_out_number, g.ppp_username, g.ppp_password, g.ppp_auth_protocol) == \
        ("5551001", "lns", "lns-pass", ("chap",))
    # the server saw no password attribute and Service-Type Outbound
    req = servers[0].core.received[-1]
    assert req["Service-Type"] == (5,) and "User-Password" not in req
    assert "CHAP-Password" not in req and req["NAS-Port-Type"] == (5,)
    # incomplete grant for another user -> denial
    r = await a.ask(dialout_request("10.10.9.9@L2TP-dial-out.de.dt"))
    assert parse_dialout_reply(r) == DialoutDenial("no-dial-out-number", "no ERX-Dial-Out-Number")
    r = await a.ask(dialout_request("10.10.1.1@unknown"))
    assert denied(r).reason == "reject"


async def test_cpe_pap_and_chap(lab):
    servers, make = lab
    a = make(1, b"lns-secret")
    r = await a.ask(pap_request("cpe1", "cpe1-pass", called_station_id="5551001"))
    f = present(parse_framed(r))
    assert f.ip == "10.10.1.1" and f.session_timeout == 3600
    assert f.routes == (("10.10.1.0", 24, None, 1), ("10.10.2.0", 24, None, 2))
    assert servers[1].core.received[-1]["Called-Station-Id"] == ("5551001",)
    assert (await a.ask(pap_request("cpe1", "wrong"))).code == "reject"
    chal = bytes(range(16, 40))
    good = hashlib.md5(bytes([9]) + b"cpe1-pass" + chal).digest()
    assert (await a.ask(chap_request("cpe1", 9, chal, good))).code == "accept"
    assert (await a.ask(chap_request("cpe1", 10, chal, good))).code == "reject"
    assert (await a.ask(pap_request("nobody", "x"))).code == "reject"
    st = a.client.snapshot()[0]
    assert (st.accepts, st.rejects, st.timeouts) == (2, 3, 0)


async def test_accounting(lab):
    servers, make = lab
    a = make(1, b"lns-secret")
    r = await a.ask(accounting_start("sess-1", user_name="cpe1", framed_ip="10.10.1.1"))
    assert isinstance(r, RadiusReply) and r.code == "accounting-response"
    r = await a.ask(accounting_stop("sess-1", user_name="cpe1", session_time=42,
                                    input_octets=1000, output_octets=2000, input_packets=10,
                                    output_packets=20, terminate_cause="idle-timeout"))
    assert r.code == "accounting-response"
    got = servers[1].core.received[-1]
    assert got["Acct-Status-Type"] == (2,) and got["Acct-Session-Time"] == (42,)
    assert got["Acct-Terminate-Cause"] == (4,) and got["Acct-Output-Octets"] == (2000,)
    assert servers[1].counters["accounting_requests"] == 2


async def _one(mode, secret=b"lns-secret", **extra):
    [srv] = await start_radius_servers(specs(mode=mode, **extra)[1:])
    a = client_for(srv, secret, timeout=0.3, retransmit=1)
    try:
        return await a.ask(pap_request("cpe1", "cpe1-pass")), a.client.snapshot()[0], srv
    finally:
        a.close()
        srv.close()


async def test_failure_mode_reject():
    r, st, srv = await _one("reject")
    assert r.code == "reject" and st.rejects == 1


async def test_failure_mode_silent():
    r, st, srv = await _one("silent")
    assert isinstance(r, RadiusTimeout)
    assert st.timeouts == 1 and st.retransmits == 1
    assert srv.counters["dropped"] == 2


async def test_failure_mode_wrong_secret_is_detected():
    r, st, srv = await _one("wrong-secret")
    assert isinstance(r, RadiusTimeout)
    assert st.bad_authenticators >= 1 and st.accepts == 0 and st.timeouts == 1


async def test_client_with_wrong_secret_gets_nothing_trusted():
    r, st, srv = await _one(None, secret=b"not-the-secret")
    # the server drops the request (bad Message-Authenticator) -> timeout
    assert isinstance(r, RadiusTimeout)
    assert srv.counters["bad_authenticator"] == 2


async def test_failure_mode_delay():
    [srv] = await start_radius_servers(specs(mode="delay", delay=0.2)[1:])
    a = client_for(srv, b"lns-secret", timeout=10.0, retransmit=0)
    try:
        r = await a.ask(pap_request("cpe1", "cpe1-pass"))
        assert r.code == "accept" and r.rtt >= 0.2
    finally:
        a.close()
        srv.close()
    # with a client timeout shorter than the delay, the answer comes too late
    [srv] = await start_radius_servers(specs(mode="delay", delay=0.5)[1:])
    a = client_for(srv, b"lns-secret", timeout=0.1, retransmit=0)
    try:
        assert isinstance(await a.ask(pap_request("cpe1", "cpe1-pass")), RadiusTimeout)
    finally:
        a.close()
        srv.close()


def test_core_drops_malformed():
    core = RadiusServerCore(specs()[1], rng=random.Random(1))
    assert core.handle(b"\x01\x02") is None
    assert core.handle(b"\x01\x02\x00\x17" + bytes(16) + b"\x01\x01\x00") is None
    assert core.counters["malformed"] == 2


async def test_more_than_255_in_flight_uses_second_socket(lab):
    servers, make = lab
    a = make(1, b"lns-secret", timeout=5.0, retransmit=2)
    results = await asyncio.gather(*[a.ask(pap_request("cpe1", "cpe1-pass"))
                                     for _ in range(300)])
    assert all(isinstance(r, RadiusReply) and r.code == "accept" for r in results)
    assert len(a.local_addresses) == 2 and a.client.socket_count == 2
    assert a.client.in_flight == 0


@pytest.mark.capture
async def test_lab_server_wire_valid_pcap(tmp_path):
    from . import freeradius as frh

    [srv] = await start_radius_servers(specs()[:1])
    pcap = str(tmp_path / "lab.pcap")
    a = client_for(srv, b"home-secret")
    try:
        with frh.Capture(pcap, [srv.address[1]]) as cap:
            user = dialout_user_name("10.10.1.1", "L2TP-dial-out.de.dt", "0.0.0.0:65000")
            assert isinstance(parse_dialout_reply(await a.ask(dialout_request(user))),
                              DialoutGrant)
            assert (await a.ask(pap_request("nobody", "x"))).code == "reject"
            assert (await a.ask(accounting_start("s1"))).code == "accounting-response"
    finally:
        a.close()
        srv.close()
    assert cap.packet_count() == 6
    res = frh.validate_pcap(pcap, b"home-secret", [srv.address[1]])
    assert res.returncode == 0, res.stdout + res.stderr


async def test_adapter_cancel_and_close(lab):
    servers, make = lab
    [srv] = await start_radius_servers(specs(mode="silent")[1:])
    a = client_for(srv, b"lns-secret", timeout=5.0, retransmit=0)
    try:
        task = asyncio.ensure_future(a.ask(pap_request("cpe1", "cpe1-pass")))
        await async_wait_until(lambda: a.client.in_flight == 1, timeout=5)
        assert a.client.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert a.client.in_flight == 0 and a.client.get_timer() is None
        events: list[RadiusEvent] = []
        a.on_event = events.append
        a.submit(pap_request("cpe1", "cpe1-pass"))
        assert a.snapshot()[0].pending == 1
    finally:
        a.close()
        srv.close()
    a.close()   # idempotent


def test_replies_reuse_plain_attributes_and_salt_each_tunnel_password():
    from engine.aaa import codec
    home = specs()[0]
    core = RadiusServerCore(home, rng=random.Random(7))
    user = "0.0.0.0:65000/10.10.1.1@L2TP-dial-out.de.dt"

    def ask(ident: int) -> tuple[bytes, dict]:
        auth = bytes([ident]) * 16
        attrs = codec.encode_attributes([("User-Name", user), ("Service-Type", 5)])
        reply = core.handle(codec.build_access_request(ident, auth, attrs, b"home-secret"))
        assert reply is not None and reply[0] == codec.ACCESS_ACCEPT
        decoded = codec.decode_attributes(reply[20:], secret=b"home-secret", authenticator=auth)
        return reply, codec.attributes_dict(decoded)

    r1, a1 = ask(1)
    r2, a2 = ask(2)
    for a in (a1, a2):
        a.pop("Message-Authenticator")
    assert a1 == a2                               # the same attributes, the password revealed
    assert a1["Tunnel-Password:1"] == (b"tunnel-secret",)
    assert r1[20:] != r2[20:]                     # each reply salts its Tunnel-Password anew
    for name, value in home.users[0].reply:       # the plain attributes, byte for byte
        if not name.startswith("Tunnel-Password"):
            raw = codec.encode_attribute(name, value)
            assert raw in r1 and raw in r2
