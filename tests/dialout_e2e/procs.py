"""External processes of the interop test: FreeRADIUS (config from
tests/interop/freeradius), the lab peers in their own process, and a tcpdump capture.  Each is
started with its pid recorded and stopped by that pid."""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.interop import RADIUS_SECRET, freeradius_files
from tests.needs import tool
from tests.present import present

REPO = Path(__file__).resolve().parents[2]
FR_SECRET = RADIUS_SECRET


def freeradius_binary() -> str | None:
    return tool("freeradius")


def stop_pid(proc: subprocess.Popen | None, sig=signal.SIGTERM, wait: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(wait)


def _udp_bound(host: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def freeradius_users(entries: dict[str, tuple[str, dict]]) -> str:
    """users-file text: name -> (check items, reply items)."""
    out = []
    for name, (check, reply) in entries.items():
        out.append(f'"{name}"\t{check}')
        items = []
        for k, v in reply.items():
            for one in (v if isinstance(v, list) else [v]):
                if isinstance(one, int) or k in ("Service-Type", "Framed-Protocol") or \
                        k.split(":")[0] in ("Tunnel-Type", "Tunnel-Medium-Type",
                                            "ERX-PPP-Auth-Protocol"):
                    items.append(f"\t{k} = {one}")
                else:
                    items.append(f'\t{k} = "{one}"')
        out.append(",\n".join(items))
        out.append("")
    return "\n".join(out) + "\n"


class FreeRadius:
    def __init__(self, workdir: Path, users: str, auth_port: int, acct_port: int) -> None:
        self.dir = workdir
        self.users = users
        self.auth_port, self.acct_port = auth_port, acct_port
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> FreeRadius:
        freeradius_files(self.dir, auth_port=self.auth_port, acct_port=self.acct_port,
                         extra_users=self.users)
        self.proc = subprocess.Popen(
            [present(freeradius_binary()), "-f", "-d", str(self.dir), "-l", str(self.dir / "radius.log")],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "stderr", "w"))
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("freeradius exited: " + self.log())
            if _udp_bound("127.0.0.1", self.auth_port) and _udp_bound("127.0.0.1",
                                                                      self.acct_port):
                return self
            time.sleep(0.02)
        raise RuntimeError("freeradius did not start: " + self.log())

    def log(self) -> str:
        return "\n".join((self.dir / n).read_text(errors="replace")[-2000:]
                         for n in ("stderr", "radius.log") if (self.dir / n).exists())

    def stop(self) -> None:
        stop_pid(self.proc)


def _read_line_until(proc: subprocess.Popen, stream, needle: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    seen: list[bytes] = []
    fd = stream.fileno()
    buf = b""
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited: {b''.join(seen)!r}{buf!r}")
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            continue
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            seen.append(line + b"\n")
            if needle.encode() in line:
                return line.decode(errors="replace")
    raise RuntimeError(f"no {needle!r} from {proc.args!r} within {timeout} s: {seen!r}{buf!r}")


class LabProcess:
    """The lab peers of ``labfile`` in a child process (``module`` is run with ``-m``)."""

    def __init__(self, labfile: Path, module: str = "engine.lab") -> None:
        self.labfile = labfile
        self.module = module
        self.proc: subprocess.Popen | None = None
        self.ready_line = ""

    def start(self, timeout: float = 15.0) -> LabProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, str(self.labfile)],
                                     cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.ready_line = _read_line_until(self.proc, self.proc.stdout, "lab ready", timeout)
        return self

    def stop(self) -> None:
        stop_pid(self.proc)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


class Capture:
    """tcpdump on lo into ``path`` with a BPF ``bpf`` filter."""

    def __init__(self, path: Path, bpf: str) -> None:
        self.path, self.bpf = path, bpf
        self.proc: subprocess.Popen | None = None

    def start(self) -> Capture:
        self.proc = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-w", str(self.path),
                                      self.bpf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        _read_line_until(self.proc, self.proc.stderr, "listening on", 15)
        return self

    def stop(self) -> None:
        stop_pid(self.proc, signal.SIGINT)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
