"""python -m engine.lab LABFILE: run the lab peers the lab file describes until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import random
import signal
import sys

from .labfile import LabFileError, load_labfile
from .lac import SimpleDialer, start_lacs


def _optional(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


async def _report_up(subscribers: list, t0: float) -> None:
    """One line when every subscriber has its address: ``subscribers up N in S s``."""
    loop = asyncio.get_running_loop()
    while not all(c.up for c in subscribers):
        await asyncio.sleep(0.01)
    print(f"subscribers up {len(subscribers)} in {loop.time() - t0:.3f} s", flush=True)


async def run(path: str) -> int:
    lab = load_labfile(path)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list = []
    parts: list[str] = []
    start_radius = _optional("engine.lab.radius_server", "start_radius_servers")
    if lab.radius and start_radius is not None:
        servers = start_radius(lab.radius)
        if asyncio.iscoroutine(servers):
            servers = await servers
        started.extend(servers or ())
        parts.append(f"radius={len(lab.radius)}")
    from .runner import LabDialer
    dialer = LabDialer(lab.cpe, random.SystemRandom()) if lab.cpe else SimpleDialer()
    lacs = start_lacs(lab.lac, dialer)
    started.extend(lacs)
    parts.extend(f"lac {l.spec.name} {l.local_addr[0]}:{l.local_addr[1]}" for l in lacs)
    watch = None
    if lab.subscriber:
        from .runner import RunningLab
        running = RunningLab(lab, lacs=lacs)
        t0 = loop.time()
        placed = running.dial_in(None)              # subscribers with an lns = address
        parts.append(f"subscribers {placed}")
        watch = asyncio.ensure_future(_report_up(running.subscribers, t0))
    print("lab ready: " + ", ".join(parts), flush=True)
    await stop.wait()
    if watch is not None:
        watch.cancel()
    for s in started:
        close = getattr(s, "close", None)
        if close is not None:
            r = close()
            if asyncio.iscoroutine(r):
                await r
    print("lab stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine.lab", description=__doc__)
    ap.add_argument("labfile")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        return asyncio.run(run(args.labfile))
    except (LabFileError, OSError) as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
