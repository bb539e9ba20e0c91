"""L2TP benchmarks (JSON lines): outgoing calls established per second against a lab LAC running
in a second process over loopback, and control messages decoded per second on one core."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.l2tp import CallUp, L2tpEndpoint, TunnelDown  # noqa: E402
from engine.l2tp import avp as A  # noqa: E402
from engine.l2tp import message as M  # noqa: E402
from engine.l2tp.avp import Avp  # noqa: E402
from engine.l2tp.udp import L2tpUdpAdapter  # noqa: E402


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": "l2tp", "metric": metric, "value": round(value, 1), "unit": unit}), flush=True)


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def calls_per_second(calls: int, tunnels: int) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        lab = os.path.join(d, "lab.toml")
        with open(lab, "w") as f:
            f.write(f'[[lac]]\nname = "bench"\nlisten = "127.0.0.1:{port}"\nhost-name = "bench-lac"\n'
                    f'secret = "bench-secret"\n')
        proc = subprocess.Popen([sys.executable, "-m", "engine.lab", lab], stdout=subprocess.PIPE, text=True,
                                cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
        try:
            line = proc.stdout.readline()
            if not line.startswith("lab ready"):
                raise RuntimeError(f"lab did not start: {line!r}")
            from engine.l2tp import L2tpConfig
            ep = L2tpEndpoint(rng=random.Random(1), host_name="bench-lns", config=L2tpConfig())
            up = 0
            done = asyncio.Event()
            failed: list = []

            def on_event(ev):
                nonlocal up
                if isinstance(ev, CallUp):
                    up += 1
                    if up == calls:
                        done.set()
                elif isinstance(ev, TunnelDown):
                    failed.append(ev)
                    done.set()

            ad = L2tpUdpAdapter(ep, ("127.0.0.1", 0), on_event=on_event).start()
            loop = asyncio.get_running_loop()
            t0 = time.perf_counter()
            tids = [ep.open_tunnel(("127.0.0.1", port), secret=b"bench-secret", now=loop.time())
                    for _ in range(tunnels)]
            for i in range(calls):
                ep.place_outgoing_call(tids[i % tunnels], called_number=str(5550000 + i), now=loop.time())
            ad.flush()
            await asyncio.wait_for(done.wait(), 50)
            dt = time.perf_counter() - t0
            if failed:
                raise RuntimeError(f"tunnel failed: {failed[0]}")
            emit("outgoing_calls_established_per_s", calls / dt, "calls/s")
            emit("outgoing_calls_total_time", dt * 1000, "ms")
            for t in tids:
                ep.close_tunnel(t, now=loop.time())
            ad.flush()
            await asyncio.sleep(0.1)
            ad.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def decode_rate(seconds: float) -> None:
    secret, rv = b"bench-secret", bytes(16)
    msgs = [
        M.encode_control(M.OCRQ, 1, 0, 5, 6, [
            Avp.make(A.ASSIGNED_SESSION_ID, 3), Avp.make(A.CALL_SERIAL_NUMBER, 1), Avp.make(A.MINIMUM_BPS, 0),
            Avp.make(A.MAXIMUM_BPS, 64000), Avp.make(A.BEARER_TYPE, 1), Avp.make(A.FRAMING_TYPE, 1),
            Avp.make(A.CALLED_NUMBER, "5551001", hidden=True)], secret=secret, random_vector=rv),
        M.encode_control(M.OCRP, 1, 2, 5, 6, [Avp.make(A.ASSIGNED_SESSION_ID, 3)]),
        M.encode_control(M.OCCN, 1, 2, 5, 6, [Avp.make(A.TX_CONNECT_SPEED, 64000), Avp.make(A.FRAMING_TYPE, 1)]),
        M.encode_control(0, 1, 0, 5, 6),
    ]
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        for _ in range(250):
            for m in msgs:
                M.decode_control(m, secret=secret)
        n += 250 * len(msgs)
    emit("control_messages_decoded_per_s", n / (time.perf_counter() - t0), "msgs/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--tunnels", type=int, default=50)
    ap.add_argument("--decode-seconds", type=float, default=2.0)
    a = ap.parse_args()
    asyncio.run(calls_per_second(a.calls, a.tunnels))
    decode_rate(a.decode_seconds)


if __name__ == "__main__":
    main()
