"""Real UDP over loopback: engine (LNS role) <-> lab LAC."""
import asyncio
import random
import socket

from engine.l2tp import CallDown, CallUp, L2tpConfig, PppFrame, TunnelDown, TunnelUp
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.avp import Avp
from engine.lab.labfile import LacFailure, LacSpec
from engine.lab.lac import LabLac, SimpleDialer

from .aio import EngineSide, LossyRelay
from .wire import calls_down

SECRET = b"tunnel-secret"
FAST = L2tpConfig(retransmit_initial=0.2, retransmit_cap=1.6, max_retries=7)


def lab_lac(failure=None, secret=SECRET, config=None, dialer=None, seed=2):
    failure = LacFailure() if failure is None else failure
    spec = LacSpec("lac1", ("127.0.0.1", 0), "lac1", secret, failure=failure)
    lac = LabLac(spec, dialer, rng=random.Random(seed), config=config)
    lac.keep_events = True
    return lac.start()


async def test_100_calls_one_tunnel_cdn_and_stopccn():
    lac = lab_lac()
    eng = EngineSide()
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(lac.local_addr, secret=SECRET, expected_peer_host="lac1", now=eng.now)
        sids = [ep.place_outgoing_call(tid, called_number=f"5551{i:03d}", now=eng.now) for i in range(100)]
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(CallUp)) == 100)
        assert {e.session_id for e in eng.of(CallUp)} == set(sids)
        assert eng.of(TunnelUp)[0].peer_host_name == "lac1"
        assert lac.calls_answered == 100
        # PPP frames relayed through the LAC to the dialled party and back (EchoParty)
        ep.send_ppp(tid, sids[0], b"\xff\x03\xc0\x21\x09\x01\x00\x08abcd")
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(PppFrame))
        assert eng.of(PppFrame)[0].frame == b"\xff\x03\xc0\x21\x09\x01\x00\x08abcd"
        # CDN for ten calls
        for s in sids[:10]:
            ep.disconnect_call(tid, s, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: sum(isinstance(e, CallDown) for e in lac.events) == 10)
        assert len(lac.endpoint.snapshot().calls) == 90
        # StopCCN
        ep.close_tunnel(tid, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: any(isinstance(e, TunnelDown) for e in lac.events))
        assert len(calls_down(lac.events)) == 100           # 10 by CDN, 90 with the tunnel
        assert lac.endpoint.counters["malformed"] == 0 and ep.counters["malformed"] == 0
        assert not lac.parties
    finally:
        eng.close()
        lac.close()


async def test_lossy_link_20_percent_completes_every_call():
    lac = lab_lac(config=FAST)
    relay = LossyRelay(lac.local_addr, loss=0.2, seed=11)
    eng = EngineSide(config=FAST)
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(relay.addr, secret=SECRET, now=eng.now)
        sids = [ep.place_outgoing_call(tid, called_number=str(i), now=eng.now) for i in range(30)]
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(CallUp)) == 30 or eng.of(TunnelDown), timeout=90)
        assert len(eng.of(CallUp)) == 30, eng.of(TunnelDown)
        assert relay.dropped > 0 and ep.counters["retransmits"] > 0
        for s in sids[:5]:
            ep.disconnect_call(tid, s, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: sum(isinstance(e, CallDown) for e in lac.events) == 5, timeout=60)
        ep.close_tunnel(tid, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: any(isinstance(e, TunnelDown) for e in lac.events), timeout=60)
    finally:
        eng.close()
        relay.close()
        lac.close()


async def test_lab_lac_drop_failure_mode():
    lac = lab_lac(failure=LacFailure(drop=0.2, seed=5), config=FAST)
    eng = EngineSide(config=FAST)
    try:
        ep = eng.endpoint
        tid = ep.open_tunnel(lac.local_addr, secret=SECRET, now=eng.now)
        for i in range(10):
            ep.place_outgoing_call(tid, called_number=str(i), now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(CallUp)) == 10 or eng.of(TunnelDown), timeout=90)
        assert len(eng.of(CallUp)) == 10
        assert ep.counters["retransmits"] + lac.endpoint.counters["retransmits"] > 0
    finally:
        eng.close()
        lac.close()


async def test_lab_lac_refuse_tunnel():
    lac = lab_lac(failure=LacFailure(mode="refuse-tunnel"))
    eng = EngineSide()
    try:
        tid = eng.endpoint.open_tunnel(lac.local_addr, secret=SECRET, now=eng.now)
        sid = eng.endpoint.place_outgoing_call(tid, called_number="1", now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(TunnelDown))
        d = eng.of(TunnelDown)[0]
        assert d.by_peer and d.result_code == 4
        assert d.sessions == (sid,) and not eng.of(CallDown)
    finally:
        eng.close()
        lac.close()


async def test_lab_lac_refuse_call_and_unknown_number():
    lac = lab_lac(failure=LacFailure(mode="refuse-call", result=8, cause=17))
    lac2 = lab_lac(dialer=SimpleDialer(answer=["100"]))
    eng = EngineSide()
    try:
        ep = eng.endpoint
        t1 = ep.open_tunnel(lac.local_addr, secret=SECRET, now=eng.now)
        t2 = ep.open_tunnel(lac2.local_addr, secret=SECRET, now=eng.now)
        ep.place_outgoing_call(t1, called_number="100", now=eng.now)
        ok = ep.place_outgoing_call(t2, called_number="100", now=eng.now)
        bad = ep.place_outgoing_call(t2, called_number="200", now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: len(eng.of(CallDown)) == 2 and len(eng.of(CallUp)) == 1)
        downs = {(e.tunnel_id, e.result_code, e.cause) for e in eng.of(CallDown)}
        assert (t1, 8, 17) in downs and (t2, 6, 1) in downs
        assert eng.of(CallUp)[0].session_id == ok
        assert all(t.state == "established" for t in ep.snapshot().tunnels)
        assert bad not in ep.tunnels[t2].calls
    finally:
        eng.close()
        lac.close()
        lac2.close()


async def test_lab_lac_silent():
    lac = lab_lac(failure=LacFailure(mode="silent"))
    eng = EngineSide(config=L2tpConfig(retransmit_initial=0.05, retransmit_cap=0.2, max_retries=2))
    try:
        eng.endpoint.open_tunnel(lac.local_addr, secret=SECRET, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(TunnelDown), timeout=10)
        assert not eng.of(TunnelDown)[0].by_peer
        assert not lac.endpoint.tunnels
    finally:
        eng.close()
        lac.close()


def _garbage(rng):
    good = [
        M.encode_control(M.HELLO, rng.randint(1, 65535), 0, 0, 0),
        M.encode_control(M.OCRQ, rng.randint(1, 65535), 0, 0, 0, [
            Avp.make(A.ASSIGNED_SESSION_ID, 3), Avp.make(A.CALL_SERIAL_NUMBER, 1), Avp.make(A.MINIMUM_BPS, 0),
            Avp.make(A.MAXIMUM_BPS, 1), Avp.make(A.BEARER_TYPE, 1), Avp.make(A.FRAMING_TYPE, 1),
            Avp.make(A.CALLED_NUMBER, "123")]),
        M.encode_control(M.STOPCCN, 0, 0, 0, 0, [Avp.make(A.ASSIGNED_TUNNEL_ID, 5),
                                                 Avp.make(A.RESULT_CODE, A.ResultCode(1))]),
        M.encode_control(0, rng.randint(0, 65535), 0, 0, 0),
        M.encode_data(rng.randint(0, 65535), rng.randint(0, 65535), b"\xff\x03\xc0\x21"),
    ]
    sccrq = M.encode_control(M.SCCRQ, 0, 0, 0, 0, [
        Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, "x"), Avp.make(A.FRAMING_CAPABILITIES, 3),
        Avp.make(A.ASSIGNED_TUNNEL_ID, 9)])
    kind = rng.random()
    if kind < 0.3:
        return rng.randbytes(rng.randint(0, 200))
    if kind < 0.4:
        return sccrq[:rng.randint(0, len(sccrq) - 1)]         # truncated SCCRQ
    b = bytearray(rng.choice(good))
    for _ in range(rng.randint(0, 4)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    if b[0] & 0x80 and len(b) >= 6 and (b[4] | b[5]) == 0:
        b[5] = 1                                               # keep mutated control off tunnel 0
    return bytes(b)


async def test_garbage_at_listener():
    lac = lab_lac()
    rng = random.Random(99)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    try:
        counters = lac.endpoint.counters
        sent = 0
        while sent < 10000:
            for _ in range(50):
                s.sendto(_garbage(rng), lac.local_addr)
                sent += 1
            for _ in range(400):
                if counters["rx_datagrams"] >= sent:
                    break
                await asyncio.sleep(0.005)
        assert counters["rx_datagrams"] == 10000
        assert counters["malformed"] == 10000
        assert not lac.endpoint.tunnels and lac.endpoint.get_timer() is None
        # still serving
        eng = EngineSide()
        try:
            tid = eng.endpoint.open_tunnel(lac.local_addr, secret=SECRET, now=eng.now)
            eng.endpoint.place_outgoing_call(tid, called_number="1", now=eng.now)
            eng.adapter.flush()
            await eng.wait_for(lambda: eng.of(CallUp))
        finally:
            eng.close()
    finally:
        s.close()
        lac.close()
