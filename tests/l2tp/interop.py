"""Fixtures/helpers for the independent peers: xl2tpd, tcpdump + tshark validation."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

from tests.interop import RADIUS_SECRET, xl2tpd_conf
from tests.interop.validate_pcap import validate
from tests.needs import tool
from tests.wait import Timeout, file_settled, wait_until

__all__ = ["Capture", "Xl2tpd", "free_udp_port", "tool"]


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
    """xl2tpd with tests/interop/xl2tpd.conf, in its own temp dir."""

    def __init__(self, tmp: Path, *, port: int, lac_target: tuple[str, int]):
        self.dir = tmp
        self.port = port
        (tmp / "xl2tpd.conf").write_text(xl2tpd_conf(tmp, port=port, lac_target=lac_target))
        (tmp / "l2tp-secrets").write_text('* * ""\n')
        os.chmod(tmp / "l2tp-secrets", 0o600)
        (tmp / "options.lns").write_text("")
        (tmp / "options.lac").write_text("")
        self.pidfile = tmp / "xl2tpd.pid"
        self.ctrl = tmp / "l2tp-control"
        self.logfile = tmp / "xl2tpd.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Xl2tpd:
        log = open(self.logfile, "wb")
        self.proc = subprocess.Popen([str(tool("xl2tpd")), "-D", "-c", str(self.dir / "xl2tpd.conf"),
                                      "-s", str(self.dir / "l2tp-secrets"), "-p", str(self.pidfile),
                                      "-C", str(self.ctrl)], stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        log.close()
        proc = self.proc
        try:
            wait_until(lambda: b"Listening on IP address" in self.logfile.read_bytes()
                       or proc.poll() is not None, timeout=5)
        except Timeout:
            pass
        if proc.poll() is None and b"Listening on IP address" in self.logfile.read_bytes():
            return self
        self.stop()
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

    def start(self) -> Capture:
        flt = " or ".join(f"udp port {p}" for p in self.ports)
        self.proc = subprocess.Popen([str(tool("tcpdump")), "-i", "lo", "-n", "-U", "--immediate-mode",
                                      "-B", "65536", "-w", str(self.path), flt],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if b"listening on" not in line:
            _stop(self.proc)
            raise RuntimeError(f"tcpdump did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            # let tcpdump drain its ring buffer: wait until the file stops growing
            file_settled(self.path, quiet=0.3, timeout=4)
            _stop(self.proc, signal.SIGTERM)
            assert self.proc.stderr is not None
            self.stats = self.proc.stderr.read().decode(errors="replace")
            self.proc.stderr.close()

    def validate(self) -> tuple[bool, str]:
        verdict = validate(self.path, RADIUS_SECRET, [f"udp.port=={p},l2tp" for p in self.ports])
        return verdict.ok, verdict.report(self.path) + getattr(self, "stats", "")

    def count_l2tp(self) -> int:
        args = [str(tool("tshark")), "-r", str(self.path), "-n"]
        for p in self.ports:
            args += ["-d", f"udp.port=={p},l2tp"]
        args += ["-Y", "l2tp", "-T", "fields", "-e", "frame.number"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return len(r.stdout.split())

    def l2tp_types(self) -> list[str]:
        args = [str(tool("tshark")), "-r", str(self.path), "-n"]
        for p in self.ports:
            args += ["-d", f"udp.port=={p},l2tp"]
        args += ["-Y", "l2tp.type == 1", "-T", "fields", "-e", "l2tp.avp.message_type"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        return [x for x in r.stdout.split() if x]
