"""Clients of the local socket: `jcli attach` (this terminal becomes a line of the running
router) and `jcli --socket PATH -c CMD` / stdin (batch, with batch exit codes)."""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys
from typing import Any

EXIT_START = 2


def _connect(path: str) -> socket.socket | None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as e:
        print(f"% Cannot reach the router at {path}: {e.strerror or e}", file=sys.stderr)
        s.close()
        return None
    return s


def run_remote(path: str, lines: list[str], source: str) -> int:
    s = _connect(path)
    if s is None:
        return EXIT_START
    with s:
        s.sendall(json.dumps({"op": "run", "source": source, "lines": lines}).encode() + b"\n")
        f = s.makefile("rb")
        status = None
        out, err = sys.stdout, sys.stderr
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            tag, _, text = line.partition(" ")
            try:
                if tag == "o":
                    out.write(text + "\n")
                elif tag == "e":
                    out.flush()
                    err.write(text + "\n")
                    err.flush()
                elif tag == "x":
                    status = int(text) if text.isdigit() else 3
                    break
            except BrokenPipeError:
                break
        try:
            out.flush()
        except BrokenPipeError:
            pass
    if status is None:
        print("% The router closed the connection", file=sys.stderr)
        return 3
    return status


def attach(path: str) -> int:
    import termios
    import tty
    s = _connect(path)
    if s is None:
        return EXIT_START
    fd = sys.stdin.fileno()
    is_tty = os.isatty(fd)
    size = os.get_terminal_size(sys.stdout.fileno()) if os.isatty(1) else os.terminal_size((80, 24))
    header: dict[str, Any] = {"op": "attach", "term": os.environ.get("TERM", "vt100"),
                              "rows": size.lines, "cols": size.columns}
    s.sendall(json.dumps(header).encode() + b"\n")
    saved = termios.tcgetattr(fd) if is_tty else None
    resized = [False]

    def on_winch(_sig: int, _frame: Any) -> None:
        resized[0] = True
    old_winch = signal.signal(signal.SIGWINCH, on_winch)
    try:
        if is_tty:
            tty.setraw(fd)
        out = sys.stdout.buffer
        while True:
            if resized[0]:
                resized[0] = False
                sz = os.get_terminal_size(sys.stdout.fileno())
                s.sendall(b"W" + struct.pack("!HH", sz.lines, sz.columns))
            try:
                r, _, _ = select.select([s, fd], [], [], 1.0)
            except InterruptedError:
                continue
            if s in r:
                data = s.recv(65536)
                if not data:
                    break
                out.write(data)
                out.flush()
            if fd in r:
                data = os.read(fd, 4096)
                if not data:
                    break
                s.sendall(b"D" + struct.pack("!H", len(data)) + data)
    except (ConnectionError, OSError):
        pass
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, old_winch)
        s.close()
    return 0
