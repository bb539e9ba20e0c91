"""Two-host lab topology for the real-kernel end-to-end tests and the e2e benchmark.

The router (the Engine with the Linux dataplane) runs in the namespace of the calling process:
its L2TP socket and RADIUS client sockets live there.  The lab peers (RADIUS server, LAC, CPE)
run in their own namespace ``<run>lab<n>``, joined to the caller's namespace by a veth pair
(``10.255.255.1/30`` on the caller's side, ``10.255.255.2/30`` in the lab), in a separate
process (``python -m engine.lab LABFILE``).  Router namespaces use a prefix unique to the run
(``<run>r<n>-``), so that nothing here touches another run's ``jcli-*`` namespaces.
"""
from __future__ import annotations

import ipaddress
import itertools
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.dataplane import netns_helpers as nsh

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ROUTER_ADDR = "10.255.255.1"
LAB_ADDR = "10.255.255.2"
RADIUS_PORT = 18312
RADIUS_SECRET = "e2e-radius-secret"
TUNNEL_SECRET = "e2e-tunnel-secret"
DOMAIN = "L2TP-dial-out.de.dt"
CPE_ADDR = "10.10.1.1"
CPE_ROUTE = "10.10.1.0/24"
TARGET = "10.10.0.0/16"
RUN = f"je{os.getpid()}"
RUN_RE = re.compile(r"je(\d+)(?:r\d+-|lab\d+$|v\d+$)")
_counter = itertools.count()

LAB_TEMPLATE = """\
[[radius]]
name = "aaa"
listen = "{lab}:{port}"
secret = "{secret}"

[radius.users."{cpe}@{domain}".reply]
"Service-Type" = "Outbound-User"
"Tunnel-Type:1" = "L2TP"
"Tunnel-Medium-Type:1" = "IPv4"
"Tunnel-Server-Endpoint:1" = "{lab}"
"Tunnel-Password:1" = "{tsecret}"
"Tunnel-Assignment-Id:1" = "lac1"
"Tunnel-Preference:1" = 1
"Tunnel-Client-Auth-Id:1" = "lns"
"ERX-Dial-Out-Number" = "5551001"
"ERX-PPP-Username" = "lns"
"ERX-PPP-Password" = "lns-pass"
"ERX-PPP-Auth-Protocol" = "CHAP"

[radius.users.cpe1]
password = "cpe1-pass"
reply = {{ "Service-Type" = "Framed-User", "Framed-Protocol" = "PPP", "Framed-Route" = "{route} 0.0.0.0 1" }}

[[lac]]
name = "lac1"
listen = "{lab}:1701"
host-name = "lac1"
secret = "{tsecret}"

[[cpe]]
number = "5551001"
username = "cpe1"
password = "cpe1-pass"
expect-username = "lns"
expect-password = "lns-pass"
address = "{cpe}"
"""


def missing_requirement(*tools: str) -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, veth and TUN devices)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun (TUN driver)"
    for tool in ("ip", "ping", *tools):
        if shutil.which(tool) is None:
            return f"needs the '{tool}' tool"
    return None


def ip(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def link_names(ns: str | None = None) -> list[str]:
    args = (["-n", ns] if ns else []) + ["-o", "link", "show"]
    out = ip(*args, check=False)
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
            if line.count(":") >= 2]


def engine_config(*, radius_host: str = LAB_ADDR, radius_port: int = RADIUS_PORT):
    """Dial-out target in VR ``home``; the RADIUS servers in VR ``default``, reached through the
    AAA domain map (dial-out authorization) and the profile's ppp_auth_vr (CPE check)."""
    from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, TargetConfig, VirtualRouterConfig
    server = RadiusServerConfig(radius_host, radius_port, RADIUS_SECRET, timeout=2.0)
    return EngineConfig(vrs=(
        VirtualRouterConfig("default", radius_auth=(server,), domain_map=((DOMAIN, "default"),)),
        VirtualRouterConfig(
            "home", loopbacks=((0, ipaddress.IPv4Interface("192.168.255.1/32")),),
            profiles=(ProfileConfig("dialout", ("chap", "pap"), ppp_auth_vr="default",
                                    ip_unnumbered_loopback=0),),
            targets=(TargetConfig(ipaddress.IPv4Network(TARGET), DOMAIN, "dialout"),)),
    ))


class LineReader:
    """Collects a child's stdout lines in a thread; ``wait_for(regex, timeout)``."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self._q.get(timeout=left)
            except queue.Empty:
                break
            if got is None:
                raise RuntimeError(f"process exited ({self.proc.poll()}) before {pattern!r}; "
                                   f"output: {self.lines[-20:]}")
            self.lines.append(got)
            m = rx.search(got)
            if m:
                return m
        raise TimeoutError(f"no {pattern!r} within {timeout}s; output: {self.lines[-20:]}")


def stop_process(proc: subprocess.Popen | None, *, sig: int = signal.SIGTERM,
                 timeout: float = 5.0) -> None:
    """Signal one child by pid; SIGKILL after ``timeout``; reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


def start_python(args: list[str], *, netns: str | None = None) -> tuple[subprocess.Popen,
                                                                          LineReader]:
    cmd = [PYTHON, "-u", *args]
    if netns is not None:
        # `ip netns exec` execs the command: the pid is the Python process itself
        cmd = ["ip", "netns", "exec", netns, *cmd]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    return proc, LineReader(proc)


@dataclass
class Topology:
    workdir: Path
    n: int = field(default_factory=lambda: next(_counter))
    lab_proc: subprocess.Popen | None = None
    lab_out: LineReader | None = None
    closed: bool = False

    @property
    def prefix(self) -> str:           # router namespaces
        return f"{RUN}r{self.n}-"

    @property
    def lab_ns(self) -> str:
        return f"{RUN}lab{self.n}"

    @property
    def veth_root(self) -> str:
        return f"{RUN}v{self.n}"

    @property
    def veth_lab(self) -> str:
        return "lab0"

    def ns(self, vr: str) -> str:
        return self.prefix + vr

    @property
    def labfile(self) -> Path:
        return self.workdir / "lab.toml"

    def open(self) -> Topology:
        if any(ROUTER_ADDR in line for line in ip("-o", "-4", "addr", "show").splitlines()):
            raise RuntimeError(f"{ROUTER_ADDR} is already configured in this namespace "
                               "(another e2e run?)")
        self.labfile.write_text(LAB_TEMPLATE.format(
            lab=LAB_ADDR, port=RADIUS_PORT, secret=RADIUS_SECRET, tsecret=TUNNEL_SECRET,
            cpe=CPE_ADDR, domain=DOMAIN, route=CPE_ROUTE))
        try:
            nsh.create_namespace(self.lab_ns)
            ip("link", "add", self.veth_root, "type", "veth", "peer", "name", self.veth_lab,
               "netns", self.lab_ns)
            ip("addr", "add", f"{ROUTER_ADDR}/30", "dev", self.veth_root)
            ip("-n", self.lab_ns, "addr", "add", f"{LAB_ADDR}/30", "dev", self.veth_lab)
            ip("link", "set", self.veth_root, "up")
            ip("-n", self.lab_ns, "link", "set", self.veth_lab, "up")
            self.lab_proc, self.lab_out = start_python(["-m", "engine.lab", str(self.labfile)],
                                                       netns=self.lab_ns)
            self.lab_out.wait_for(r"^lab ready", 30)
        except BaseException:
            self.close()
            raise
        return self

    def router_namespaces(self) -> list[str]:
        return [ns for ns in nsh.list_namespaces() if ns.startswith(self.prefix)]

    def leftovers(self) -> list[str]:
        """Namespaces, links and processes of this topology still present."""
        left = [f"netns {ns}" for ns in nsh.list_namespaces()
                if ns.startswith(self.prefix) or ns == self.lab_ns]
        left += [f"link {name}" for name in link_names() if name == self.veth_root]
        if self.lab_proc is not None and self.lab_proc.poll() is None:
            left.append(f"process {self.lab_proc.pid}")
        return left

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        stop_process(self.lab_proc)
        for ns in self.router_namespaces():
            nsh.delete_namespace(ns)
        nsh.delete_namespace(self.lab_ns)
        ip("link", "del", self.veth_root, check=False)

    def __enter__(self) -> Topology:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


def cleanup_dead_runs() -> None:
    """Namespaces and veth ends of e2e runs whose process is gone (a killed run)."""
    for ns in nsh.list_namespaces():
        m = RUN_RE.match(ns)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            nsh.delete_namespace(ns)
    for name in link_names():
        m = RUN_RE.match(name)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            ip("link", "del", name, check=False)


def cleanup_run() -> list[str]:
    """Everything of this run still present (deleted, and returned for reporting)."""
    left = []
    for ns in nsh.list_namespaces():
        m = RUN_RE.match(ns)
        if m and m.group(1) == str(os.getpid()):
            nsh.delete_namespace(ns)
            left.append(ns)
    for name in link_names():
        m = RUN_RE.match(name)
        if m and m.group(1) == str(os.getpid()):
            ip("link", "del", name, check=False)
            left.append(name)
    return left


def parse_ping(output: str) -> tuple[int, int]:
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", output)
    if m is None:
        raise AssertionError(f"unexpected ping output: {output!r}")
    return int(m.group(1)), int(m.group(2))
