"""The engine as an LNS over real UDP on loopback: LACs with a destination profile get a
tunnel (tunnel authentication both ways), everyone else a StopCCN; incoming calls without a
dynamic profile get a CDN; an SCCRQ flood leaves a dial-out to a configured LAC working."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import socket

import pytest

from engine.aio.config import EngineConfig
from engine.aio.engine import Engine
from engine.l2tp import CallDown, L2tpConfig, TunnelDown, TunnelUp
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from engine.l2tp.avp import Avp
from tests.dialout_e2e.helpers import lac_addresses, running_lab, standard_lab
from tests.l2tp.aio import EngineSide

pytestmark = pytest.mark.timeout(120)

SECRET = b"dialin-tunnel-pw"


def acceptance(address: str, *hosts: HostPolicy, **kw: int) -> AcceptancePolicy:
    return AcceptancePolicy((PeerPolicy("lac", address, "default", hosts),), **kw)


async def lns_engine(pol: AcceptancePolicy, lines: list[str]) -> Engine:
    eng = Engine(output=lines.append, l2tp_bind=("127.0.0.1", 0))
    await eng.start()
    eng.apply_config(EngineConfig(l2tp_acceptance=pol))
    return eng


def sccrq(peer_tid: int, host: str = "flood") -> bytes:
    return M.encode_control(M.SCCRQ, 0, 0, 0, 0, [
        Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, host),
        Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, peer_tid)])


async def test_configured_lac_gets_a_tunnel_others_a_stopccn() -> None:
    lines: list[str] = []
    lac_ip = f"127.93.{os.getpid() % 250}.2"      # any loopback address; ports are ephemeral
    eng = await lns_engine(acceptance(lac_ip, HostPolicy("lac1", secret=SECRET)), lines)
    assert eng.l2tp_adapter is not None
    target = eng.l2tp_adapter.local_addr
    good = EngineSide(seed=3, host_name="lac1", config=L2tpConfig(), addr=(lac_ip, 0))
    wrong = EngineSide(seed=4, host_name="lac1", config=L2tpConfig(), addr=(lac_ip, 0))
    stranger = EngineSide(seed=5, host_name="lac1", config=L2tpConfig(), addr=("127.0.0.1", 0))
    try:
        tid = good.endpoint.open_tunnel(target, secret=SECRET, now=good.now)
        wrong.endpoint.open_tunnel(target, secret=b"not-the-password", now=wrong.now)
        stranger.endpoint.open_tunnel(target, secret=SECRET, now=stranger.now)
        for side in (good, wrong, stranger):
            side.adapter.flush()
        await good.wait_for(lambda: good.of(TunnelUp), timeout=10)
        await wrong.wait_for(lambda: wrong.of(TunnelDown), timeout=10)
        await stranger.wait_for(lambda: stranger.of(TunnelDown), timeout=10)
        assert stranger.of(TunnelDown)[0].result_code == 4
        snap = eng.snapshot()
        up = [t for t in snap.l2tp.tunnels if t.state == "established"]
        assert len(up) == 1 and up[0].dest_profile == "lac" and up[0].peer_host_name == "lac1"
        assert snap.l2tp.counters["sccrq_refused_unknown_peer"] == 1
        # an incoming call: no dynamic interface profile, so a CDN and nothing held open
        good.endpoint.place_incoming_call(tid, calling_number="0301234", now=good.now)
        good.adapter.flush()
        await good.wait_for(lambda: good.of(CallDown), timeout=10)
        assert good.of(CallDown)[0].result_code == 5
        await asyncio.sleep(0.1)
        assert not eng.snapshot().l2tp.calls
        assert eng.snapshot().l2tp.counters["calls_refused_no_profile"] == 1
        assert not any("Traceback" in line or SECRET.decode() in line for line in lines)
    finally:
        for side in (good, wrong, stranger):
            side.close()
        await eng.stop()


async def test_sccrq_flood_bounded_and_dial_out_completes(tmp_path) -> None:
    """70,000 SCCRQs over UDP from 250 loopback sources (some from the configured LAC's own
    address) while a dial-out to that LAC is placed."""
    lacs = lac_addresses(2)
    async with running_lab(tmp_path, standard_lab(lacs)) as r:
        eng = r.engine
        cfg = dataclasses.replace(eng.config, l2tp_acceptance=acceptance(
            lacs[0], HostPolicy(None, secret=b"tunnel-secret-1"), max_half_open=40,
            max_half_open_per_source=4))
        eng.apply_config(cfg)
        assert eng.l2tp_adapter is not None
        target = eng.l2tp_adapter.local_addr
        target = ("127.0.0.1" if target[0] == "0.0.0.0" else target[0], target[1])
        socks = []
        for i in range(250):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind((lacs[0] if i % 50 == 0 else f"127.66.{i // 200}.{i % 200 + 2}", 0))
            socks.append(s)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = 0
        sent = 0
        try:
            for i in range(70_000):
                try:
                    socks[i % 250].sendto(sccrq(i % 65535 + 1), target)
                    sent += 1
                except BlockingIOError:
                    pass
                if i % 200 == 0:
                    await asyncio.sleep(0)
                    peak = max(peak, len(eng.l2tp.tunnels))
                if i == 20_000:
                    r.trigger("10.10.1.1")
            await r.wait_state("10.10.1.1", "inService", timeout=60)
            c = eng.snapshot().l2tp.counters
            print(f"flood: sent {sent}, peak tunnels {peak}, counters "
                  f"{ {k: v for k, v in c.items() if k.startswith('sccrq') or k == 'rx_datagrams'} }, "
                  f"maxrss grew {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0} KiB")
            assert peak <= 1 + 5 * 4                          # dial-out + per-source cap × LAC sockets
            assert c["sccrq_refused_unknown_peer"] > sent // 2   # loopback may drop some
            assert c["malformed"] == 0
            assert len(eng.l2tp.tunnels) <= 1 + 5 * 4
            grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
            assert grown_kib < 64 * 1024
        finally:
            for s in socks:
                s.close()
