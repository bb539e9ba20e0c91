"""xl2tpd as a LAC dialling in to the engine: its `lac` section opens a tunnel and places an
incoming call.  PPP cannot run under xl2tpd here (no kernel PPP), so the checks stop at the
tunnel and call levels: the tunnel is admitted by the destination profile, the call is
refused with a CDN (no dynamic interface profile), and a LAC without a profile is refused."""
from __future__ import annotations

import pytest

from engine.aio.config import EngineConfig
from engine.aio.engine import Engine
from engine.l2tp.acceptance import CLOSED, AcceptancePolicy, HostPolicy, PeerPolicy
from tests.l2tp.interop import Capture, Xl2tpd, free_udp_port
from tests.needs import need_capture, need_tools
from tests.wait import async_wait_until

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


async def _engine(pol: AcceptancePolicy) -> Engine:
    eng = Engine(output=lambda line: None, l2tp_bind=("127.0.0.1", 0))
    await eng.start()
    eng.apply_config(EngineConfig(l2tp_acceptance=pol))
    return eng


async def _dial_in(tmp_path, pol: AcceptancePolicy, *, capture: bool = False):
    need_tools("xl2tpd")
    eng = await _engine(pol)
    assert eng.l2tp_adapter is not None
    target = eng.l2tp_adapter.local_addr
    port = free_udp_port()
    cap = Capture(tmp_path / "dialin.pcap", [port, target[1]]).start() if capture else None
    x = Xl2tpd(tmp_path, port=port, lac_target=target)
    try:
        x.start()
        x.command("c peer")
        return eng, x, cap
    except BaseException:
        x.stop()
        if cap is not None:
            cap.stop()
        await eng.stop()
        raise


async def test_xl2tpd_lac_tunnel_admitted_and_call_refused(tmp_path) -> None:
    pol = AcceptancePolicy((PeerPolicy("xl2tpd", "127.0.0.1", "default", (HostPolicy(None),)),))
    eng, x, _ = await _dial_in(tmp_path, pol)
    try:
        await async_wait_until(lambda: eng.l2tp.counters["calls_refused_no_profile"] >= 1, 15,
                               what="xl2tpd's incoming call answered with a CDN")
        tunnels = eng.snapshot().l2tp.tunnels
        assert any(t.state == "established" and t.dest_profile == "xl2tpd" for t in tunnels)
        assert not eng.snapshot().l2tp.calls                  # nothing held open
        c = eng.l2tp.counters
        assert c["malformed"] == 0 and c["sccrq_refused_unknown_peer"] == 0
        log = x.log()
        assert "Call-Disconnect-Notify" in log or "CDN" in log or "disconnect" in log.lower(), log[-2000:]
    finally:
        x.stop()
        await eng.stop()


async def test_xl2tpd_lac_without_destination_profile_refused(tmp_path) -> None:
    eng, x, _ = await _dial_in(tmp_path, CLOSED)
    try:
        await async_wait_until(lambda: eng.l2tp.counters["sccrq_refused_unknown_peer"] >= 1, 15,
                               what="xl2tpd's SCCRQ refused")
        assert not eng.l2tp.tunnels
    finally:
        x.stop()
        await eng.stop()


async def test_xl2tpd_dial_in_capture_validates(tmp_path) -> None:
    need_capture()
    pol = AcceptancePolicy((PeerPolicy("xl2tpd", "127.0.0.1", "default", (HostPolicy(None),)),))
    eng, x, cap = await _dial_in(tmp_path, pol, capture=True)
    assert cap is not None
    try:
        await async_wait_until(lambda: eng.l2tp.counters["calls_refused_no_profile"] >= 1, 15,
                               what="xl2tpd's incoming call answered with a CDN")
    finally:
        x.stop()
        await eng.stop()
        cap.stop()
    ok, out = cap.validate()
    assert ok, out
    types = set(cap.l2tp_types())
    assert {"1", "2", "3", "10", "14"} <= types, types      # SCCRQ SCCRP SCCCN ICRQ CDN
