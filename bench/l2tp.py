"""L2TP benchmarks (JSON lines): outgoing calls established per second against a lab LAC running
in a second process over loopback, control messages decoded per second on one core, and the
control-plane loss curve (share of calls up within the connect timeout at 0..50 % loss in both
directions, two sans-IO endpoints with scripted time: deterministic, no sockets)."""
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

import heapq  # noqa: E402

from engine.l2tp import CallUp, L2tpConfig, L2tpEndpoint, OutgoingCallRequested, TunnelDown  # noqa: E402
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
        assert proc.stdout is not None
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


def loss_run(rate: float, calls: int, tunnels: int, timeout: float, seed: int,
             config: L2tpConfig | None = None) -> tuple[float, int]:
    """Share of `calls` up within `timeout` s, and tunnels lost, at `rate` loss each way."""
    rng = random.Random(seed)
    lns_addr, lac_addr = ("10.0.0.1", 40000), ("10.0.0.2", 1701)
    lns = L2tpEndpoint(rng=random.Random(seed + 1), host_name="lns", config=config or L2tpConfig())
    lac_cfg = config or L2tpConfig()
    lac = L2tpEndpoint(rng=random.Random(seed + 2), host_name="lac",
                       config=L2tpConfig(receive_window=lac_cfg.receive_window,
                                         retransmit_cap=lac_cfg.retransmit_cap,
                                         max_retries=lac_cfg.max_retries))
    eps = {lns_addr: lns, lac_addr: lac}
    wire: list[tuple[float, int, bytes, tuple, tuple]] = []
    seq = 0
    now = 0.0
    up = down = 0
    tids = [lns.open_tunnel(lac_addr, secret=None, now=now) for _ in range(tunnels)]
    for i in range(calls):
        lns.place_outgoing_call(tids[i % tunnels], called_number=str(i), now=now)
    while now <= timeout:
        for addr, ep in eps.items():
            for data, dst in ep.datagrams_to_send(now=now):
                if rng.random() >= rate:
                    seq += 1
                    heapq.heappush(wire, (now + 0.005, seq, data, addr, dst))
            while (ev := ep.next_event()) is not None:
                if isinstance(ev, OutgoingCallRequested):
                    ep.answer_outgoing_call(ev.tunnel_id, ev.session_id, connect_speed=64000, now=now)
                elif isinstance(ev, CallUp) and ep is lns:
                    up += 1
                elif isinstance(ev, TunnelDown) and ep is lns:
                    down += 1
        if any(ep._dirty or ep._data_out for ep in eps.values()):
            continue
        nxt = [t for t in (lns.get_timer(), lac.get_timer()) if t is not None]
        if wire:
            nxt.append(wire[0][0])
        if not nxt:
            break
        now = max(now, min(nxt))
        while wire and wire[0][0] <= now:
            _, _, data, src, dst = heapq.heappop(wire)
            eps[dst].receive_datagram(data, src, now=now)
        for ep in eps.values():
            t = ep.get_timer()
            if t is not None and t <= now:
                ep.handle_timer(now=now)
    return up / calls, down


def loss_curve(calls: int, tunnels: int, timeout: float) -> None:
    for rate in (0.0, 0.1, 0.2, 0.3, 0.5):
        shares, lost = [], 0
        for seed in range(3):
            share, down = loss_run(rate, calls, tunnels, timeout, seed)
            shares.append(share)
            lost += down
        emit(f"calls_up_within_{int(timeout)}s_at_{int(rate * 100)}pct_loss",
             100 * sum(shares) / len(shares), "%")
        emit(f"tunnels_lost_at_{int(rate * 100)}pct_loss", lost, "tunnels (3 runs)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--tunnels", type=int, default=50)
    ap.add_argument("--decode-seconds", type=float, default=2.0)
    ap.add_argument("--loss-calls", type=int, default=500)
    ap.add_argument("--loss-tunnels", type=int, default=2)
    ap.add_argument("--connect-timeout", type=float, default=60.0)
    a = ap.parse_args()
    asyncio.run(calls_per_second(a.calls, a.tunnels))
    decode_rate(a.decode_seconds)
    loss_curve(a.loss_calls, a.loss_tunnels, a.connect_timeout)


if __name__ == "__main__":
    main()
