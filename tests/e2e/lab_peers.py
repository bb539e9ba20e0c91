"""Run the lab peers of a lab file (RADIUS, LAC, CPE) until SIGTERM: ``lab_peers.py LABFILE``.

Prints ``lab ready: ...`` once every peer listens.  Uses ``engine.lab.runner.start_lab``, whose
dialer connects each called number to the lab CPE that owns it.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys

from engine.lab.labfile import load_labfile
from engine.lab.runner import start_lab


async def main(path: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lab = await start_lab(load_labfile(path))
    print("lab ready: " + lab.describe(), flush=True)
    try:
        await stop.wait()
    finally:
        await lab.close()
    print("lab stopped", flush=True)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    sys.exit(asyncio.run(main(sys.argv[1])))
