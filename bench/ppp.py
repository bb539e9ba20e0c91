"""PPP benchmarks: complete negotiations per second, IPv4 frames per second (JSON lines).

negotiations: two PppLink objects over an in-memory wire, LCP + mutual CHAP-MD5 (verdicts
answered at once from a local table) + IPCP, until both have IPCP opened.
ipv4: send_ip on one link, receive_frame on the other, event popped (encap + decap).
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
            ok = ev.chap_response == chap_md5(ev.chap_id, SECRETS.get(ev.username, b""),
                                              ev.chap_challenge)
            link.auth_result(ev.request_id, ok, now=0.0)


def negotiate(rng) -> tuple[PppLink, PppLink]:
    a = PppLink(A_CFG, rng=rng)
    b = PppLink(B_CFG, rng=rng)
    a.open(now=0.0)
    b.open(now=0.0)
    moved = True
    while moved:
        moved = False
        fa = a.frames_to_send()
        fb = b.frames_to_send()
        for f in fa:
            b.receive_frame(f, now=0.0)
        for f in fb:
            a.receive_frame(f, now=0.0)
        if fa or fb:
            moved = True
        _answer(a)
        _answer(b)
        if a._out or b._out:
            moved = True
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0, help="duration of each measurement")
    args = ap.parse_args()
    out = [
        ("negotiations", bench_negotiations(args.seconds), "negotiations/s"),
        ("ipv4_frames_100B", bench_ipv4(args.seconds, 100), "frames/s"),
        ("ipv4_frames_1400B", bench_ipv4(args.seconds, 1400), "frames/s"),
    ]
    for metric, value, unit in out:
        print(json.dumps({"bench": "ppp", "metric": metric, "value": round(value, 1),
                          "unit": unit}))


if __name__ == "__main__":
    main()
