"""jcli: a JunOSe (E-series) router shell.

    jcli [--config FILE] [-c CMD ...] [--startup FILE] [--lab LABFILE] [--dataplane {sim,linux}]
         [--keep-namespaces]
"""
from __future__ import annotations

import argparse
import asyncio
import sys

from jcli.context import Options


def parse_args(argv=None) -> Options:
    p = argparse.ArgumentParser(prog="jcli", description="JunOSe (E-series) router shell")
    p.add_argument("-c", dest="commands", action="append", default=[], metavar="CMD",
                   help="run CMD in privileged exec mode (repeatable), then exit")
    p.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="replay a configuration script at start (repeatable)")
    p.add_argument("--startup", default="startup.scr", metavar="FILE",
                   help="startup configuration file (default: startup.scr)")
    p.add_argument("--lab", metavar="LABFILE", help="lab file (TOML)")
    p.add_argument("--dataplane", choices=("sim", "linux"), default="sim")
    p.add_argument("--keep-namespaces", action="store_true")
    a = p.parse_args(argv)
    return Options(config=a.config, commands=a.commands, lab=a.lab, dataplane=a.dataplane,
                   keep_namespaces=a.keep_namespaces, startup=a.startup)


async def amain(options: Options, engine_factory=None) -> int:
    from jcli.app import build_shell, close_shell

    batch = bool(options.commands) or not sys.stdin.isatty()
    interactive = not batch and sys.stdout.isatty()
    shell = await build_shell(options, engine_factory, interactive=interactive)
    try:
        ok = await shell.load_startup()
        if options.commands:
            status = await shell.run_lines(options.commands)
        elif batch:
            status = await shell.run_lines(sys.stdin.read().splitlines())
        else:
            status = await shell.interact()
        if not ok:
            status = status or 1
        return status
    finally:
        await close_shell(shell)


def engine_factory(options: Options):
    """The dial-out engine (and the lab peers of --lab) behind the shell."""
    def make(ctx):
        from jcli.bridge import RouterEngine
        return RouterEngine(options, output=lambda line: print(line, flush=True),
                            model=ctx.config)
    return make


def main(argv=None) -> int:
    options = parse_args(argv)
    from engine.dataplane.linux import DataplaneUnavailable
    try:
        return asyncio.run(amain(options, engine_factory(options)))
    except DataplaneUnavailable as e:
        print(f"% {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
