"""Operators benchmark: 50 operator sessions on the router's local socket, each running
`show l2tp dial-out session brief` once a second, while bursts of 1,000 dial-outs run.

The router (engine + the service's session table and local socket) runs in this process; the
lab peers in a `python -m engine.lab` process; the operators in a third process (asyncio, one
connection per command, as `jcli --socket PATH -c ...` does).

Reports command latency p50/p99 under load (goal p99 <= 200 ms) and the dial-out rate with
operators as a ratio to the rate without (goal >= 0.9). Prints JSON lines
{"bench", "metric", "value", "unit"}.
usage: python bench/operators.py [--sessions 50] [--dialouts 1000] [--lacs 4]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.dialout import (  # noqa: E402
    Bench,
    destination,
    engine_config,
    free_ports,
    lab_text,
    lac_addresses,
    pct,
    start_lab,
    stop_pid,
)

COMMAND = "show l2tp dial-out session brief"


def emit(metric: str, value: object, unit: str, **extra: object) -> None:
    print(json.dumps({"bench": "operators", "metric": metric, "value": value, "unit": unit,
                      **extra}), flush=True)


# ------------------------------------------------------------------ the operators' process
async def operator(path: str, until: float, out: list[float], errors: list[str]) -> None:
    req = json.dumps({"op": "run", "source": "-c", "lines": [COMMAND]}).encode() + b"\n"
    while time.monotonic() < until:
        t0 = time.perf_counter()
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=1 << 24)
            writer.write(req)
            status = None
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line.startswith(b"x "):
                    status = line[2:].strip()
                    break
            writer.close()
            if status != b"0":
                errors.append(f"status {status!r}")
            else:
                out.append((time.perf_counter() - t0) * 1000.0)
        except OSError as e:
            errors.append(str(e))
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))


async def operators_main(path: str, sessions: int, duration: float) -> None:
    until = time.monotonic() + duration
    lat: list[float] = []
    errors: list[str] = []
    await asyncio.gather(*(operator(path, until, lat, errors) for _ in range(sessions)))
    print(json.dumps({"latencies": lat, "errors": errors[:5], "n_errors": len(errors)}),
          flush=True)


# ------------------------------------------------------------------ the router's process
async def main(args: argparse.Namespace) -> int:
    from jcli.auth import Authenticator
    from jcli.bridge import RouterEngine
    from jcli.config.model import RouterConfig
    from jcli.context import Options
    from jcli.service.local import LocalServer
    from jcli.service.sessions import SessionTable

    lacs = lac_addresses(args.lacs)
    home_port, lns_port = free_ports(2)
    tmp = tempfile.mkdtemp(prefix="jcli-bench-operators-")
    lab_path = os.path.join(tmp, "lab.toml")
    with open(lab_path, "w") as f:
        f.write(lab_text(args.dialouts, lacs, home_port, lns_port))
    lab = start_lab(lab_path)
    router = RouterEngine(Options(startup=os.path.join(tmp, "startup.scr")),
                          output=lambda line: None)
    sock = os.path.join(tmp, "jcli.sock")
    server = None
    try:
        await router.start()
        eng = router.engine
        eng.apply_config(engine_config(home_port, lns_port, args.dialouts))
        cfg = RouterConfig()
        table = SessionTable(cfg, router, Options(), Authenticator(cfg))
        server = LocalServer(table, sock)
        await server.start()
        b = Bench(eng)
        await b.latency([destination(0)])            # warm-up
        await b.settle()
        dests = [destination(i) for i in range(args.dialouts)]

        elapsed, done = await b.burst(dests, timeout=120)
        base = done / elapsed if elapsed else 0.0
        emit(f"dialouts_per_s_{args.dialouts}_alone", round(base, 1), "1/s", completed=done)
        await b.settle()

        duration = 4.0 + args.dialouts / 200.0
        ops = await asyncio.create_subprocess_exec(
            sys.executable, os.path.abspath(__file__), "--operators-of", sock,
            "--sessions", str(args.sessions), "--duration", str(duration),
            stdout=subprocess.PIPE)
        await asyncio.sleep(1.5)                     # every operator connected once
        elapsed, done = await b.burst(dests, timeout=120)
        loaded = done / elapsed if elapsed else 0.0
        emit(f"dialouts_per_s_{args.dialouts}_with_operators", round(loaded, 1), "1/s",
             completed=done, operators=args.sessions)
        assert ops.stdout is not None
        report = json.loads((await ops.stdout.read()).decode() or "{}")
        await ops.wait()
        lat = report.get("latencies", [])
        if lat:
            emit("command_latency_p50", round(pct(lat, 50), 1), "ms", samples=len(lat),
                 command=COMMAND)
            emit("command_latency_p99", round(pct(lat, 99), 1), "ms", samples=len(lat),
                 goal="<= 200")
        emit("command_errors", report.get("n_errors", -1), "1", examples=report.get("errors"))
        emit("dialout_rate_ratio", round(loaded / base, 3) if base else 0.0, "1", goal=">= 0.9")
        await b.settle()
    finally:
        if server is not None:
            await server.close()
        await router.close()
        stop_pid(lab)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--dialouts", type=int, default=1000)
    ap.add_argument("--lacs", type=int, default=4)
    ap.add_argument("--operators-of", metavar="SOCKET", help=argparse.SUPPRESS)
    ap.add_argument("--duration", type=float, default=10.0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.operators_of:
        asyncio.run(operators_main(a.operators_of, a.sessions, a.duration))
        sys.exit(0)
    sys.exit(asyncio.run(main(a)))
