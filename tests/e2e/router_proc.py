"""A router process for the crash test: ``router_proc.py --prefix PREFIX``.

Builds ``Engine(dataplane="linux")`` with the e2e configuration (tests/e2e/topology.py), with
router namespaces named ``PREFIX<vr>`` (the Engine has no parameter for the prefix).  Prints
``present before start: NAME ...`` (the ``PREFIX*`` namespaces found), then starts the engine
(``Engine.start`` deletes stale namespaces and logs ``removed stale namespaces ...``), prints
``router ready``; on SIGTERM stops the engine, prints ``router stopped`` and exits 0.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from engine.aio.engine import Engine
from engine.dataplane import netns_helpers as nsh
from tests.e2e import topology as topo


async def main(args) -> int:
    present = [ns for ns in nsh.list_namespaces() if ns.startswith(args.prefix)]
    print("present before start: " + " ".join(present), flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine(dataplane="linux", netns_prefix=args.prefix, nas_ip=topo.ROUTER_ADDR,
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
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout,
                        format="log %(name)s: %(message)s")
    sys.exit(asyncio.run(main(ap.parse_args())))
