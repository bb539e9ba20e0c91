"""Scale benchmark: tens of thousands of real dial-out sessions (engine in this process, the lab
peers in a second ``python -m engine.lab`` process, sim dataplane), and what it costs to show
and to clear them.

For each checkpoint (default 16,000, 32,000, 64,000 sessions, grown in batches) it measures,
with PPP keepalives off and then on at 30 s:
  * RSS at N sessions, and its high-water mark while the shows below run (``| json`` included)
  * ``show l2tp dial-out session A.B.C.D`` (one session) and ``show l2tp tunnel`` latency
  * ``show l2tp dial-out session brief``: first page latency; with ``| count``: time and the
    longest the event loop was stalled meanwhile
  * ``show ip route virtual-router home | count``: time and longest stall
  * the dial-out rate of each batch as the table grows, and the longest pause of Python's
    garbage collector while it grows (per generation: collections and the longest one)
and at the largest N: one LAC's tunnel dropped (``clear l2tp tunnel <id>``: the command's own
time, the time until every session it carried is gone, the longest stall meanwhile), then
``clear l2tp dial-out session`` (the command's own time, the time until
every session is gone, the longest stall meanwhile) and RSS after the clear against the RSS
before the first dial-out.  Shows and clears run through the command executor, as typed.

The RSS rows name the allocator of Python objects (``PYTHONMALLOC``, set before the interpreter
starts): with the default ``pymalloc`` a few objects that outlive a flood keep whole 1 MiB
arenas; ``PYTHONMALLOC=malloc python bench/scale.py`` measures what the service unit runs with.

Prints one JSON line per figure: {"bench", "metric", "value", "unit", "goal", ...}.
usage: python bench/scale.py [--sizes 16000,32000,64000] [--keepalives 0,30] [--quick]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import dialout as bd  # noqa: E402  (lab, configuration, triggers)
from bench.gcwatch import GcWatch  # noqa: E402
from engine.aio.engine import Engine  # noqa: E402
from jcli.context import Context, Options, Output  # noqa: E402
from jcli.executor import Executor  # noqa: E402

MIB = 2 ** 20
ALLOCATOR = os.environ.get("PYTHONMALLOC") or "pymalloc"


def emit(metric: str, value: Any, unit: str, *, goal: str | None = None, **extra: Any) -> None:
    row = {"bench": "scale", "metric": metric, "value": value, "unit": unit}
    if goal is not None:
        row["goal"] = goal
    row.update(extra)
    print(json.dumps(row), flush=True)


class Sink(Output):
    """Counts the lines of a command without keeping them; notes when the first page came."""

    def __init__(self) -> None:
        self.lines = 0
        self.first: float | None = None
        self.last_line = ""

    def _seen(self, n: int) -> None:
        if n and self.first is None:
            self.first = time.perf_counter()
        self.lines += n

    def write(self, line: str) -> None:
        self._seen(1)
        self.last_line = line

    def show(self, lines: list[str]) -> None:
        self._seen(len(lines))
        if lines:
            self.last_line = lines[-1]

    async def show_pages(self, pages: AsyncIterator[list[str]]) -> None:
        async for page in pages:
            self.show(page)

    def reset(self) -> None:
        self.lines, self.first, self.last_line = 0, None, ""


class Monitor:
    """Runs every loop turn: the longest gap between two turns (a stall) and the RSS peak."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.peak = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.perf_counter()
        next_rss = 0.0
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            self.max_gap = max(self.max_gap, now - last)
            if now >= next_rss:
                self.peak = max(self.peak, bd.rss())
                next_rss = now + 0.01
            last = time.perf_counter()

    async def __aenter__(self) -> Monitor:
        self.max_gap, self.peak = 0.0, bd.rss()
        self.task = asyncio.ensure_future(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        await asyncio.sleep(0)            # one more turn: a command that blocked is seen
        await asyncio.sleep(0)
        self.task.cancel()
        self.peak = max(self.peak, bd.rss())


class EngineView:
    """The engine as the shell sees it; the shell's own configuration does not reach it."""

    def __init__(self, eng: Engine) -> None:
        self._eng = eng

    def apply_config(self, model: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._eng, name)


async def shell_for(eng: Engine) -> tuple[Context, Executor, Sink]:
    sink = Sink()
    ctx = Context(options=Options(startup=os.devnull), output=sink, engine=EngineView(eng))
    ex = Executor(ctx)
    assert await ex.run_script(["virtual-router home", "!", "virtual-router lns", "!"],
                               echo=False)
    ctx.mode = "exec"
    sink.reset()
    return ctx, ex, sink


async def timed(ex: Executor, sink: Sink, line: str) -> tuple[float, float | None, Monitor]:
    """(seconds, seconds to the first line, monitor) of one command."""
    sink.reset()
    async with Monitor() as mon:
        t0 = time.perf_counter()
        ok = await ex.execute(line)
        t1 = time.perf_counter()
    if not ok:
        raise RuntimeError(f"{line!r} failed: {sink.last_line}")
    return t1 - t0, (sink.first - t0) if sink.first is not None else None, mon


async def grow(b: bd.Bench, start: int, stop: int, batch: int, keepalive: int,
               timeout: float) -> None:
    for lo in range(start, stop, batch):
        hi = min(stop, lo + batch)
        dests = [bd.destination(i) for i in range(lo, hi)]
        before = len(b.installed)
        t0 = time.perf_counter()
        for d in dests:
            b.trigger(d)
        end = time.monotonic() + timeout
        while len(b.installed) - before < len(dests) and time.monotonic() < end:
            await asyncio.sleep(0.005)
        done = len(b.installed) - before
        elapsed = time.perf_counter() - t0
        emit(f"dialout_rate_{lo}_{hi}", round(done / elapsed, 1) if elapsed else 0, "1/s",
             goal="flat, >= the 1,000-session rate", keepalive=keepalive, completed=done,
             triggers=len(dests))
        if done < len(dests):
            raise RuntimeError(f"only {done} of {len(dests)} dial-outs completed")


async def shows(ex: Executor, sink: Sink, n: int, keepalive: int) -> int:
    """The show rows at ``n`` sessions; returns the RSS peak seen while they ran."""
    peak = 0
    k: dict[str, Any] = {"sessions": n, "keepalive": keepalive}   # extra columns of emit
    s, _, mon = await timed(ex, sink, f"show l2tp dial-out session {bd.destination(n // 2)}")
    assert sink.lines > 2, sink.last_line
    emit(f"show_one_session_ms_{n}", round(s * 1000, 2), "ms", goal="<= 10", **k)
    peak = max(peak, mon.peak)
    s, _, mon = await timed(ex, sink, "show l2tp tunnel")
    emit(f"show_tunnel_ms_{n}", round(s * 1000, 2), "ms", goal="<= 10", **k)
    s, first, mon = await timed(ex, sink, "show l2tp dial-out session brief")
    emit(f"show_brief_first_page_ms_{n}", round((first or s) * 1000, 1), "ms", goal="<= 100",
         **k)
    emit(f"show_brief_max_stall_ms_{n}", round(mon.max_gap * 1000, 1), "ms", goal="<= 50",
         total_s=round(s, 2), lines=sink.lines, **k)
    peak = max(peak, mon.peak)
    s, _, mon = await timed(ex, sink, "show l2tp dial-out session brief | count")
    emit(f"show_brief_count_s_{n}", round(s, 3), "s", **k, result=sink.last_line)
    emit(f"show_brief_count_max_stall_ms_{n}", round(mon.max_gap * 1000, 1), "ms",
         goal="<= 50", **k)
    peak = max(peak, mon.peak)
    s, _, mon = await timed(ex, sink, "show ip route virtual-router home | count")
    emit(f"show_route_count_s_{n}", round(s, 3), "s", goal="<= 1", result=sink.last_line,
         **k)
    emit(f"show_route_count_max_stall_ms_{n}", round(mon.max_gap * 1000, 1), "ms",
         goal="<= 50", **k)
    peak = max(peak, mon.peak)
    s, _, mon = await timed(ex, sink, "show ppp interface brief | count")
    emit(f"show_ppp_count_s_{n}", round(s, 3), "s", max_stall_ms=round(mon.max_gap * 1000, 1),
         **k)
    peak = max(peak, mon.peak)
    s, _, mon = await timed(ex, sink, "show l2tp dial-out session | json")
    emit(f"show_session_json_s_{n}", round(s, 3), "s", lines=sink.lines,
         max_stall_ms=round(mon.max_gap * 1000, 1), rss_peak_mib=round(mon.peak / MIB, 1),
         **k)
    return max(peak, mon.peak)


async def drop_tunnel(eng: Engine, ex: Executor, sink: Sink, n: int, keepalive: int) -> None:
    """``clear l2tp tunnel <id>`` of the tunnel carrying the most calls: how long until its
    sessions are all gone (no call left on it, none of them inService) and the longest loop
    stall meanwhile."""
    tid, calls = max(((t, len(lt.calls)) for t, lt in eng.l2tp.tunnels.items()),
                     key=lambda x: x[1])
    in_service = eng.dialout.chassis_snapshot().sessions_by_state
    up = dict(in_service).get("inService", 0)
    k: dict[str, Any] = {"sessions": n, "keepalive": keepalive, "on_tunnel": calls}

    def left() -> int:
        on_tunnel = sum(1 for c in eng._calls.by_id.values() if c.tunnel_id == tid)
        still_up = dict(eng.dialout.chassis_snapshot().sessions_by_state
                        ).get("inService", 0) - (up - calls)
        return max(on_tunnel, still_up)

    async with Monitor() as mon:
        t0 = time.perf_counter()
        sink.reset()
        assert await ex.execute(f"clear l2tp tunnel {tid}"), sink.last_line
        t1 = time.perf_counter()
        end = time.monotonic() + 120
        while left() and time.monotonic() < end:
            await asyncio.sleep(0.02)
        t2 = time.perf_counter()
    emit(f"tunnel_down_command_ms_{n}", round((t1 - t0) * 1000, 1), "ms",
         goal="returns at once", said=sink.last_line, **k)
    emit(f"tunnel_down_all_gone_s_{n}", round(t2 - t0, 2), "s", left=left(), **k)
    emit(f"tunnel_down_max_stall_ms_{n}", round(mon.max_gap * 1000, 1), "ms", goal="<= 50",
         **k)


async def clear_all(eng: Engine, ex: Executor, sink: Sink, n: int, keepalive: int,
                    rss_base: int) -> None:
    k: dict[str, Any] = {"sessions": n, "keepalive": keepalive}   # extra columns of emit
    async with Monitor() as mon:
        t0 = time.perf_counter()
        sink.reset()
        assert await ex.execute("clear l2tp dial-out session")
        t1 = time.perf_counter()
        while len(eng.dialout) or eng._calls:
            await asyncio.sleep(0.01)
        t2 = time.perf_counter()
    emit(f"clear_command_ms_{n}", round((t1 - t0) * 1000, 1), "ms",
         goal="returns at once", said=sink.last_line, **k)
    emit(f"clear_all_s_{n}", round(t2 - t0, 2), "s", goal="<= 10", **k)
    emit(f"clear_max_stall_ms_{n}", round(mon.max_gap * 1000, 1), "ms", goal="<= 50", **k)
    end = time.monotonic() + 30
    while eng.dialout.snapshot(now=eng.now()).tunnels and time.monotonic() < end:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    gc.collect()
    after = bd.rss()
    emit(f"rss_after_clear_mib_{n}", round(after / MIB, 1), "MiB",
         goal=f"<= {round(rss_base * 1.2 / MIB, 1)} (baseline + 20 %)",
         baseline_mib=round(rss_base / MIB, 1), ratio=round(after / rss_base, 2),
         allocator=ALLOCATOR, **k)


async def run(keepalive: int, sizes: list[int], batch: int, timeout: float, lacs: int) -> None:
    n_max = max(sizes)
    addrs = bd.lac_addresses(lacs)
    home_port, lns_port = bd.free_ports(2)
    tmp = tempfile.mkdtemp(prefix="jcli-bench-scale-")
    path = os.path.join(tmp, "lab.toml")
    with open(path, "w") as f:
        f.write(bd.lab_text(n_max, addrs, home_port, lns_port))
    t = time.perf_counter()
    lab = bd.start_lab(path)
    emit("lab_start", round(time.perf_counter() - t, 2), "s", destinations=n_max,
         keepalive=keepalive)
    eng = Engine(output=lambda line: None)
    try:
        await eng.start()
        cfg = bd.engine_config(home_port, lns_port, 1000)
        home = cfg.vrs[0]
        home = replace(home, profiles=tuple(replace(p, ppp_keepalive=keepalive)
                                            for p in home.profiles))
        cfg = replace(cfg, vrs=(home,) + cfg.vrs[1:])
        eng.apply_config(cfg)
        b = bd.Bench(eng)
        ctx, ex, sink = await shell_for(eng)
        gc.collect()
        rss_base = bd.rss()
        emit("rss_baseline_mib", round(rss_base / MIB, 1), "MiB", keepalive=keepalive,
             allocator=ALLOCATOR)
        have = 0
        for n in sorted(sizes):
            with GcWatch() as watch:
                await grow(b, have, n, batch, keepalive, timeout)
            emit(f"gc_longest_pause_ms_{have}_{n}", max(watch.longest) * 1000 // 0.1 / 10, "ms",
                 goal="<= 50 (the loop stands still meanwhile)", keepalive=keepalive,
                 **watch.figures())
            have = n
            gc.collect()
            r = bd.rss()
            emit(f"rss_mib_{n}", round(r / MIB, 1), "MiB", goal="<= 512 at 64,000",
                 keepalive=keepalive, per_session_b=round((r - rss_base) / n))
            peak = await shows(ex, sink, n, keepalive)
            emit(f"rss_high_water_shows_mib_{n}", round(peak / MIB, 1), "MiB",
                 goal="<= 600 at 64,000", keepalive=keepalive)
        b.installed.clear()     # the bench's own record of the sessions is not the router's
        await drop_tunnel(eng, ex, sink, have, keepalive)
        await clear_all(eng, ex, sink, have, keepalive, rss_base)
    finally:
        await eng.stop()
        bd.stop_pid(lab)
        shutil.rmtree(tmp, ignore_errors=True)


async def main(args: argparse.Namespace) -> int:
    sizes = [2000] if args.quick else [int(x) for x in args.sizes.split(",") if x]
    batch = args.batch or (500 if args.quick else 4000)
    keepalives = [int(x) for x in args.keepalives.split(",") if x != ""]
    if len(keepalives) > 1:
        # each setting in a process of its own: its baseline is not the heap the other left
        for keepalive in keepalives:
            argv = [f"--sizes={args.sizes}", f"--batch={args.batch}", f"--lacs={args.lacs}",
                    f"--timeout={args.timeout}", f"--keepalives={keepalive}"]
            if args.quick:
                argv.append("--quick")
            rc = subprocess.run([sys.executable, os.path.abspath(__file__), *argv],
                                check=False).returncode
            if rc:
                return rc
        return 0
    for keepalive in keepalives:
        await run(keepalive, sizes, batch, args.timeout, args.lacs)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="16000,32000,64000")
    ap.add_argument("--keepalives", default="0,30", help="PPP keepalive seconds per run")
    ap.add_argument("--batch", type=int, default=0, help="triggers per batch")
    ap.add_argument("--lacs", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=300.0, help="per batch")
    ap.add_argument("--quick", action="store_true", help="2,000 sessions (smoke test)")
    sys.exit(asyncio.run(main(ap.parse_args())))
