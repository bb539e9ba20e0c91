"""jcli: a JunOSe (E-series) router shell.

    jcli [--config FILE] [-c CMD ...] [--startup FILE] [--strict-startup] [--lab LABFILE]
         [--dataplane {sim,linux}] [--keep-namespaces] [--netns-prefix PREFIX]
         [--port NAME=IFNAME ...] [--ports FILE]
    jcli serve [router options as above] [--ssh ADDR:PORT]
               [--telnet ADDR:PORT] [--socket PATH] [--log FILE]
    jcli attach [--socket PATH]
    jcli --socket PATH [-c CMD ...]       (or a script on stdin) against the running router

Exit status: 0 success; 1 a command or a configuration line failed; 2 the router could not
start (or the startup configuration failed with --strict-startup); 3 an internal error.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from jcli.context import Options


def _router_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", action="append", default=[], metavar="FILE",
                   help="replay a configuration script at start (repeatable)")
    p.add_argument("--startup", default="startup.scr", metavar="FILE",
                   help="startup configuration file (default: startup.scr)")
    p.add_argument("--strict-startup", action="store_true",
                   help="do not start when the startup configuration cannot be fully loaded")
    p.add_argument("--lab", metavar="LABFILE", help="lab file (TOML)")
    p.add_argument("--dataplane", choices=("sim", "linux"), default="sim")
    p.add_argument("--keep-namespaces", action="store_true")
    p.add_argument("--netns-prefix", default="jcli-", metavar="PREFIX",
                   help="name prefix of the virtual routers' namespaces (default: jcli-)")
    p.add_argument("--port", action="append", default=[], metavar="NAME=IFNAME",
                   help="a physical port: NAME (gigabitEthernet1/0) is the Linux interface "
                        "IFNAME (repeatable)")
    p.add_argument("--ports", metavar="FILE", help="TOML file with a [ports] table of NAME = "
                   "\"IFNAME\"")


def _options(p: argparse.ArgumentParser, a: argparse.Namespace) -> Options:
    try:
        ports = parse_ports(a.port, a.ports)
    except ValueError as e:
        p.error(str(e))
    return Options(config=a.config, commands=getattr(a, "commands", []), lab=a.lab,
                   dataplane=a.dataplane, keep_namespaces=a.keep_namespaces, startup=a.startup,
                   strict_startup=a.strict_startup, ports=ports, netns_prefix=a.netns_prefix)


def serve_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="jcli serve", description="run the router as a service")
    _router_args(p)
    p.add_argument("--ssh", metavar="ADDR:PORT", help="SSH server address")
    p.add_argument("--telnet", metavar="ADDR:PORT", help="telnet server address")
    p.add_argument("--socket", metavar="PATH", help="local control socket")
    p.add_argument("--log", metavar="FILE", help="log file (default: stderr; SIGHUP reopens it)")
    a = p.parse_args(argv)
    from jcli.service.server import serve
    return serve(_options(p, a), socket_path=a.socket, ssh=a.ssh, telnet=a.telnet, log_path=a.log)


def attach_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="jcli attach", description="a shell on the running router")
    p.add_argument("--socket", metavar="PATH", help="the router's control socket")
    a = p.parse_args(argv)
    from jcli.service.client import attach
    from jcli.service.local import default_socket_path
    return attach(a.socket or default_socket_path())


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="jcli", description="JunOSe (E-series) router shell")
    p.add_argument("-c", dest="commands", action="append", default=[], metavar="CMD",
                   help="run CMD in privileged exec mode (repeatable), then exit")
    _router_args(p)
    p.add_argument("--socket", metavar="PATH",
                   help="run -c commands or the stdin script against the running router")
    a = p.parse_args(argv)
    if a.socket:
        raise _RemoteRun(a.socket, a.commands)
    return _options(p, a)


def parse_ports(pairs: list[str], path: str | None) -> dict[str, str]:
    """Port names to Linux interfaces from ``--ports FILE`` then ``--port NAME=IF``;
    ValueError names the bad entry."""
    import re
    import tomllib

    from jcli.commands.interfaces import canonical_port
    raw: list[tuple[str, object]] = []
    if path:
        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ValueError(f"--ports {path}: {e}") from None
        table = doc.get("ports")
        if not isinstance(table, dict) or set(doc) - {"ports"}:
            raise ValueError(f"--ports {path}: expected only a [ports] table")
        raw += list(table.items())
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--port {pair!r}: expected NAME=IFNAME")
        raw.append((key, value))
    ports: dict[str, str] = {}
    for name, ifname in raw:
        port = canonical_port(str(name))
        if port is None:
            raise ValueError(f"port {str(name)[:40]!r}: not a port name (gigabitEthernet1/0)")
        if not isinstance(ifname, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}",
                                                           ifname):
            raise ValueError(f"port {port}: bad Linux interface name {str(ifname)[:40]!r}")
        if ifname in ports.values() and ports.get(port) != ifname:
            raise ValueError(f"port {port}: Linux interface {ifname} is already a port")
        ports[port] = ifname
    return ports


EXIT_START = 2


class _RemoteRun(Exception):
    def __init__(self, path: str, commands: list[str]) -> None:
        self.path, self.commands = path, commands


def _stream_stdin() -> asyncio.Queue[str | None]:
    """Stdin lines as they arrive (a pipe or fifo need not reach EOF first), read by a daemon
    thread so that the event loop never waits for input; None marks the end."""
    import threading
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[str | None] = asyncio.Queue()

    def push(line: str | None) -> None:
        try:
            loop.call_soon_threadsafe(q.put_nowait, line)
        except RuntimeError:            # the loop is gone: the router is stopping
            pass

    # a reader of its own on a copy of the descriptor: sys.stdin's lock is never held by a
    # thread that may still be blocked in read() when the interpreter exits
    fd = os.dup(sys.stdin.fileno())
    try:
        os.set_blocking(fd, True)       # a non-blocking descriptor would look like EOF at once
    except OSError:
        pass
    stream = open(fd, "rb")

    def reader() -> None:
        try:
            _read_stdin(stream, emit=push)
        except (OSError, ValueError):
            pass
        finally:
            push(None)
    threading.Thread(target=reader, name="stdin", daemon=True).start()
    return q


def _read_stdin(stream=None, emit=None) -> list[str]:
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
            (emit or lines.append)(" " * (LINE_MAX + 1))
            continue
        line = b.decode("utf-8", "surrogateescape").rstrip("\n")
        (emit or lines.append)(line[:-1] if line.endswith("\r") else line)
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
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    ended_by: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        """A closed terminal (SIGHUP), SIGTERM, or SIGINT to a non-interactive run: stop
        what runs and shut the router down gracefully."""
        if not ended_by and task is not None:
            ended_by.append(sig.name)
            task.cancel()
    stop_signals = [signal.SIGTERM, signal.SIGHUP] + ([] if interactive else [signal.SIGINT])
    for sig in stop_signals:
        loop.add_signal_handler(sig, on_signal, sig)
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
            status = await shell.run_lines(_stream_stdin(), "stdin")
        else:
            status = await shell.interact()
        if not ok:
            status = status or 1
        return status
    except asyncio.CancelledError:
        if not ended_by:
            raise
        task.uncancel()                                   # type: ignore[union-attr]
        logging.getLogger(__name__).info("%s: shutting down", ended_by[0])
        return 0
    finally:
        for sig in stop_signals:
            loop.remove_signal_handler(sig)
        try:
            await asyncio.wait_for(close_shell(shell), 5.0)
        except TimeoutError:
            print("% The router did not stop within 5 s", file=sys.stderr)


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
    if not logging.getLogger().handlers:
        # warnings on stderr as before, each one escaped onto one line
        from jcli.views import SafeFormatter
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(SafeFormatter("%(message)s"))
        handler.setLevel(logging.WARNING)
        logging.getLogger().addHandler(handler)
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "serve":
        return serve_main(args[1:])
    if args and args[0] == "attach":
        return attach_main(args[1:])
    try:
        options = parse_args(args)
    except _RemoteRun as r:
        from jcli.service.client import run_remote
        if r.commands:
            return run_remote(r.path, r.commands, "-c")
        return run_remote(r.path, _read_stdin(), "stdin")
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
