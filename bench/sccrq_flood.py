"""SCCRQ flood against the LNS acceptance policy: refusals per second of the sans-IO endpoint,
answers per SCCRQ, tunnel-table size and memory growth, for 70,000 SCCRQs from random
sources (1 % of them spoofing the configured LAC).  JSON lines on stdout."""
from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.l2tp import L2tpConfig, L2tpEndpoint  # noqa: E402
from engine.l2tp import avp as A  # noqa: E402
from engine.l2tp import message as M  # noqa: E402
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy  # noqa: E402
from engine.l2tp.avp import Avp  # noqa: E402

LAC = "192.0.2.10"


def emit(bench: str, metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": bench, "metric": metric, "value": round(value, 3), "unit": unit}),
          flush=True)


def sccrq(peer_tid: int, host: str) -> bytes:
    return M.encode_control(M.SCCRQ, 0, 0, 0, 0, [
        Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, host),
        Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, peer_tid)])


def flood(n: int = 70_000) -> None:
    rnd = random.Random(1)
    datagrams = []
    for i in range(n):
        src = LAC if i % 100 == 0 else \
            f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        datagrams.append((sccrq(rnd.randrange(1, 65536), "lac1"), (src, rnd.randrange(1024, 65536))))
    for traced in (False, True):        # the rate without tracemalloc, the memory with it
        run(datagrams, traced=traced)


def run(datagrams: list[tuple[bytes, tuple[str, int]]], *, traced: bool) -> None:
    n = len(datagrams)
    ep = L2tpEndpoint(rng=random.Random(2), host_name="lns", config=L2tpConfig())
    ep.acceptance = AcceptancePolicy((PeerPolicy("lac", LAC, "default",
                                                 (HostPolicy("lac1", secret=b"pw"),)),))
    gc.collect()
    if traced:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0] if traced else 0
    answers = 0
    peak_tunnels = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    for k, (data, addr) in enumerate(datagrams):
        ep.receive_datagram(data, addr, now=k * 0.0005)
        if k % 1000 == 999:
            answers += len(ep.datagrams_to_send(now=k * 0.0005))
            peak_tunnels = max(peak_tunnels, len(ep.tunnels))
    answers += len(ep.datagrams_to_send(now=n * 0.0005))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    if traced:
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        emit("sccrq_flood", "memory_retained", grown / 1024, "KiB")
        return
    emit("sccrq_flood", "sccrq_per_s", n / wall, "1/s")
    emit("sccrq_flood", "cpu_per_sccrq_us", cpu / n * 1e6, "us")
    emit("sccrq_flood", "answers_per_sccrq", answers / n, "datagrams")
    emit("sccrq_flood", "peak_tunnels", peak_tunnels, "tunnels")
    emit("sccrq_flood", "refused", sum(v for k, v in ep.counters.items()
                                       if k.startswith("sccrq_refused")), "SCCRQs")


if __name__ == "__main__":
    flood(int(sys.argv[1]) if len(sys.argv) > 1 else 70_000)
