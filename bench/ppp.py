"""PPP benchmarks: complete negotiations per second, IPv4 frames per second (JSON lines).

negotiations: two PppLink objects over an in-memory wire, LCP + mutual CHAP-MD5 (verdicts
answered at once from a local table) + IPCP, until both have IPCP opened.
ipv4: send_ip on one link, receive_frame on the other, event popped (encap + decap).
bytes_per_idle_link: tracemalloc, memory held by one established idle link.
lossN_*: negotiations over a wire losing N % each way (5 % duplicated, 10 % reordered):
share that reach the network phase, mean and 95th percentile of the scripted time to get
there, CPU rate of the trial.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.ppp import AuthRequest, PppConfig, PppLink  # noqa: E402
from engine.ppp.chap import chap_md5  # noqa: E402

A_CFG = PppConfig(auth_protocols_required=("chap",), auth_protocols_allowed=("chap",),
                  username="lns", password="lns-pass", local_ip="10.0.0.1", peer_ip="10.0.0.2",
                  keepalive_interval=0)
B_CFG = PppConfig(auth_protocols_required=("chap",), auth_protocols_allowed=("chap",),
                  username="cpe", password="cpe-pass", local_ip="10.0.0.2", keepalive_interval=0)
SECRETS = {"cpe": b"cpe-pass", "lns": b"lns-pass"}


def _answer(link: PppLink) -> None:
    while (ev := link.next_event()) is not None:
        if type(ev) is AuthRequest:
            ok = (ev.chap_id is not None and ev.chap_challenge is not None
                  and ev.chap_response == chap_md5(ev.chap_id, SECRETS.get(ev.username, b""),
                                                   ev.chap_challenge))
            link.auth_result(ev.request_id, ok, now=0.0)


def negotiate(rng: random.Random) -> tuple[PppLink, PppLink]:
    a = PppLink(A_CFG, rng=rng)
    b = PppLink(B_CFG, rng=rng)
    a.open(now=0.0)
    b.open(now=0.0)
    while True:
        _answer(a)
        _answer(b)
        fa = a.frames_to_send()
        fb = b.frames_to_send()
        if not fa and not fb:
            break
        for f in fa:
            b.receive_frame(f, now=0.0)
        for f in fb:
            a.receive_frame(f, now=0.0)
    if not (a.network_up and b.network_up):
        raise RuntimeError("negotiation did not complete")
    return a, b


def bench_negotiations(seconds: float) -> float:
    rng = random.Random(1)
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for _ in range(50):
            negotiate(rng)
        n += 50
        t = time.perf_counter()
        if t >= end:
            return n / (t - t0)


def bench_ipv4(seconds: float, size: int) -> float:
    a, b = negotiate(random.Random(2))
    pkt = bytes(size)
    n = 0
    send, fts, recv, nxt = a.send_ip, a.frames_to_send, b.receive_frame, b.next_event
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        for _ in range(1000):
            send(pkt)
            for f in fts():
                recv(f, now=0.0)
            nxt()
        n += 1000
        t = time.perf_counter()
        if t >= end:
            return n / (t - t0)


def bench_lossy(trials: int, loss: float) -> tuple[float, float, float, float]:
    """Negotiations over a wire losing ``loss`` of the frames each way, with 5 % duplicated
    and 10 % reordered: (percent up, mean and 95th percentile of the scripted seconds to
    network up, trials/s of CPU)."""
    from tests.ppp.lossy import trial
    times: list[float] = []
    t0 = time.perf_counter()
    for seed in range(trials):
        o = trial(seed, loss, dup=0.05, reorder=0.10)
        if o.up and not o.auth_failures:
            times.append(o.end)
    dt = time.perf_counter() - t0
    times.sort()
    mean = sum(times) / max(len(times), 1)
    p95 = times[min(len(times) - 1, int(0.95 * trials))] if len(times) > 0.95 * trials \
        else float("inf")
    return 100.0 * len(times) / trials, mean, p95, trials / dt


def bytes_per_idle_link(n: int = 2000) -> float:
    """tracemalloc: memory held by one established, idle link (events drained)."""
    import gc
    import tracemalloc
    rng = random.Random(3)
    negotiate(rng)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    keep = []
    for _ in range(n):
        a, b = negotiate(rng)
        while a.next_event() is not None:
            pass
        keep.append(a)
        del b
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    ap.add_argument("--trials", type=int, default=2000, help="lossy negotiations per loss rate")
    ap.add_argument("--losses", default="0.1,0.3",
                    help="comma-separated loss rates for the lossy negotiations")
    args = ap.parse_args()
    out = [
        ("negotiations", bench_negotiations(args.seconds), "negotiations/s"),
        ("ipv4_frames_100B", bench_ipv4(args.seconds, 100), "frames/s"),
        ("ipv4_frames_1400B", bench_ipv4(args.seconds, 1400), "frames/s"),
        ("bytes_per_idle_link", bytes_per_idle_link(), "bytes"),
    ]
    for loss in (float(x) for x in args.losses.split(",") if x):
        pct, mean_s, p95_s, rate = bench_lossy(args.trials, loss)
        tag = f"loss{round(loss * 100)}"
        out += [(tag + "_up", pct, "%"), (tag + "_mean_time_to_up", mean_s, "s (scripted)"),
                (tag + "_p95_time_to_up", p95_s, "s (scripted)"),
                (tag + "_trials", rate, "trials/s")]
    for metric, value, unit in out:
        shown = None if value == float("inf") else round(value, 3)   # null: not reached
        print(json.dumps({"bench": "ppp", "metric": metric, "value": shown, "unit": unit}))


if __name__ == "__main__":
    main()
