"""python -m engine.lab LABFILE [--workers N]: run the lab peers the lab file describes until
SIGTERM/SIGINT.

``--workers N`` spreads the peers over N processes so that the lab costs less than the router
it measures: RADIUS server ``j`` and LAC ``k`` run in worker ``j % N`` and ``k % N``; every
worker knows every CPE (any LAC may dial any number).  The first process is worker 0; it starts
the others, prints one ``lab ready`` line once all are ready and stops them when it stops.

With ``--commands`` and ``[[subscriber]]`` entries, standard input takes lab commands, one a
line: ``dial`` (the subscribers without a call dial in again) and ``ping USER DST [COUNT]`` (a
subscriber pings through its PPP link); each is answered with one line.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import importlib
import ipaddress
import logging
import signal
import sys
from typing import Any

from engine.aio.entropy import PooledRandom

from .labfile import LabFile, LabFileError, load_labfile
from .lac import SimpleDialer, start_lacs

READY = "lab ready: "


def _optional(module: str, name: str) -> Any:
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


MAX_COMMAND = 1024


async def _stdin_lines() -> Any:
    """Lines of standard input (without waiting threads); ends at end of file."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_COMMAND * 4)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (OSError, ValueError):           # not a pipe, tty or socket: no commands
        return
    while True:
        try:
            line = await reader.readline()
        except ValueError:                  # an overlong line: skipped
            continue
        if not line:
            return
        yield line[:MAX_COMMAND].decode(errors="replace").strip()


async def _commands(running: Any) -> None:
    """Lab commands on standard input, one per line:

    ``dial``                      subscribers without a call dial in (again); ``dialled N``
    ``ping USER DST [COUNT]``     subscriber USER pings DST; ``ping USER DST: S sent, R received``
    """
    async for line in _stdin_lines():
        words = line.split()
        if not words:
            continue
        if words == ["dial"]:
            print(f"dialled {running.dial_in(None)}", flush=True)
        elif words[0] == "ping" and len(words) in (3, 4) and (len(words) == 3 or words[3].isdigit()):
            try:
                ipaddress.IPv4Address(words[2])
            except ValueError:
                print(f"lab: not an IPv4 address: {words[2][:40]!r}", flush=True)
                continue
            count = int(words[3]) if len(words) == 4 else 1
            sent, got = await running.ping(words[1], words[2], count=count)
            print(f"ping {words[1]} {words[2]}: {sent} sent, {got} received", flush=True)
        else:
            print(f"lab: unknown command {line[:40]!r} (dial | ping USER DST [COUNT])", flush=True)


def share(lab: LabFile, index: int, workers: int) -> LabFile:
    """The peers worker ``index`` of ``workers`` runs (every CPE in each)."""
    if workers <= 1:
        return lab
    lacs = tuple(lab.lac)[index::workers]
    names = {lac.name for lac in lacs}
    return dataclasses.replace(lab, radius=tuple(lab.radius)[index::workers], lac=lacs,
                               subscriber=tuple(s for s in lab.subscriber if s.lac in names))


async def _start_workers(path: str, workers: int, verbose: bool
                         ) -> tuple[list[asyncio.subprocess.Process], list[str]]:
    """Start workers 1..N-1 and wait for each one's ready line."""
    procs: list[asyncio.subprocess.Process] = []
    parts: list[str] = []
    for i in range(1, workers):
        argv = [sys.executable, "-m", "engine.lab", path, "--workers", str(workers),
                "--worker-index", str(i)] + (["-v"] if verbose else [])
        procs.append(await asyncio.create_subprocess_exec(*argv,
                                                          stdout=asyncio.subprocess.PIPE))
    try:
        for i, p in enumerate(procs, 1):
            assert p.stdout is not None
            line = (await asyncio.wait_for(p.stdout.readline(), 120)).decode(errors="replace")
            if not line.startswith(READY):
                raise OSError(f"lab worker {i} did not start: {line.strip() or 'exited'}")
            rest = line[len(READY):].strip()
            if rest:
                parts.append(rest)
    except BaseException:
        await _stop_workers(procs)
        raise
    return procs, parts


async def _stop_workers(procs: list[asyncio.subprocess.Process]) -> None:
    for p in procs:
        if p.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            await asyncio.wait_for(p.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            await p.wait()


def _quiet_collector() -> None:
    """The lab's tables (users, CPEs) are built once and live until the end: keep them out of
    the collector's passes, and collect young objects less eagerly, so that the peers' cost per
    dial-out is their protocol work."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(gc.get_threshold()[0], 50_000), 20, 50)


async def run(path: str, *, workers: int = 1, index: int = 0, verbose: bool = False,
              commands_on_stdin: bool = False) -> int:
    lab = share(load_labfile(path), index, workers)
    rng = PooledRandom()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    started: list[Any] = []
    parts: list[str] = []
    children: list[asyncio.subprocess.Process] = []
    try:
        start_radius = _optional("engine.lab.radius_server", "start_radius_servers")
        if lab.radius and start_radius is not None:
            servers = start_radius(lab.radius, rng=rng)
            if asyncio.iscoroutine(servers):
                servers = await servers
            started.extend(servers or ())
            parts.append(f"radius={len(lab.radius)}")
        from .runner import LabDialer
        dialer = LabDialer(lab.cpe, rng) if lab.cpe else SimpleDialer()
        lacs = start_lacs(lab.lac, dialer, rng=rng)
        _quiet_collector()
        started.extend(lacs)
        parts.extend(f"lac {x.spec.name} {x.local_addr[0]}:{x.local_addr[1]}" for x in lacs)
        if index == 0 and workers > 1:
            children, more = await _start_workers(path, workers, verbose)
            parts.extend(more)
            parts.append(f"workers={workers}")
        watch = commands = None
        if lab.subscriber:
            from .runner import RunningLab
            running = RunningLab(lab, lacs=lacs)
            t0 = asyncio.get_running_loop().time()
            placed = running.dial_in(None)          # subscribers with an lns = address
            parts.append(f"subscribers {placed}")
            watch = asyncio.ensure_future(_report_up(running.subscribers, t0))
            if index == 0 and commands_on_stdin:
                commands = asyncio.ensure_future(_commands(running))
        print(READY + ", ".join(parts), flush=True)
        await stop.wait()
        for task in (watch, commands):
            if task is not None:
                task.cancel()
    finally:
        await _stop_workers(children)
        for s in started:
            close = getattr(s, "close", None)
            if close is not None:
                r = close()
                if asyncio.iscoroutine(r):
                    await r
    print("lab stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine.lab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("labfile")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--workers", type=int, default=1, metavar="N",
                    help="spread the peers over N processes (default 1)")
    ap.add_argument("--commands", action="store_true",
                    help="read lab commands on standard input (dial | ping USER DST [COUNT])")
    ap.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not 1 <= args.workers <= 64 or not 0 <= args.worker_index < args.workers:
        ap.error("--workers must be 1..64")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        return asyncio.run(run(args.labfile, workers=args.workers, index=args.worker_index,
                               verbose=args.verbose, commands_on_stdin=args.commands))
    except (LabFileError, OSError) as e:
        print(f"lab: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
