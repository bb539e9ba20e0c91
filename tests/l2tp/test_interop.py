"""Interop with xl2tpd (independent implementation) and wire validation with tshark."""
import random

import pytest

from engine.l2tp import CallDown, CallUp, L2tpConfig, PppFrame, TunnelDown, TunnelUp
from engine.lab.labfile import LacSpec
from engine.lab.lac import LabLac
from tests.needs import need_tools
from tests.wait import async_wait_until

from .aio import EngineSide
from .interop import Capture, Xl2tpd, free_udp_port

pytestmark = pytest.mark.interop


@pytest.fixture
def xl2tpd_env(tmp_path):
    """xl2tpd on its own ports; the wire check is the separate capture test below."""
    need_tools("xl2tpd")
    port, lac_port = free_udp_port(), free_udp_port()
    x = Xl2tpd(tmp_path, port=port, lac_target=("127.0.0.1", lac_port))
    try:
        x.start()
        yield x, lac_port
    finally:
        x.stop()


async def test_xl2tpd_control_connection_hello_stopccn(xl2tpd_env):
    x, _ = xl2tpd_env
    await hello_stopccn(x)


async def hello_stopccn(x: Xl2tpd) -> None:
    lines: list[str] = []
    eng = EngineSide(config=L2tpConfig(hello_interval=0.5, hold_time=0.5), trace=lines.append)
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(("127.0.0.1", x.port), secret=None, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(TunnelUp), timeout=10)
        assert eng.of(TunnelUp)[0].peer_tunnel_id != 0
        await eng.wait_for(lambda: sum(" HELLO" in line and "l2tp tx" in line for line in lines) >= 2, timeout=10)
        t = ep.tunnels[tid]
        await eng.wait_for(lambda: t.channel.idle, timeout=10)   # HELLOs acknowledged by xl2tpd
        assert t.channel.idle and t.state == "established"
        ep.close_tunnel(tid, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(TunnelDown) and not ep.tunnels and ep.get_timer() is None, timeout=10)
        assert ep.counters["malformed"] == 0
        assert any("rx" in line and "ZLB" in line for line in lines)
    finally:
        eng.close()
    await async_wait_until(lambda: "hello" in x.log().lower(), timeout=5, what="xl2tpd logs HELLO")
    assert "Hello" in x.log() or "HELLO" in x.log() or "hello" in x.log().lower()


async def test_xl2tpd_refuses_our_ocrq(xl2tpd_env):
    x, _ = xl2tpd_env
    await refused_ocrq(x)


async def refused_ocrq(x: Xl2tpd) -> None:
    eng = EngineSide(config=L2tpConfig(hold_time=0.5))
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(("127.0.0.1", x.port), secret=None, now=eng.now)
        sid = ep.place_outgoing_call(tid, called_number="5551001", now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(TunnelDown), timeout=10)
        d = eng.of(TunnelDown)[0]
        assert d.by_peer and d.result_code == 1
        assert d.sessions == (sid,) and not eng.of(CallDown)     # the call ended with it
        assert not eng.of(CallUp)
        await eng.wait_for(lambda: not ep.tunnels and ep.get_timer() is None, timeout=10)
    finally:
        eng.close()


@pytest.mark.capture
async def test_xl2tpd_exchanges_valid_on_the_wire(tmp_path):
    """Both exchanges with xl2tpd above, captured: tshark finds nothing malformed."""
    need_tools("xl2tpd")
    port, lac_port = free_udp_port(), free_udp_port()
    cap = Capture(tmp_path / "l2tp.pcap", [port, lac_port]).start()
    x = Xl2tpd(tmp_path, port=port, lac_target=("127.0.0.1", lac_port))
    try:
        x.start()
        await hello_stopccn(x)
        await refused_ocrq(x)
    finally:
        x.stop()
        cap.stop()
    ok, out = cap.validate()
    assert ok, out
    assert cap.count_l2tp() > 0
    assert {"1", "2", "3", "4", "6", "7"} <= set(cap.l2tp_types())   # incl. HELLO and OCRQ


async def test_xl2tpd_ocrq_answered_by_lab_lac(xl2tpd_env):
    x, lac_port = xl2tpd_env
    lac = LabLac(LacSpec("lac1", ("127.0.0.1", lac_port), "lac1", None), rng=random.Random(4)).start()
    lac.keep_events = True
    try:
        x.command("o peer 5551001")
        await async_wait_until(lambda: any(isinstance(e, CallUp) for e in lac.events), 15,
                               what="the lab LAC answers xl2tpd's OCRQ")
        up = [e for e in lac.events if isinstance(e, CallUp)]
        assert up and up[0].called_number == "5551001"
        assert lac.endpoint.counters["malformed"] == 0
        # xl2tpd starts pppd, which cannot run here, and then clears the call with a CDN
        await async_wait_until(lambda: any(isinstance(e, CallDown) for e in lac.events), 15,
                               what="xl2tpd clears the call")
        log = x.log()
        assert "Outgoing-Call-Reply" in log and "Outgoing-Call-Connected" in log
    finally:
        lac.close()


@pytest.mark.capture
async def test_tshark_validates_engine_and_lab_lac_traffic(tmp_path):
    port = free_udp_port()
    cap = Capture(tmp_path / "lab.pcap", [port]).start()
    lac = LabLac(LacSpec("lac1", ("127.0.0.1", port), "lac1", b"tunnel-secret"), rng=random.Random(4)).start()
    eng = EngineSide()
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(("127.0.0.1", port), secret=b"tunnel-secret", now=eng.now)
        sids = [ep.place_outgoing_call(tid, called_number=str(i), sub_address="9", now=eng.now) for i in range(20)]
        sid_in = ep.place_incoming_call(tid, calling_number="030", called_number="100", now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(CallUp)) == 21)
        for s in sids[:3]:
            ep.send_ppp(tid, s, b"\xff\x03\xc0\x21\x01\x01\x00\x04")
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(PppFrame)) == 3)
        ep.disconnect_call(tid, sids[5], result=3, cause=16, now=eng.now)
        ep.disconnect_call(tid, sid_in, now=eng.now)
        ep.close_tunnel(tid, now=eng.now)
        eng.adapter.flush()
        # the StopCCN is acknowledged: nothing left unacknowledged on the tunnel
        await eng.wait_for(lambda: tid not in ep.tunnels or ep.tunnels[tid].channel.idle, timeout=10)
    finally:
        eng.close()
        lac.close()
        cap.stop()
    ok, out = cap.validate()
    assert ok, out
    assert cap.count_l2tp() > 30
    types = cap.l2tp_types()
    for t in ("1", "2", "3", "4", "7", "8", "9", "10", "11", "12", "14"):
        assert t in types, f"{t} missing; {cap.stats!r}; {types}"
