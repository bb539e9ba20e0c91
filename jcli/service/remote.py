"""Telnet (prompt_toolkit's telnet server) and SSH (asyncssh with prompt_toolkit's SSH
support): `User:`/`Password:` or SSH password authentication against the operator accounts,
then the same shell as the console. An SSH exec request (`ssh host1 'show version'`) runs its
command line as a script in the operator's privilege."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from jcli.service.sessions import SessionTable
from jcli.service.terminal import NO_ACCOUNTS, login, run_shell, shell_output

log = logging.getLogger("jcli.service.remote")


def parse_addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text}: expected ADDRESS:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


class TelnetService:
    def __init__(self, table: SessionTable, addr: str) -> None:
        self.table = table
        self.host, self.port = parse_addr(addr)
        self.server: Any = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from prompt_toolkit.contrib.telnet.server import TelnetServer
        self.server = TelnetServer(host=self.host, port=self.port, interact=self._interact,
                                   enable_cpr=False)
        ready = asyncio.Event()
        self.task = asyncio.ensure_future(self.server.run(ready_cb=ready.set))
        done, _ = await asyncio.wait([self.task, asyncio.ensure_future(ready.wait())],
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            self.task.result()           # raises the bind error
        log.info("telnet listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    async def _interact(self, conn: Any) -> None:
        source = f"{conn.addr[0]}:{conn.addr[1]}"

        def say(line: str) -> None:
            conn.send(line + "\n")
        result = await login(self.table, say, source)
        if result is None:
            return
        try:
            s = self.table.open("telnet", result.user, source, shell_output(), trusted=False,
                                privilege=result.privilege, interactive=True)
        except OverflowError:
            say("% Too many sessions")
            return
        s.closer = conn.close
        s.task = asyncio.current_task()
        conn.vt100_input = _CtrlC(conn.vt100_input, s)
        await run_shell(self.table, s)


class _CtrlC:
    """The telnet connection's input as its protocol parser sees it: Ctrl-C while a command
    runs stops that command instead of waiting in the input."""

    def __init__(self, inp: Any, line: Any) -> None:
        self._inp = inp
        self._line = line

    def send_bytes(self, data: bytes) -> None:
        if b"\x03" in data and self._line.interrupt():
            return
        self._inp.send_bytes(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inp, name)


def host_key_path(startup_path: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(startup_path)), "ssh_host_ed25519_key")


def load_host_key(path: str) -> Any:
    """The SSH host key, generated once (mode 0600) and kept."""
    import asyncssh
    if not os.path.exists(path):
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key())
        log.info("generated SSH host key %s", path)
    return asyncssh.read_private_key(path)


class SshService:
    def __init__(self, table: SessionTable, addr: str, key_path: str) -> None:
        self.table = table
        self.host, self.port = parse_addr(addr)
        self.key_path = key_path
        self.server: Any = None

    async def start(self) -> None:
        import asyncssh
        key = load_host_key(self.key_path)
        self.server = await asyncssh.create_server(
            lambda: _make_server(self), self.host, self.port, server_host_keys=[key],
            login_timeout=60, keepalive_interval=60)
        log.info("SSH listening on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def _make_server(svc: SshService) -> Any:
    from prompt_toolkit.contrib.ssh.server import PromptToolkitSSHServer, PromptToolkitSSHSession

    class Session(PromptToolkitSSHSession):
        command: str | None = None

        def exec_requested(self, command: str) -> bool:
            self.command = command
            return True

        line: Any = None                               # the Session of this channel

        def data_received(self, data: str, datatype: object) -> None:
            if "\x03" in data and self.line is not None and self.line.interrupt():
                return                                 # Ctrl-C stopped the running command
            super().data_received(data, datatype)

        def eof_received(self) -> bool:
            """End of the operator's input: what was typed still runs, then the line ends
            (returning False would close the channel before the output is out)."""
            if self.command is None and self._input is not None:
                self._input.send_text("\x04")
            return True

        def connection_lost(self, exc: Exception | None) -> None:
            if self.interact_task is not None and not self.interact_task.done():
                self.interact_task.cancel()       # the client went away: the line ends

        def session_started(self) -> None:
            if self.command is None:
                super().session_started()
                return
            self.interact_task = asyncio.ensure_future(server.run_exec(self, self.command))

    class Server(PromptToolkitSSHServer):
        def __init__(self) -> None:
            super().__init__(self.interact_shell, enable_cpr=False)
            self.result: Any = None
            self.source = "?"
            self.conn: Any = None

        def connection_made(self, conn: Any) -> None:
            self.conn = conn
            peer = conn.get_extra_info("peername") or ("?", 0)
            self.source = f"{peer[0]}:{peer[1]}"

        def begin_auth(self, username: str) -> bool:
            if not svc.table.authenticator.has_accounts():
                try:
                    self.conn.send_auth_banner(NO_ACCOUNTS + "\r\n")
                except Exception:
                    pass
            return True

        def password_auth_supported(self) -> bool:
            return True

        async def validate_password(self, username: str, password: str) -> bool:
            if not svc.table.authenticator.has_accounts():
                log.warning("SSH login from %s refused: no operator account configured",
                            self.source)
                return False
            self.result = await svc.table.authenticator.login(username, password, self.source)
            return self.result is not None

        def session_requested(self) -> Any:
            return Session(self.interact, enable_cpr=False)

        async def interact_shell(self, ssh_session: Any) -> None:
            try:
                s = svc.table.open("ssh", self.result.user, self.source, shell_output(),
                                   trusted=False, privilege=self.result.privilege,
                                   interactive=True)
            except OverflowError:
                ssh_session._chan.write("% Too many sessions\r\n")
                return
            s.closer = ssh_session._chan.close
            s.task = asyncio.current_task()
            ssh_session.line = s
            await run_shell(svc.table, s)

        async def run_exec(self, ssh_session: Any, command: str) -> None:
            from jcli.app import Shell
            from jcli.context import StreamOutput
            chan = ssh_session._chan

            class ChanStream:
                def __init__(self, stderr: bool) -> None:
                    self.stderr = stderr

                def write(self, text: str) -> None:
                    data = text.replace("\n", "\r\n") if chan.get_terminal_type() else text
                    if self.stderr:
                        chan.write_stderr(data)
                    else:
                        chan.write(data)

                def flush(self) -> None:
                    pass
            status = 2
            try:
                s = svc.table.open("ssh", self.result.user, self.source,
                                   StreamOutput(ChanStream(False), ChanStream(True)),
                                   trusted=False, privilege=self.result.privilege,
                                   interactive=False)
                s.closer = chan.close
                s.task = asyncio.current_task()
                try:
                    status = await Shell(s.ctx, s.executor).run_lines(command.split("\n"), "ssh")
                finally:
                    svc.table.remove(s)
            except OverflowError:
                chan.write_stderr("% Too many sessions\n")
            finally:
                chan.exit(status)

    server = Server()
    return server
