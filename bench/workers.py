"""PROTOTYPE — router worker processes beyond one core (not the product's path).

N router workers, each a full ``Engine`` in its own process with its own L2TP socket and its
own RADIUS clients, share the dial-out work of one configuration: a destination belongs to
worker ``int(destination) % N`` (the destination shard).  The coordinator (this process) holds
the one configuration, hands each worker the same configuration, sends each trigger to the
worker owning its destination (standing in for the dataplane steering a trigger to its
worker) and merges the workers' counters into one operator view.

The lab (RADIUS servers, LACs, CPEs) runs as ``python -m engine.lab --workers M``.

Measures, for a burst of N triggers to distinct destinations: dial-outs per second with 1 and
with W workers (all triggers fired at one instant; elapsed until the last access route is
installed in any worker), the speed-up, and the engine / lab CPU.  JSON lines as
bench/dialout.py.

usage: python bench/workers.py [--triggers 10000] [--workers 1,2] [--lab-workers 2] [--lacs 4]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import json
import multiprocessing
import multiprocessing.connection
import os
import shutil
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import dialout as bd  # noqa: E402  (lab file, engine configuration, timing)
from engine.aio.engine import Engine  # noqa: E402


def emit(metric: str, value: Any, unit: str, **extra: Any) -> None:
    print(json.dumps({"bench": "workers", "metric": metric, "value": value, "unit": unit,
                      "prototype": True, **extra}), flush=True)


def shard_of(dst: str, n: int) -> int:
    """The worker owning a destination."""
    return int(ipaddress.IPv4Address(dst)) % n


# ---------------------------------------------------------------------------- one worker
async def _worker(conn: multiprocessing.connection.Connection, home_port: int, lns_port: int,
                  max_connecting: int) -> None:
    loop = asyncio.get_running_loop()
    eng = Engine(output=lambda line: None)
    await eng.start()
    try:
        eng.apply_config(bd.engine_config(home_port, lns_port, max_connecting))
        b = bd.Bench(eng)
        conn.send(("ready", os.getpid()))
        while True:
            msg = await loop.run_in_executor(None, conn.recv)
            if msg[0] == "burst":
                _, dests, at, timeout = msg
                gc.collect()
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                for d in dests:
                    b.trigger(d)
                end = time.monotonic() + timeout
                while len(b.installed) < len(dests) and time.monotonic() < end:
                    await asyncio.sleep(0.002)
                cpu = time.process_time() - cpu0
                last = max(b.installed.values()) if b.installed else t0
                conn.send(("done", len(b.installed), t0, last, cpu))
            elif msg[0] == "view":
                c = eng.snapshot().dialout.chassis.counters
                conn.send(("view", {"sessions_created": c.sessions_created,
                                    "dialouts_established": c.dialouts_established,
                                    "auth_requests": c.auth_requests,
                                    "l2tp_tunnels": len(eng.l2tp.tunnels),
                                    "l2tp_port": eng.l2tp_local_addr[1]}))
            elif msg[0] == "settle":
                await b.settle()
                conn.send(("settled",))
            else:
                break
    finally:
        await eng.stop()


def worker_main(conn: multiprocessing.connection.Connection, home_port: int, lns_port: int,
                max_connecting: int) -> None:
    asyncio.run(_worker(conn, home_port, lns_port, max_connecting))


# ---------------------------------------------------------------------------- coordinator
class Workers:
    """N worker processes behind one configuration and one merged view."""

    def __init__(self, n: int, home_port: int, lns_port: int, max_connecting: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conns: list[multiprocessing.connection.Connection] = []
        self.procs: list[Any] = []
        for _ in range(n):
            parent, child = ctx.Pipe()
            # each worker gets its share of the chassis' connecting slots
            p = ctx.Process(target=worker_main,
                            args=(child, home_port, lns_port, max(1, max_connecting // n)),
                            daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        for c in self.conns:
            if not c.poll(60):
                raise RuntimeError("worker did not start")
            c.recv()

    def burst(self, dests: list[str], timeout: float) -> tuple[int, float, list[float]]:
        n = len(self.conns)
        shards: list[list[str]] = [[] for _ in range(n)]
        for d in dests:
            shards[shard_of(d, n)].append(d)
        at = time.perf_counter() + 0.5
        for c, shard in zip(self.conns, shards, strict=True):
            c.send(("burst", shard, at, timeout))
        results = [c.recv() for c in self.conns]
        done = sum(r[1] for r in results)
        elapsed = max(r[3] for r in results) - at
        return done, elapsed, [r[4] for r in results]

    def view(self) -> dict[str, int]:
        """The one operator view: every worker's counters merged."""
        merged: dict[str, int] = {}
        for c in self.conns:
            c.send(("view",))
        for c in self.conns:
            _, v = c.recv()
            for k, x in v.items():
                if k != "l2tp_port":
                    merged[k] = merged.get(k, 0) + x
        return merged

    def settle(self) -> None:
        for c in self.conns:
            c.send(("settle",))
        for c in self.conns:
            c.recv()

    def close(self) -> None:
        for c in self.conns:
            try:
                c.send(("stop",))
            except OSError:
                pass
        for p in self.procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join(5)


def main(args: argparse.Namespace) -> int:
    counts = [int(x) for x in args.workers.split(",") if x]
    n = args.triggers
    lacs = bd.lac_addresses(args.lacs)
    home_port, lns_port = bd.free_ports(2)
    tmp = tempfile.mkdtemp(prefix="jcli-bench-workers-")
    path = os.path.join(tmp, "lab.toml")
    with open(path, "w") as f:
        f.write(bd.lab_text(n, lacs, home_port, lns_port))
    lab = bd.start_lab(path, args.lab_workers)
    rates: dict[int, float] = {}
    try:
        for w in counts:
            ws = Workers(w, home_port, lns_port, args.max_connecting)
            try:
                ws.burst([bd.destination(n - 1)], 10)           # warm-up: imports, tunnels
                ws.settle()
                dests = [bd.destination(i) for i in range(n)]
                lab0 = bd.cpu_seconds(lab.pid)
                done, elapsed, cpus = ws.burst(dests, args.timeout)
                lab1 = bd.cpu_seconds(lab.pid)
                view = ws.view()
                rates[w] = done / elapsed if elapsed > 0 else 0.0
                emit(f"dialouts_per_s_{w}_workers", round(rates[w], 1), "1/s", workers=w,
                     completed=done, triggers=n, seconds=round(elapsed, 3),
                     engine_cpu_s=[round(c, 2) for c in cpus],
                     lab_cpu_s=round(lab1 - lab0, 2), view=view)
                ws.settle()
            finally:
                ws.close()
        if 1 in rates:
            for w, r in rates.items():
                if w != 1 and rates[1]:
                    emit(f"speedup_{w}_workers", round(r / rates[1], 2), "x", workers=w,
                         cores=os.cpu_count())
    finally:
        bd.stop_pid(lab)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--triggers", type=int, default=10000)
    ap.add_argument("--workers", default="1,2", help="worker counts to measure, e.g. 1,2")
    ap.add_argument("--lab-workers", type=int, default=2)
    ap.add_argument("--lacs", type=int, default=4)
    ap.add_argument("--max-connecting", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=120.0)
    sys.exit(main(ap.parse_args()))
