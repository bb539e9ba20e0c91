"""A tunnel carrying hundreds of sessions goes down (StopCCN from the LAC, ``clear l2tp
tunnel``): its sessions end a bounded slice per loop turn, each once, with the tunnel's reason
and Acct-Terminate-Cause Lost-Service, and go dormant; meanwhile a new trigger to one of them
opens a new tunnel to the LAC instead of using the dead one.  What is asserted is how the work
is spread over loop turns, never how long it takes."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from typing import Any

import pytest

from bench.scale import EngineView
from engine.aio.engine import TEARDOWN_SLICE, Engine
from engine.dialout.causes import TerminateCause
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.dialout.test_scale_views import Ticker
from tests.output import printed

from .helpers import DOMAIN, LabSpec, cpe, dialout_reply, lac_addresses, running_lab, wait_for

N = 240
pytestmark = pytest.mark.timeout(120)


def dest(i: int) -> str:
    return str(ipaddress.IPv4Address("10.10.16.1") + i)


def one_lac_spec(n: int) -> LabSpec:
    lacs = lac_addresses(1)
    return LabSpec(
        lacs=lacs,
        home_users={f"{dest(i)}@{DOMAIN}": dialout_reply(lacs, str(7000000 + i))
                    for i in range(n)},
        lns_users={f"c{i}": (f"c{i}-pass", {"Service-Type": "Framed-User"}) for i in range(n)},
        cpes=[cpe(str(7000000 + i), f"c{i}", dest(i)) for i in range(n)])


async def shell_for(eng: Engine) -> tuple[Context, Executor]:
    ctx = Context(options=Options(startup="/dev/null"), output=ListOutput(),
                  engine=EngineView(eng))
    ex = Executor(ctx)
    assert await ex.run_script(["virtual-router home", "!", "virtual-router lns", "!"],
                               echo=False)
    ctx.mode = "exec"
    printed(ctx).take()
    return ctx, ex


async def run(ctx: Context, ex: Executor, line: str) -> list[str]:
    assert await ex.execute(line), printed(ctx).take()
    out: list[str] = printed(ctx).take()
    return out


def _lns(r: Any) -> Any:
    return next(s for s in r.lab.radius if s.name == "lns")


def _record_stops(r: Any) -> list[tuple[str, TerminateCause]]:
    """(Acct-Session-Id, cause) of every accounting Stop the engine sends."""
    acct = r.engine.accounting
    stops: list[tuple[str, TerminateCause]] = []
    real = acct.stop

    def stop(call: Any, cause: TerminateCause, *, now: float) -> None:
        if call.acct_id and call.ppp is not None:
            stops.append((call.acct_id, cause))
        real(call, cause, now=now)
    acct.stop = stop
    return stops


async def _all_up(r: Any, n: int) -> int:
    for i in range(n):
        r.trigger(dest(i))
    await wait_for(lambda: r.chassis_counters().dialouts_established == n, 60,
                   lambda: r.snap().dialout.chassis)
    [tid] = list(r.engine.l2tp.tunnels)
    assert len(r.engine._calls.by_tunnel[tid]) == n
    return tid


def _record_ends(r: Any, ticker: Ticker) -> list[int]:
    """The loop turn each call ends in."""
    eng = r.engine
    turns: list[int] = []
    real = eng.end_call

    def end_call(call: Any, *args: Any, **kw: Any) -> None:
        if eng._calls.live(call):
            turns.append(ticker.turns)
        real(call, *args, **kw)
    eng.end_call = end_call
    return turns


async def test_peer_stopccn_ends_sessions_a_slice_per_turn(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    async with running_lab(tmp_path, one_lac_spec(N), accounting=True) as r:
        eng = r.engine
        tid = await _all_up(r, N)
        await wait_for(lambda: _lns(r).counters["accounting_requests"] == N, 10)   # Starts
        stops = _record_stops(r)
        [lac] = r.lacs
        [lac_tid] = list(lac.endpoint.tunnels)
        async with Ticker() as ticker:
            turns = _record_ends(r, ticker)
            lac.endpoint.close_tunnel(lac_tid, result=1, message="LAC going away",
                                      now=lac.adapter.now())
            lac.adapter.flush()
            progress: list[str] = []
            loop = asyncio.get_running_loop()
            end = loop.time() + 5
            while eng.teardown_progress() is None and loop.time() < end:
                await asyncio.sleep(0)      # the StopCCN on its way: turn by turn
            while eng.teardown_progress() is not None:
                p = eng.teardown_progress()
                progress.append(f"{p.done} of {p.total}")
                await asyncio.sleep(0)
            await wait_for(lambda: not eng._calls, 5)
        per_turn = Counter(turns)
        assert sum(per_turn.values()) == N
        assert max(per_turn.values()) <= TEARDOWN_SLICE, per_turn
        assert len(per_turn) >= N // TEARDOWN_SLICE
        assert progress[0] == f"0 of {N}" and len(set(progress)) >= N // TEARDOWN_SLICE
        assert tid not in eng._calls.by_tunnel
        snap = r.snap()
        assert {str(s.state) for s in snap.dialout.sessions} == {"dormant"}
        assert {s.failure_reason for s in snap.dialout.sessions} == {
            "tunnel closed by peer: StopCCN result 1 (general request to clear control "
            "connection): LAC going away"}
        assert r.access_routes() == []
        assert snap.dialout.tunnels == ()
        c = r.chassis_counters()
        assert c.dialouts_torn_down == N
        assert len(stops) == N and len({acct_id for acct_id, _ in stops}) == N   # once each
        assert {cause for _, cause in stops} == {TerminateCause.LOST_SERVICE}
        await wait_for(lambda: _lns(r).counters["accounting_requests"] == 2 * N, 10)
        await asyncio.sleep(0.2)
        assert _lns(r).counters["accounting_requests"] == 2 * N
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == [], errors[:3]


async def test_trigger_while_the_tunnel_is_torn_down_opens_a_new_tunnel(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    async with running_lab(tmp_path, one_lac_spec(N)) as r:
        eng = r.engine
        tid = await _all_up(r, N)
        allowed = [0]                   # slices the teardown may run: it waits meanwhile
        real = eng.teardown.slice

        def gated() -> int:
            if allowed[0] <= 0:
                return 0
            allowed[0] -= 1
            return real()
        eng.teardown.slice = gated
        ctx, ex = await shell_for(eng)
        assert await run(ctx, ex, f"clear l2tp tunnel {tid}") == ["1 tunnel(s) cleared"]
        p = eng.teardown_progress()
        assert p is not None and (p.total, p.done) == (N, 0)
        out = await run(ctx, ex, "show l2tp dial-out")
        assert f"  ending sessions of tunnels gone down: 0 of {N} done" in out, out
        assert r.snap().dialout.tunnels == ()          # the service forgot it at once
        # traffic to a session still queued goes nowhere and breaks nothing
        last = dest(N - 1)
        for seq in range(3):
            r.trigger(last, seq=seq)
        await asyncio.sleep(0.05)
        assert r.state(last) == "inService"
        allowed[0] = 1
        await wait_for(lambda: eng.teardown_progress().done == TEARDOWN_SLICE, 5)
        dormant = [str(s.destination) for s in r.snap().dialout.sessions
                   if str(s.state) == "dormant"]
        assert len(dormant) == TEARDOWN_SLICE
        last = next(str(s.destination) for s in r.snap().dialout.sessions
                    if str(s.state) == "inService")                # still queued
        r.trigger(last)
        # a session already ended is triggered again: it dials over a new tunnel to the LAC
        r.trigger(dormant[0])
        await r.wait_state(dormant[0], "inService", 20)
        assert eng.teardown_progress().done == TEARDOWN_SLICE     # the rest still queued
        out = await run(ctx, ex, "show l2tp dial-out")
        assert f"  ending sessions of tunnels gone down: {TEARDOWN_SLICE} of {N} done" in out
        [t] = r.snap().dialout.tunnels
        assert t.sessions == 1 and t.tunnel_id != tid
        [call] = eng._calls.on_tunnel(t.tunnel_id)
        assert call.key.dst == ipaddress.IPv4Address(dormant[0])
        assert r.state(last) == "inService"
        allowed[0] = 10 ** 6
        await wait_for(lambda: eng.teardown_progress() is None, 20)
        assert not any("gone down" in line for line in await run(ctx, ex, "show l2tp dial-out"))
        states = Counter(str(s.state) for s in r.snap().dialout.sessions)
        assert states == {"dormant": N - 1, "inService": 1}
        assert list(eng._calls.by_tunnel) == [t.tunnel_id]
        # the session whose call waited its turn dials again too, over the new tunnel
        r.trigger(last)
        await r.wait_state(last, "inService", 20)
        assert len(eng._calls.on_tunnel(t.tunnel_id)) == 2
        assert r.access_routes() == sorted([f"{dormant[0]}/32", f"{last}/32"])
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == [], errors[:3]
