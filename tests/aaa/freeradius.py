"""Start a FreeRADIUS 3 server and a tcpdump capture for interop tests and the
benchmark: configuration from tests/interop/freeradius, own temp dir, free ports,
stopped by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.interop import RADIUS_SECRET, freeradius_files
from tests.interop.validate_pcap import validate
from tests.needs import tool
from tests.wait import file_settled

SECRET = RADIUS_SECRET.encode()

EXTRA_USERS = '''
# full dial-out grants (with and without route distinguisher)
"0.0.0.0:65000/10.10.5.5@L2TP-dial-out.de.dt"	Auth-Type := Accept
	Service-Type = Outbound-User,
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IPv4,
	Tunnel-Server-Endpoint:1 = "127.0.0.2",
	Tunnel-Client-Endpoint:1 = "127.0.0.1",
	Tunnel-Password:1 = "secret-one",
	Tunnel-Preference:1 = 2,
	Tunnel-Assignment-Id:1 = "lac1",
	Tunnel-Client-Auth-Id:1 = "lns-test",
	Tunnel-Server-Auth-Id:1 = "lac1",
	Tunnel-Type:2 = L2TP,
	Tunnel-Medium-Type:2 = IPv4,
	Tunnel-Server-Endpoint:2 = "127.0.0.3",
	Tunnel-Password:2 = "a-longer-tunnel-secret-number-two",
	Tunnel-Preference:2 = 1,
	Tunnel-Assignment-Id:2 = "lac2",
	ERX-Tunnel-Maximum-Sessions = 16,
	ERX-Dial-Out-Number = "5551005",
	ERX-Minimum-BPS = 56000,
	ERX-Maximum-BPS = 64000,
	ERX-Bearer-Type = Digital,
	ERX-PPP-Username = "lns",
	ERX-PPP-Password = "lns-pass",
	ERX-PPP-Auth-Protocol = CHAP-PAP

"10.10.5.5@L2TP-dial-out.de.dt"	Auth-Type := Accept
	Service-Type = Outbound-User,
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IPv4,
	Tunnel-Server-Endpoint:1 = "127.0.0.2",
	Tunnel-Password:1 = "secret-one",
	Tunnel-Preference:1 = 2,
	Tunnel-Type:2 = L2TP,
	Tunnel-Medium-Type:2 = IPv4,
	Tunnel-Server-Endpoint:2 = "127.0.0.3",
	Tunnel-Password:2 = "a-longer-tunnel-secret-number-two",
	Tunnel-Preference:2 = 1,
	ERX-Tunnel-Maximum-Sessions = 16,
	ERX-Dial-Out-Number = "5551005",
	ERX-PPP-Username = "lns",
	ERX-PPP-Password = "lns-pass",
	ERX-PPP-Auth-Protocol = PAP

# rejected, but the reply items still go into the Access-Reject
"10.10.6.6@L2TP-dial-out.de.dt"	Auth-Type := Reject
	Service-Type = Outbound-User,
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IPv4,
	Tunnel-Server-Endpoint:1 = "127.0.0.2",
	Tunnel-Password:1 = "secret-one",
	ERX-Dial-Out-Number = "5551006"

"cpe-two"	Cleartext-Password := "cpe-two-pass"
	Service-Type = Framed-User,
	Framed-Protocol = PPP,
	Framed-IP-Address = 10.10.3.1,
	Framed-IP-Netmask = 255.255.255.255,
	Framed-Route = "10.10.3.0 255.255.255.0 0.0.0.0 1",
	Framed-Route = "10.10.4.0/24 0.0.0.0 2",
	Session-Timeout = 3600,
	Idle-Timeout = 600

"bench-user"	Cleartext-Password := "bench-pass"
	Service-Type = Framed-User,
	Framed-IP-Address = 10.10.9.1

'''


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def binary() -> str | None:
    return tool("freeradius")


def free_udp_ports(n: int) -> list[int]:
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
            socks.append(s)
            if p not in ports:
                ports.append(p)
        return ports
    finally:
        for s in socks:
            s.close()


def _port_bound(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


class FreeRadius:
    """``with FreeRadius() as fr:`` -> fr.auth_port, fr.acct_port, fr.dir, fr.pid."""

    def __init__(self, *, threads: int | None = None, max_requests: int | None = None,
                 cleanup_delay: int | None = None):
        self.threads = threads
        self.max_requests = max_requests
        self.cleanup_delay = cleanup_delay
        self.proc: subprocess.Popen | None = None
        self.dir = tempfile.mkdtemp(prefix="jcli-fr-")
        self.auth_port, self.acct_port = free_udp_ports(2)
        self.pid: int | None = None

    def _write_config(self) -> None:
        freeradius_files(Path(self.dir), auth_port=self.auth_port, acct_port=self.acct_port,
                         extra_users=EXTRA_USERS, threads=self.threads,
                         max_requests=self.max_requests or 16384,
                         cleanup_delay=5 if self.cleanup_delay is None else self.cleanup_delay)

    def start(self) -> FreeRadius:
        self._write_config()
        with open(os.path.join(self.dir, "stderr"), "w") as err:
            exe = binary()
            if exe is None:
                raise RuntimeError("freeradius is not installed")
            self.proc = subprocess.Popen(
                [exe, "-f", "-d", self.dir, "-l", os.path.join(self.dir, "radius.log")],
                stdout=subprocess.DEVNULL, stderr=err)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("freeradius exited: " + self.log())
            if _port_bound(self.auth_port) and _port_bound(self.acct_port):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("freeradius did not start listening: " + self.log())

    def log(self) -> str:
        out = []
        for name in ("stderr", "radius.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                out.append(_read(p)[-2000:])
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()


class Capture:
    """tcpdump -i lo on the given UDP ports, stopped by pid."""

    def __init__(self, path: str, ports: list[int]):
        self.path = path
        self.ports = ports
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        expr = " or ".join(f"udp port {p}" for p in self.ports)
        self._err = open(self.path + ".err", "w+")
        self.proc = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-Z", "root",
             "-w", self.path, expr],
            stdout=subprocess.DEVNULL, stderr=self._err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self._err.seek(0)
            if "listening on" in self._err.read():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("tcpdump did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            file_settled(self.path)      # tcpdump -U has written what it saw
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        self._err.close()

    def __exit__(self, *exc):
        self.stop()

    def packet_count(self) -> int:
        out = subprocess.run(["tshark", "-r", self.path, "-n"], capture_output=True, text=True)
        return len([line for line in out.stdout.splitlines() if line.strip()])


def validate_pcap(path: str, secret: bytes, ports: list[int]) -> subprocess.CompletedProcess[str]:
    """tests/interop/validate_pcap.py on the capture, RADIUS decoded on ``ports``."""
    verdict = validate(path, secret.decode(), [f"udp.port=={p},radius" for p in ports])
    return subprocess.CompletedProcess([str(path)], 0 if verdict.ok else 1,
                                       verdict.report(path), "")
