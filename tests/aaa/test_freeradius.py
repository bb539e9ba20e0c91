"""Interop with FreeRADIUS 3 (independent server): dial-out grants, CPE PAP/CHAP,
accounting, wrong secret, and a wire check of every packet with tshark."""

import hashlib
import os
import random

import pytest

from engine.aaa.client import (
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
from tests.aaa.verdicts import denied
from tests.present import present
from tests.wait import async_wait_until

from . import freeradius as frh

pytestmark = [pytest.mark.interop, pytest.mark.tools("freeradius")]

DOMAIN = "L2TP-dial-out.de.dt"
SECRET = frh.SECRET


@pytest.fixture(scope="module")
def fr():
    with frh.FreeRadius() as server:
        yield server


def make_adapter(fr, secret=SECRET, timeout=2.0, retransmit=1):
    servers = [RadiusServer("127.0.0.1", fr.auth_port, secret, timeout=timeout,
                            retransmit=retransmit),
               RadiusServer("127.0.0.1", fr.acct_port, secret, timeout=timeout,
                            retransmit=retransmit, kind="acct")]
    return RadiusUdpAdapter(RadiusClient(servers, rng=random.SystemRandom()),
                            local_host="127.0.0.1")


def check_full_grant(g, rd):
    assert isinstance(g, DialoutGrant), g
    assert [(t.tag, t.preference, t.server_endpoint, t.password) for t in g.tunnels] == [
        (2, 1, "127.0.0.3", b"a-longer-tunnel-secret-number-two"),
        (1, 2, "127.0.0.2", b"secret-one")]
    assert all(t.tunnel_type == 3 and t.medium == 1 and t.max_sessions == 16 for t in g.tunnels)
    assert g.dial_out_number == "5551005"
    assert (g.ppp_username, g.ppp_password) == ("lns", "lns-pass")
    if rd:
        t1 = g.tunnels[1]
        assert (t1.client_endpoint, t1.assignment_id, t1.client_auth_id, t1.server_auth_id) == \
            ("127.0.0.1", "lac1", "lns-test", "lac1")
        assert g.tunnels[0].assignment_id == "lac2"
        assert (g.min_bps, g.max_bps, g.bearer_type) == (56000, 64000, 2)
        assert g.ppp_auth_protocol == ("chap", "pap")
    else:
        assert g.ppp_auth_protocol == ("pap",) and g.min_bps is None


async def scenario_dialout(a):
    r = await a.ask(dialout_request(dialout_user_name("10.10.5.5", DOMAIN, "0.0.0.0:65000"),
                                    nas_ip="127.0.0.1"))
    check_full_grant(parse_dialout_reply(r), rd=True)
    r = await a.ask(dialout_request(dialout_user_name("10.10.5.5", DOMAIN), nas_ip="127.0.0.1"))
    check_full_grant(parse_dialout_reply(r), rd=False)
    # the users file's own entry (tests/interop/freeradius/users): one tunnel
    r = await a.ask(dialout_request(dialout_user_name("10.10.1.1", DOMAIN, "0.0.0.0:65000")))
    g = parse_dialout_reply(r)
    assert isinstance(g, DialoutGrant) and len(g.tunnels) == 1
    assert g.tunnels[0].password == b"tunnelsecret" and g.dial_out_number == "65000"
    assert g.tunnels[0].assignment_id == "lac1" and g.ppp_auth_protocol == ("chap",)
    # Access-Reject carrying tunnel attributes: they are ignored
    r = await a.ask(dialout_request(dialout_user_name("10.10.6.6", DOMAIN)))
    assert r.code == "reject" and "Tunnel-Type:1" in r.attributes
    assert denied(r).reason == "reject"
    # unknown destination: Access-Reject -> denial
    r = await a.ask(dialout_request(dialout_user_name("10.99.1.1", DOMAIN)))
    assert r.code == "reject" and denied(r).reason == "reject"


async def scenario_cpe(a):
    r = await a.ask(pap_request("cpe-user", "cpe-pass", called_station_id="65000",
                                calling_station_id="lns"))
    f = parse_framed(r)
    assert f is not None and f.ip == "10.10.1.1" and f.routes == (("10.10.2.0", 24, None, 1),)
    r = await a.ask(pap_request("cpe-user", "wrong-pass"))
    assert r.code == "reject" and parse_framed(r) is None
    chal = os.urandom(16)
    good = hashlib.md5(bytes([17]) + b"cpe-pass" + chal).digest()
    assert (await a.ask(chap_request("cpe-user", 17, chal, good))).code == "accept"
    bad = hashlib.md5(bytes([17]) + b"nope" + chal).digest()
    assert (await a.ask(chap_request("cpe-user", 17, chal, bad))).code == "reject"
    r = await a.ask(pap_request("cpe-two", "cpe-two-pass"))
    f = present(parse_framed(r))
    assert (f.ip, f.netmask, f.session_timeout, f.idle_timeout) == \
        ("10.10.3.1", "255.255.255.255", 3600, 600)
    assert set(f.routes) == {("10.10.3.0", 24, None, 1), ("10.10.4.0", 24, None, 2)}


async def scenario_accounting(a):
    r = await a.ask(accounting_start("jcli-acct-1", user_name="cpe-user",
                                     framed_ip="10.10.1.1", nas_ip="127.0.0.1"))
    assert isinstance(r, RadiusReply) and r.code == "accounting-response"
    r = await a.ask(accounting_stop("jcli-acct-1", user_name="cpe-user", nas_ip="127.0.0.1",
                                    session_time=61, input_octets=5 << 32 | 7,
                                    output_octets=99, input_packets=3, output_packets=4,
                                    terminate_cause="idle-timeout"))
    assert r.code == "accounting-response"


async def scenario_wrong_secret(fr):
    a = make_adapter(fr, secret=b"not-testing123", timeout=0.3, retransmit=1)
    try:
        r = await a.ask(pap_request("cpe-user", "cpe-pass"))
        assert isinstance(r, RadiusTimeout)
        st = a.client.snapshot()[0]
        assert st.accepts == 0 and st.timeouts == 1
    finally:
        a.close()


async def test_dialout_grants(fr):
    a = make_adapter(fr)
    try:
        await scenario_dialout(a)
    finally:
        a.close()


async def test_cpe_pap_chap(fr):
    a = make_adapter(fr)
    try:
        await scenario_cpe(a)
    finally:
        a.close()


async def test_accounting_answered_and_logged(fr):
    a = make_adapter(fr)
    try:
        await scenario_accounting(a)
    finally:
        a.close()
    detail = frh._read(os.path.join(fr.dir, "acct-detail"))
    assert 'Acct-Session-Id = "jcli-acct-1"' in detail
    assert "Acct-Terminate-Cause = Idle-Timeout" in detail
    assert "Acct-Input-Gigawords = 5" in detail and "Acct-Session-Time = 61" in detail


async def test_wrong_secret_not_trusted(fr):
    await scenario_wrong_secret(fr)


async def test_reply_signed_with_wrong_secret_is_dropped(fr):
    """FreeRADIUS answers a request made with the right secret; the client then holds
    another secret for that server, so the reply fails verification and is dropped."""
    a = make_adapter(fr, timeout=10.0, retransmit=0)
    events: list[RadiusEvent] = []
    a.on_event = events.append
    try:
        c = a.client
        rid = a.submit(pap_request("cpe-user", "cpe-pass"))
        c.servers[0] = RadiusServer("127.0.0.1", fr.auth_port, b"other-secret",
                                    timeout=10.0, retransmit=0)
        await async_wait_until(lambda: c.snapshot()[0].bad_authenticators, timeout=5)
        st = c.snapshot()[0]
        assert st.bad_authenticators == 1 and st.accepts == 0 and events == []
        assert c.in_flight == 1          # still waiting for a genuine reply
        c.cancel(rid)
    finally:
        a.close()


@pytest.mark.capture
async def test_wire_valid_pcap(fr, tmp_path):
    pcap = str(tmp_path / "radius.pcap")
    ports = [fr.auth_port, fr.acct_port]
    with frh.Capture(pcap, ports) as cap:
        a = make_adapter(fr)
        try:
            await scenario_dialout(a)
            await scenario_cpe(a)
            await scenario_accounting(a)
        finally:
            a.close()
        await scenario_wrong_secret(fr)
    assert cap.packet_count() >= 2 * 12 + 2   # 12 exchanges + 2 unanswered requests
    res = frh.validate_pcap(pcap, SECRET, ports)
    assert res.returncode == 0, res.stdout + res.stderr
