"""A router process for the crash test: ``router_proc.py --prefix PREFIX [--no-reconcile]``.

Builds ``Engine(dataplane="linux")`` with the e2e configuration (tests/e2e/topology.py), with
router namespaces named ``PREFIX<vr>``.  Before starting it deletes the stale ``PREFIX*``
namespaces a killed run left (``LinuxDataplane.reconcile_stale``; ``Engine.start`` does not do
it) and prints ``reconciled: NAME ...``.  Prints ``router ready`` when configured; on SIGTERM
stops the engine (namespaces deleted), prints ``router stopped`` and exits 0.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import sys

from engine.aio.engine import Engine
from engine.dataplane import linux

from tests.e2e import topology as topo


async def main(args) -> int:
    if args.reconcile:
        stale = linux.LinuxDataplane(prefix=args.prefix).reconcile_stale()
        print("reconciled: " + " ".join(sorted(stale)), flush=True)
    linux.LinuxDataplane = functools.partial(linux.LinuxDataplane, prefix=args.prefix)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine(dataplane="linux", nas_ip=topo.ROUTER_ADDR,
                    output=lambda line: print(line, flush=True))
    engine.debug = {"dial-out"}
    await engine.start()
    try:
        engine.apply_config(topo.engine_config())
        print("router ready", flush=True)
        await stop.wait()
    finally:
        await engine.stop()
    print("router stopped", flush=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--no-reconcile", dest="reconcile", action="store_false")
    logging.basicConfig(level=logging.WARNING)
    sys.exit(asyncio.run(main(ap.parse_args())))
