"""Fixtures/helpers for the independent peers: xl2tpd, tcpdump + tshark validation."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.shared_paths import INTEROP
if not INTEROP.exists():
    INTEROP = Path(__file__).resolve().parents[3] / "shared" / "interop"


def tool(name: str) -> str | None:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)),
                                      None)


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
            proc.wait(timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


class Xl2tpd:
    """xl2tpd with a config derived from the shared interop xl2tpd.conf, in its own temp dir."""

    def __init__(self, tmp: Path, *, port: int, lac_target: tuple[str, int]):
        self.dir = tmp
        self.port = port
        src = (INTEROP / "xl2tpd.conf").read_text() if (INTEROP / "xl2tpd.conf").exists() else ""
        text = src.replace("/tmp/xl2tpd/", f"{tmp}/")
        text = text.replace("port = 1701", f"port = {port}")
        text = text.replace("lns = 127.0.0.1:17011", f"lns = {lac_target[0]}:{lac_target[1]}")
        assert f"port = {port}" in text and f"{lac_target[0]}:{lac_target[1]}" in text, "unexpected xl2tpd.conf"
        (tmp / "xl2tpd.conf").write_text(text)
        (tmp / "l2tp-secrets").write_text('* * ""\n')
        os.chmod(tmp / "l2tp-secrets", 0o600)
        (tmp / "options.lns").write_text("")
        (tmp / "options.lac").write_text("")
        self.pidfile = tmp / "xl2tpd.pid"
        self.ctrl = tmp / "l2tp-control"
        self.logfile = tmp / "xl2tpd.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Xl2tpd":
        log = open(self.logfile, "wb")
        self.proc = subprocess.Popen([tool("xl2tpd"), "-D", "-c", str(self.dir / "xl2tpd.conf"),
                                      "-s", str(self.dir / "l2tp-secrets"), "-p", str(self.pidfile),
                                      "-C", str(self.ctrl)], stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        log.close()
        for _ in range(100):
            if b"Listening on IP address" in self.logfile.read_bytes():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("xl2tpd did not start: " + self.log())

    def command(self, line: str) -> None:
        fd = os.open(self.ctrl, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


class Capture:
    """tcpdump -i lo with a port filter, started and stopped by pid."""

    def __init__(self, path: Path, ports: list[int]):
        self.path = path
        self.ports = ports
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Capture":
        flt = " or ".join(f"udp port {p}" for p in self.ports)
        self.proc = subprocess.Popen([tool("tcpdump"), "-i", "lo", "-n", "-U", "--immediate-mode", "-B", "65536", "-w", str(self.path), flt],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        line = self.proc.stderr.readline()
        if b"listening on" not in line:
            _stop(self.proc)
            raise RuntimeError(f"tcpdump did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            # let tcpdump drain its ring buffer: wait until the file stops growing
            last, stable = -1, 0
            for _ in range(40):
                time.sleep(0.1)
                size = self.path.stat().st_size if self.path.exists() else 0
                stable = stable + 1 if size == last else 0
                last = size
                if stable >= 3:
                    break
            _stop(self.proc, signal.SIGTERM)
            self.stats = self.proc.stderr.read().decode(errors="replace")
            self.proc.stderr.close()

    def validate(self) -> tuple[bool, str]:
        args = ["sh", str(INTEROP / "validate_pcap.sh"), str(self.path), "testing123"]
        for p in self.ports:
            args += ["-d", f"udp.port=={p},l2tp"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return r.returncode == 0, r.stdout + r.stderr + getattr(self, "stats", "")

    def count_l2tp(self) -> int:
        args = [tool("tshark"), "-r", str(self.path), "-n"]
        for p in self.ports:
            args += ["-d", f"udp.port=={p},l2tp"]
        args += ["-Y", "l2tp", "-T", "fields", "-e", "frame.number"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return len(r.stdout.split())

    def l2tp_types(self) -> list[str]:
        args = [tool("tshark"), "-r", str(self.path), "-n"]
        for p in self.ports:
            args += ["-d", f"udp.port=={p},l2tp"]
        args += ["-Y", "l2tp.type == 1", "-T", "fields", "-e", "l2tp.avp.message_type"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return [x for x in r.stdout.split() if x]


def need(*names: str) -> None:
    for n in names:
        if tool(n) is None:
            pytest.skip(f"{n} not installed")
    if "tcpdump" in names and os.geteuid() != 0:
        pytest.skip("tcpdump on lo needs root")
