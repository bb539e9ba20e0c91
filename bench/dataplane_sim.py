"""Sim dataplane benchmark: session interfaces brought up and torn down at scale.

Prints JSON lines {"bench", "metric", "value", "unit"} for each size given (default 16,000 and
64,000): the time to add N session interfaces with one access /32 each (beside one dial-out
route), the time to remove them all, the removal cost per interface, and the time to stream
the whole table in prefix order.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from engine.dataplane.base import Route  # noqa: E402
from engine.dataplane.sim import SimDataplane  # noqa: E402

BENCH = "dataplane_sim"


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": BENCH, "metric": metric, "value": round(value, 6), "unit": unit}),
          flush=True)


def run(n: int) -> None:
    dp = SimDataplane()
    dp.add_vr("home")
    dp.add_route("home", Route(ipaddress.IPv4Network("10.0.0.0/8"), "dial-out"))
    local = ipaddress.IPv4Address("10.255.0.1")
    base = int(ipaddress.IPv4Address("10.10.0.0"))
    names = [f"dialout{i}" for i in range(n)]
    t = time.perf_counter()
    for i, name in enumerate(names):
        dp.add_session_interface("home", name, local, ipaddress.IPv4Address(base + i))
        dp.add_route("home", Route(ipaddress.IPv4Network((base + i, 32)), "access", ifname=name))
    emit(f"add {n} session interfaces", time.perf_counter() - t, "s")
    t = time.perf_counter()
    count = sum(1 for _ in dp.iter_routes("home")) if hasattr(dp, "iter_routes") \
        else len(dp.routes("home"))
    emit(f"stream {count} routes in prefix order", time.perf_counter() - t, "s")
    t = time.perf_counter()
    for name in names:
        dp.remove_session_interface("home", name)
    took = time.perf_counter() - t
    emit(f"remove {n} session interfaces", took, "s")
    emit(f"remove one of {n} session interfaces", took / n * 1e6, "us")
    assert len(dp.routes("home")) == 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("sizes", nargs="*", type=int, default=[16_000, 64_000])
    for n in ap.parse_args().sizes:
        run(n)


if __name__ == "__main__":
    main()
