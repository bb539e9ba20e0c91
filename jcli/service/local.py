"""The local control socket: `jcli attach` (a terminal relayed over the socket) and
`jcli --socket PATH -c CMD` / stdin scripts (lines run in privileged exec, output framed).

The client's first line is a JSON header: {"op": "attach", "term": T, "rows": R, "cols": C}
or {"op": "run", "source": "-c"|"stdin", "lines": [...]}.
attach: client -> server frames b"D" + 2-byte length + bytes (keys) or b"W" + rows + cols
(2 bytes each); server -> client: the terminal output as is.
run: server -> client lines "o TEXT" (stdout), "e TEXT" (stderr), and last "x STATUS".
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import pwd
import socket
import struct
from typing import Any

from jcli.context import Output
from jcli.service.sessions import SessionTable

log = logging.getLogger("jcli.service.local")
HEADER_MAX = 8 << 20            # a run request carries its script: at most 8 MiB


def default_socket_path() -> str:
    if os.geteuid() == 0:
        return "/run/jcli/jcli.sock"
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/jcli-{os.geteuid()}"
    return os.path.join(base, "jcli", "jcli.sock")


def _peer(writer: asyncio.StreamWriter) -> tuple[str, bool]:
    """(user name, trusted): the peer's uid from SO_PEERCRED; root or our own uid is trusted."""
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
    except (OSError, AttributeError):
        return "unknown", False
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return name, uid in (0, os.geteuid())


class FramedOutput(Output):
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.broken = False

    def _put(self, tag: str, line: str) -> None:
        if self.writer.is_closing():
            self.broken = True
            return
        self.writer.write(f"{tag} {line.replace(chr(10), ' ')}\n".encode("utf-8", "replace"))

    def write(self, line: str) -> None:
        self._put("o", line)

    def error(self, line: str) -> None:
        self._put("e", line)

    def show(self, lines: list[str]) -> None:
        if self.writer.is_closing():
            self.broken = True
            return
        self.writer.write("".join(f"o {x.replace(chr(10), ' ')}\n" for x in lines)
                          .encode("utf-8", "replace"))


class _SocketStdout:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    def write(self, data: str) -> None:
        if not self.writer.is_closing():
            self.writer.write(data.replace("\n", "\r\n").encode("utf-8", "replace"))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    @property
    def encoding(self) -> str:
        return "utf-8"

    def fileno(self) -> int:
        raise OSError("no file descriptor")


class LocalServer:
    def __init__(self, table: SessionTable, path: str) -> None:
        self.table = table
        self.path = path
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        d = os.path.dirname(self.path)
        os.makedirs(d, mode=0o700, exist_ok=True)
        if os.path.exists(self.path):
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(self.path)
            except OSError:
                os.unlink(self.path)          # left by a router that did not stop cleanly
            else:
                raise OSError(f"{self.path}: another router is already running")
            finally:
                probe.close()
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(self._handle, self.path,
                                                          limit=HEADER_MAX)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        log.info("listening on %s", self.path)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
            try:
                os.unlink(self.path)
            except OSError:
                pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        user, trusted = _peer(writer)
        try:
            raw = await asyncio.wait_for(reader.readline(), 30)
            header = json.loads(raw.decode("utf-8", "surrogateescape")) if raw else None
            if not isinstance(header, dict):
                raise ValueError("no header")
        except (TimeoutError, ValueError, asyncio.LimitOverrunError, UnicodeError):
            writer.write(b"e % Malformed request\nx 2\n")
            writer.close()
            return
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            return
        if not trusted:
            writer.write(b"e % Permission denied\nx 2\n")
            writer.close()
            return
        try:
            if header.get("op") == "run":
                await self._run(header, writer, user)
            elif header.get("op") == "attach":
                await self._attach(header, reader, writer, user)
            else:
                writer.write(b"e % Unknown request\nx 2\n")
        except (ConnectionError, OSError):
            pass
        except Exception:
            log.exception("local session failed")
        finally:
            writer.close()

    async def _run(self, header: dict[str, Any], writer: asyncio.StreamWriter, user: str) -> None:
        from jcli.app import Shell
        lines = header.get("lines")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            writer.write(b"e % Malformed request\nx 2\n")
            return
        source = header.get("source") if header.get("source") in ("-c", "stdin") else "-c"
        out = FramedOutput(writer)
        s = self.table.open("sock", user, "local", out, trusted=True, privilege=15,
                            interactive=False)
        s.notify = out.write
        s.task = asyncio.current_task()
        try:
            status = await Shell(s.ctx, s.executor).run_lines(lines, str(source))
        finally:
            self.table.remove(s)
        writer.write(f"x {status}\n".encode())
        await writer.drain()

    async def _attach(self, header: dict[str, Any], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, user: str) -> None:
        from prompt_toolkit.application.current import create_app_session
        from prompt_toolkit.data_structures import Size
        from prompt_toolkit.input import create_pipe_input
        from prompt_toolkit.output.vt100 import Vt100_Output

        from jcli.service.terminal import run_shell, shell_output
        size = [_int(header.get("rows"), 24), _int(header.get("cols"), 80)]
        term = str(header.get("term") or "vt100")[:40]
        stdout: Any = _SocketStdout(writer)
        output = Vt100_Output(stdout, lambda: Size(rows=size[0], columns=size[1]), term=term,
                              enable_cpr=False)
        with create_pipe_input() as inp, create_app_session(input=inp, output=output) as app_s:
            s = self.table.open("con", user, "local attach", shell_output(), trusted=True,
                                privilege=15, interactive=True)
            s.closer = writer.close
            shell = asyncio.ensure_future(run_shell(self.table, s))
            s.task = shell

            async def pump() -> None:
                try:
                    while True:
                        kind = await reader.readexactly(1)
                        if kind == b"D":
                            (n,) = struct.unpack("!H", await reader.readexactly(2))
                            data = await reader.readexactly(n)
                            if b"\x03" in data and s.interrupt():
                                continue            # Ctrl-C stopped the running command
                            inp.send_bytes(data)
                        elif kind == b"W":
                            r, c = struct.unpack("!HH", await reader.readexactly(4))
                            size[:] = [max(r, 1), max(c, 1)]
                            if app_s.app is not None:
                                app_s.app._on_resize()
                        else:
                            break
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                shell.cancel()
            keys = asyncio.ensure_future(pump())
            try:
                await shell
            except asyncio.CancelledError:
                if not s.closed and asyncio.current_task() is not None \
                        and asyncio.current_task().cancelling():   # type: ignore[union-attr]
                    raise
            finally:
                keys.cancel()
                self.table.remove(s)


def _int(v: Any, default: int) -> int:
    return v if isinstance(v, int) and 1 <= v <= 1000 else default
