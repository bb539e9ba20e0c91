"""Start a FreeRADIUS 3 server and a tcpdump capture for interop tests and the
benchmark: configuration derived from ../shared/interop/, own temp dir, free ports,
stopped by pid."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from tests.shared_paths import INTEROP
SECRET = b"testing123"

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


# FreeRADIUS 3.2.1 adds a Message-Authenticator to an Access-Accept or -Reject only when
# the reply list holds one; the client drops replies without it (CVE-2024-3596), so
# every reply gets one, accepts in post-auth and rejects in Post-Auth-Type REJECT.
SIGN_REPLY = "update reply {\n\t\t\tMessage-Authenticator := 0x00\n\t\t}"
POST_AUTH = ("post-auth {\n\t\t" + SIGN_REPLY + "\n\t\tPost-Auth-Type REJECT {\n\t\t\t"
             + SIGN_REPLY.replace("\n\t\t", "\n\t\t\t") + "\n\t\t}\n\t}")


def sign_replies(conf: str) -> str:
    """The server configuration with a Message-Authenticator in every Access reply."""
    out, n = re.subn(r"post-auth \{\s*\}", POST_AUTH, conf)
    if n != 1:
        raise RuntimeError("FreeRADIUS configuration has no empty post-auth section")
    return out


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def binary() -> str | None:
    return shutil.which("freeradius") or (
        "/usr/sbin/freeradius" if os.path.exists("/usr/sbin/freeradius") else None)


def free_udp_ports(n: int) -> list[int]:
    socks, ports = [], []
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
        conf = _read(os.path.join(INTEROP, "freeradius-radiusd.conf"))
        conf = re.sub(r"(?m)^logdir = .*$", f"logdir = {self.dir}", conf)
        conf = re.sub(r"(?m)^raddbdir = .*$", f"raddbdir = {self.dir}", conf)
        conf = re.sub(r"(?m)^run_dir = .*$", f"run_dir = {self.dir}", conf)
        conf = conf.replace("port = 18120", f"port = {self.auth_port}")
        conf = conf.replace("port = 18130", f"port = {self.acct_port}")
        if self.threads:
            conf = re.sub(r"start_servers = \d+", f"start_servers = {self.threads}", conf)
            conf = re.sub(r"max_servers = \d+", f"max_servers = {self.threads}", conf)
        if self.max_requests:
            conf = re.sub(r"(?m)^max_requests = \d+", f"max_requests = {self.max_requests}", conf)
        if self.cleanup_delay is not None:
            conf = re.sub(r"(?m)^cleanup_delay = \d+", f"cleanup_delay = {self.cleanup_delay}",
                          conf)
        conf = sign_replies(conf)
        with open(os.path.join(self.dir, "radiusd.conf"), "w") as f:
            f.write(conf)
        users = _read(os.path.join(INTEROP, "freeradius-users"))
        with open(os.path.join(self.dir, "users"), "w") as f:
            f.write(EXTRA_USERS + users)

    def start(self) -> "FreeRadius":
        self._write_config()
        with open(os.path.join(self.dir, "stderr"), "w") as err:
            self.proc = subprocess.Popen(
                [binary(), "-f", "-d", self.dir, "-l", os.path.join(self.dir, "radius.log")],
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
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
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
            time.sleep(0.2)  # let the last packets reach the file
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


def validate_pcap(path: str, secret: bytes, ports: list[int]) -> subprocess.CompletedProcess:
    args = ["sh", os.path.join(INTEROP, "validate_pcap.sh"), path, secret.decode()]
    for p in ports:
        args += ["-d", f"udp.port=={p},radius"]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)
