"""Run the lab peers of a lab file in this process until SIGTERM/SIGINT (the CPEs answer the
LAC's calls through ``engine.lab.runner.LabDialer``).  Prints ``lab ready: ...`` once listening.

    python -m tests.dialout_e2e.lab_process LABFILE
"""
from __future__ import annotations

import asyncio
import signal
import sys

from engine.lab.labfile import load_labfile
from engine.lab.runner import start_lab


async def run(path: str) -> int:
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
    sys.exit(asyncio.run(run(sys.argv[1])))
