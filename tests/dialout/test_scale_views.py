"""Show and clear at scale, through the shell on the sim dataplane without a lab: every session
stays authenticating (the RADIUS servers are silent ports).  What is asserted is how much work
a command does (snapshots built, loop turns between pages), never how long it takes."""
from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

from engine import icmp
from engine.aio.engine import TEARDOWN_SLICE
from engine.types import Route
from jcli.views import PAGE_ROWS
from tests.dialout.test_shell_commands import Shell

pytestmark = pytest.mark.timeout(60)

N = 1000


def dest(i: int) -> str:
    return f"10.10.{i // 250}.{i % 250 + 1}"


def trigger_many(sh: Shell, vr: str, n: int) -> None:
    eng = sh.ctx.engine.engine
    for i in range(n):
        eng._on_trigger(vr, icmp.build_echo_request("192.0.2.1", dest(i), 1, i, b"x"))
    assert len(eng.dialout) >= n


class Ticker:
    """Counts event-loop turns while it runs."""

    def __init__(self) -> None:
        self.turns = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.turns += 1
            await asyncio.sleep(0)

    async def __aenter__(self) -> Ticker:
        self.task = asyncio.ensure_future(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()


def count_snapshots(sh: Shell, monkeypatch: pytest.MonkeyPatch,
                    seen: Callable[[], Any] | None = None) -> list[Any]:
    """Record every per-session snapshot the dial-out service builds (and ``seen()`` then)."""
    svc = sh.ctx.engine.engine.dialout
    calls: list[Any] = []
    real = svc._session_snapshot

    def wrapped(s: Any, now: float) -> Any:
        calls.append(seen() if seen is not None else s.key)
        return real(s, now)
    monkeypatch.setattr(svc, "_session_snapshot", wrapped)
    return calls


async def test_one_session_is_read_by_key(shell: Shell, monkeypatch: pytest.MonkeyPatch):
    trigger_many(shell, "home", N)
    calls = count_snapshots(shell, monkeypatch)
    out = await shell.run(f"show l2tp dial-out session virtual-router home {dest(77)}")
    assert out[-1] == "1 dial-out session found" and len(calls) == 1
    out = await shell.run(f"show l2tp dial-out session {dest(77)} brief")
    assert out[-1] == "1 dial-out session found" and len(calls) == 2
    out = await shell.run(f"show l2tp dial-out session {dest(77)} | json")
    assert f'"destination": "{dest(77)}",' in "\n".join(out) and len(calls) == 3


async def test_summaries_never_read_a_session(shell: Shell, monkeypatch: pytest.MonkeyPatch):
    trigger_many(shell, "home", N)
    calls = count_snapshots(shell, monkeypatch)
    for line in ("show l2tp tunnel", "show l2tp dial-out", "show l2tp dial-out virtual-router",
                 "show l2tp dial-out target", "show l2tp destination", "show l2tp statistics",
                 "show virtual-router", "show l2tp tunnel | json"):
        await shell.run(line)
    assert calls == []
    out = await shell.run("show l2tp dial-out virtual-router home")
    assert f"  sessions by state: authenticating {N}," in "\n".join(out)


async def test_session_list_streams_with_the_loop_served_between_pages(
        shell: Shell, monkeypatch: pytest.MonkeyPatch):
    trigger_many(shell, "home", N)
    svc = shell.ctx.engine.engine.dialout
    real = svc.iter_session_states
    snapshots = count_snapshots(shell, monkeypatch)
    async with Ticker() as ticker:
        turns: list[int] = []

        def recording(*args: Any, **kw: Any) -> Any:
            for row in real(*args, **kw):
                turns.append(ticker.turns)
                yield row
        monkeypatch.setattr(svc, "iter_session_states", recording)
        out = await shell.run("show l2tp dial-out session brief | count")
    assert out == [f"Count: {N + 3} lines"]          # header, dashes, N rows, "found"
    assert len(turns) == N and snapshots == []       # one line each: no snapshot built
    pages = [turns[i:i + PAGE_ROWS] for i in range(0, N, PAGE_ROWS)]
    assert all(len(set(p)) == 1 for p in pages)     # one page: no turn in the middle
    firsts = [p[0] for p in pages]
    assert firsts == sorted(set(firsts))              # the loop ran between two pages
    out = await shell.run("show l2tp dial-out session brief | include 10\\.10\\.3\\.")
    assert len(out) == 250 and all(" 10.10.3." in line for line in out)


async def test_session_list_order_and_json_match_the_one_shot_forms(shell: Shell):
    trigger_many(shell, "home", 300)
    trigger_many(shell, "other", 10)
    out = await shell.run("show l2tp dial-out session brief")
    rows = [line.split() for line in out[2:-1]]
    assert [r[0] for r in rows] == ["home"] * 300 + ["other"] * 10
    assert [r[1] for r in rows[:300]] == [dest(i) for i in range(300)]   # by address
    js = await shell.run("show l2tp dial-out session | json")
    data = json.loads("\n".join(js))
    assert data["brief"] is False and len(data["sessions"]) == 310
    assert data["sessions"][0]["destination"] == dest(0)


async def test_routes_stream_with_the_loop_served_between_pages(
        shell: Shell, monkeypatch: pytest.MonkeyPatch):
    dp = shell.ctx.engine.engine.dp
    dp.add_routes("home", [Route(ipaddress.IPv4Network(f"10.20.{i // 256}.{i % 256}/32"),
                                 "static", ifname="null0", distance=1) for i in range(N)])
    real = dp.iter_routes
    async with Ticker() as ticker:
        turns: list[int] = []

        def counting(vr: str, *args: Any, **kw: Any) -> Any:
            for r in real(vr, *args, **kw):
                turns.append(ticker.turns)
                yield r
        monkeypatch.setattr(dp, "iter_routes", counting)
        out = await shell.run("show ip route virtual-router home | count")
    assert len(turns) >= N and out == [f"Count: {len(turns) + 4} lines"]
    assert len(set(turns)) >= N // PAGE_ROWS         # the loop ran between pages
    pages = [turns[i:i + PAGE_ROWS] for i in range(0, len(turns), PAGE_ROWS)]
    assert all(len(set(p)) == 1 for p in pages)


async def test_large_clear_returns_at_once_and_proceeds_in_slices(shell: Shell):
    eng = shell.ctx.engine.engine
    trigger_many(shell, "home", N)
    assert N > TEARDOWN_SLICE
    async with Ticker() as ticker:
        out = await shell.run("clear l2tp dial-out session")
        assert out == [f"{N} dial-out session(s) clearing"]
        assert len(eng.dialout) == N                 # nothing done yet: the command returned
        out = await shell.run("show l2tp dial-out")
        assert f"  clearing sessions: 0 of {N} done" in out
        start = ticker.turns
        seen = []
        while len(eng.dialout):
            seen.append(len(eng.dialout))
            await asyncio.sleep(0)
        # every slice is one loop turn at most: other work ran between them
        assert ticker.turns - start >= N // TEARDOWN_SLICE
        assert len(set(seen)) >= N // TEARDOWN_SLICE
    for _ in range(3):
        await asyncio.sleep(0)
    assert eng.clear_progress() is None
    out = await shell.run("show l2tp dial-out")
    assert not any("clearing" in line for line in out)
    assert any(line.split()[:2] == ["sessions", "removed"] and line.split()[-1] == str(N)
               for line in out), out


async def test_memory_is_given_back_before_the_teardown_says_it_is_done(shell: Shell,
                                                                         monkeypatch):
    eng = shell.ctx.engine.engine
    trigger_many(shell, "home", N)
    before = eng.memory_releases
    async with Ticker() as ticker:
        slices: list[int] = []
        releases: list[int] = []
        real_slice, real_release = eng.teardown.slice, eng.after_teardown

        def slice_() -> int:
            slices.append(ticker.turns)
            return real_slice()

        def release() -> None:
            releases.append(ticker.turns)
            real_release()
        monkeypatch.setattr(eng.teardown, "slice", slice_)
        monkeypatch.setattr(eng, "after_teardown", release)
        out = await shell.run("clear l2tp dial-out session")
        assert out == [f"{N} dial-out session(s) clearing"]
        while eng.teardown:
            await asyncio.sleep(0)
    # no loop turn sees the teardown done with the memory not yet given back
    assert eng.memory_releases == before + 1 and not eng.dialout
    # and the release does not stall the loop in the same turn as the last slice
    assert len(releases) == 1 and releases[0] > slices[-1]
