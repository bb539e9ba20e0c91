"""`jcli serve`: the router with no terminal. It never reads stdin; it logs one line per event
to stderr (or --log FILE, reopened on SIGHUP) and keeps the last lines for `show logging`;
operators reach it over the local socket, telnet and SSH. SIGTERM or SIGINT: a graceful
shutdown (calls cleared, tunnels stopped, accounting stopped, namespaces removed), exit 0."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

from jcli.auth import Authenticator
from jcli.context import Options, Output
from jcli.service.logbuf import LOG_BUFFER, LineHandler
from jcli.service.sessions import SessionTable

log = logging.getLogger("jcli.service.server")
SHUTDOWN_GRACE = 4.0          # seconds the engine gets to say goodbye (CDN, StopCCN, Stop)


class LogOutput(Output):
    """Output of the start-up configuration: to the log."""

    def write(self, line: str) -> None:
        if line.strip():
            logging.getLogger("jcli.service.config").info("%s", line)

    def error(self, line: str) -> None:
        logging.getLogger("jcli.service.config").warning("%s", line)


def setup_logging(path: str | None) -> LineHandler:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = LineHandler(path)
    root.addHandler(handler)
    root.addHandler(LOG_BUFFER)
    root.setLevel(logging.INFO)
    return handler


class Service:
    def __init__(self, options: Options, *, socket_path: str, ssh: str | None = None,
                 telnet: str | None = None, log_path: str | None = None) -> None:
        self.options = options
        self.socket_path = socket_path
        self.ssh_addr = ssh
        self.telnet_addr = telnet
        self.log_path = log_path
        self.listeners: list[Any] = []
        self.stopping = asyncio.Event()
        self.table: SessionTable | None = None
        self.shell: Any = None

    async def run(self) -> int:
        from jcli.app import build_shell, close_shell
        from jcli.bridge import RouterEngine
        handler = setup_logging(self.log_path)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop, sig)
        loop.add_signal_handler(signal.SIGHUP, self._reopen, handler)
        holder: dict[str, SessionTable] = {}

        def route(line: str) -> None:
            t = holder.get("t")
            if t is not None:
                t.route_output(line)
            else:
                logging.getLogger("jcli.service.engine").info("%s", line)

        def factory(ctx: Any) -> Any:
            return RouterEngine(self.options, output=route, model=ctx.config)
        try:
            self.shell = await build_shell(self.options, factory, output=LogOutput())
        except Exception as e:
            log.error("cannot start: %s", e)
            return 2
        ctx = self.shell.ctx
        table = SessionTable(ctx.config, ctx.engine, self.options, Authenticator(ctx.config, ctx.engine))
        holder["t"] = self.table = table
        status = 0
        try:
            ok = await self.shell.load_startup()
            if not ok and self.options.strict_startup:
                log.error("startup configuration not fully loaded (--strict-startup): not starting")
                return 2
            await self._listen(table)
            log.info("router %s running (pid %d)", ctx.config.hostname, os.getpid())
            await self.stopping.wait()
        except OSError as e:
            log.error("cannot start: %s", e)
            status = 2
        finally:
            log.info("shutting down")
            table.close_all("the router is shutting down")
            for lst in self.listeners:
                try:
                    await lst.close()
                except Exception:
                    log.debug("listener close failed", exc_info=True)
            try:
                await asyncio.wait_for(close_shell(self.shell), SHUTDOWN_GRACE)
            except TimeoutError:
                log.error("engine did not stop within %.0f s", SHUTDOWN_GRACE)
                status = status or 1
            log.info("stopped")
        return status

    async def _listen(self, table: SessionTable) -> None:
        from jcli.service.local import LocalServer
        from jcli.service.remote import SshService, TelnetService, host_key_path
        lst: list[Any] = [LocalServer(table, self.socket_path)]
        if self.telnet_addr:
            lst.append(TelnetService(table, self.telnet_addr))
        if self.ssh_addr:
            lst.append(SshService(table, self.ssh_addr, host_key_path(self.options.startup)))
        for x in lst:
            await x.start()
            self.listeners.append(x)

    def _stop(self, sig: int) -> None:
        log.info("%s received", signal.Signals(sig).name)
        self.stopping.set()

    def _reopen(self, handler: LineHandler) -> None:
        handler.reopen()
        log.info("SIGHUP: log reopened")


def serve(options: Options, *, socket_path: str | None, ssh: str | None, telnet: str | None,
          log_path: str | None) -> int:
    from jcli.service.local import default_socket_path
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)      # never reads stdin: no terminal ties
        os.dup2(devnull, 0)
        os.close(devnull)
    except OSError:
        pass
    svc = Service(options, socket_path=socket_path or default_socket_path(), ssh=ssh,
                  telnet=telnet, log_path=log_path)
    try:
        return asyncio.run(svc.run())
    except KeyboardInterrupt:                            # pragma: no cover - before the loop
        return 0
    except Exception as e:
        print(f"% Cannot start: {e}", file=sys.stderr)
        return 2
