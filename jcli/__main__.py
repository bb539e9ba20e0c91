"""jcli: a JunOSe (E-series) router shell.

    jcli [--config FILE] [-c CMD ...] [--startup FILE] [--strict-startup] [--lab LABFILE]
         [--dataplane {sim,linux}] [--keep-namespaces]

Exit status: 0 success; 1 a command or a configuration line failed; 2 the router could not
start (or the startup configuration failed with --strict-startup); 3 an internal error.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
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
    p.add_argument("--strict-startup", action="store_true",
                   help="do not start when the startup configuration cannot be fully loaded")
    p.add_argument("--lab", metavar="LABFILE", help="lab file (TOML)")
    p.add_argument("--dataplane", choices=("sim", "linux"), default="sim")
    p.add_argument("--keep-namespaces", action="store_true")
    a = p.parse_args(argv)
    return Options(config=a.config, commands=a.commands, lab=a.lab, dataplane=a.dataplane,
                   keep_namespaces=a.keep_namespaces, startup=a.startup,
                   strict_startup=a.strict_startup)


EXIT_START = 2


def _read_stdin(stream=None) -> list[str]:
    """Script lines from stdin. Bytes that are not UTF-8 stay in the line as lone surrogates
    and are refused by the value types, with the line's number. A line longer than a command
    line may be is not kept in memory: it becomes a placeholder the executor refuses as too
    long."""
    from jcli.executor import LINE_MAX
    f = stream if stream is not None else sys.stdin.buffer
    cap = 4 * LINE_MAX + 8                    # bytes: LINE_MAX characters of UTF-8 at most
    lines: list[str] = []
    while True:
        b = f.readline(cap)
        if not b:
            break
        if len(b) >= cap and not b.endswith(b"\n"):
            while True:                       # skip the rest of the overlong line
                more = f.readline(1 << 16)
                if not more or more.endswith(b"\n"):
                    break
            lines.append(" " * (LINE_MAX + 1))
            continue
        line = b.decode("utf-8", "surrogateescape").rstrip("\n")
        lines.append(line[:-1] if line.endswith("\r") else line)
    return lines


async def amain(options: Options, engine_factory=None) -> int:
    from engine.dataplane.linux import DataplaneUnavailable
    from jcli.app import build_shell, close_shell

    batch = bool(options.commands) or not sys.stdin.isatty()
    interactive = not batch and sys.stdout.isatty()
    try:
        shell = await build_shell(options, engine_factory, interactive=interactive)
    except (DataplaneUnavailable, KeyboardInterrupt):
        raise
    except Exception as e:             # lab file, ports, namespaces: one line, no traceback
        logging.getLogger(__name__).debug("start failed", exc_info=True)
        print(f"% Cannot start: {_one_line(e)}", file=sys.stderr)
        return EXIT_START
    try:
        ok = await shell.load_startup()
        if not ok and options.strict_startup:
            print("% Startup configuration not fully loaded (--strict-startup): not starting",
                  file=sys.stderr)
            return EXIT_START
        dial_in = getattr(shell.ctx.engine, "dial_in_lab", None)
        if dial_in is not None:            # lab subscribers dial in to the configured router
            dial_in()
        if options.commands:
            status = await shell.run_lines(options.commands, "-c")
        elif batch:
            status = await shell.run_lines(_read_stdin(), "stdin")
        else:
            status = await shell.interact()
        if not ok:
            status = status or 1
        return status
    finally:
        await close_shell(shell)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    fname = getattr(e, "filename", None)
    if fname and str(fname) not in text:
        text = f"{fname}: {text}"
    return text[:300]


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
