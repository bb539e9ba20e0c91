"""End to end, wired only by the router's configuration: the real ``jcli --dataplane linux``
runs in a namespace of its own with two veth ends named as ports; FreeRADIUS sits behind
``gigabitEthernet 1/0`` (VR ``home``), the lab LAC+CPE behind ``gigabitEthernet 1/1`` (VR
``default``).  A kernel ping from inside the ``home`` VR to the CPE dials out and gets 3/3; the
RADIUS capture shows NAS-IP-Address = the port's address, the L2TP capture shows the tunnel
from the Tunnel-Client-Endpoint address; a next-hop route through the shut port is inactive
and becomes active with ``no shutdown``; on exit both veth ends are back where they started.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.dataplane import netns_helpers as nsh
from tests.interop import freeradius_files
from tests.needs import need_root, need_tools

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "L2TP-dial-out.de.dt"
RADIUS_SECRET = "testing123"
TUNNEL_SECRET = "e2e-tunnel-secret"
ROUTER_RADIUS_SIDE, RADIUS_ADDR = "10.1.0.1", "10.1.0.2"
ROUTER_LAC_SIDE, LAC_ADDR = "10.2.0.1", "10.2.0.2"
CPE = "10.10.1.1"

USERS = f'''"{CPE}@{DOMAIN}"	Auth-Type := Accept
	Service-Type = Outbound-User,
	Tunnel-Type:1 = L2TP,
	Tunnel-Medium-Type:1 = IPv4,
	Tunnel-Server-Endpoint:1 = "{LAC_ADDR}",
	Tunnel-Client-Endpoint:1 = "{ROUTER_LAC_SIDE}",
	Tunnel-Password:1 = "{TUNNEL_SECRET}",
	Tunnel-Assignment-Id:1 = "lac1",
	Tunnel-Client-Auth-Id:1 = "lns",
	ERX-Dial-Out-Number = "5551001",
	ERX-PPP-Username = "lns",
	ERX-PPP-Password = "lns-pass",
	ERX-PPP-Auth-Protocol = CHAP

"cpe1"	Cleartext-Password := "cpe1-pass"
	Service-Type = Framed-User,
	Framed-Protocol = PPP,
	Framed-Route = "10.10.1.0/24 0.0.0.0 1"

'''

LAB = f'''[[lac]]
name = "lac1"
listen = "{LAC_ADDR}:1701"
host-name = "lac1"
secret = "{TUNNEL_SECRET}"

[[cpe]]
number = "5551001"
username = "cpe1"
password = "cpe1-pass"
expect-username = "lns"
expect-password = "lns-pass"
address = "{CPE}"
'''


def ip(*args: str, check: bool = True) -> str:
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def wait_until(cond: Callable[[], object], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Net:
    """The namespaces and veth pairs of one run (names unique to the run)."""

    def __init__(self) -> None:
        tag = f"jq{os.getpid() % 100000}"
        self.host, self.rad, self.lac = f"{tag}h", f"{tag}rad", f"{tag}lac"
        self.prefix = f"{tag}r-"
        self.va, self.vb = f"{tag}a", f"{tag}b"
        self.procs: list[subprocess.Popen[bytes]] = []

    def open(self) -> None:
        for ns in (self.host, self.rad, self.lac):
            nsh.create_namespace(ns)
        for end, ns, addr in ((self.va, self.rad, RADIUS_ADDR), (self.vb, self.lac, LAC_ADDR)):
            ip("-n", self.host, "link", "add", end, "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            ip("-n", self.host, "link", "set", end, "up")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")

    def spawn(self, ns: str, args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)
        self.procs.append(p)
        return p

    def close(self) -> None:
        for p in reversed(self.procs):
            stop(p, signal.SIGINT if "tcpdump" in str(p.args) else signal.SIGTERM)
        for ns in nsh.list_namespaces():
            if ns.startswith(self.prefix) or ns in (self.host, self.rad, self.lac):
                nsh.delete_namespace(ns)
        for name in ("ports.json", "lock"):      # left only when the router was killed
            path = f"/run/jcli/{self.prefix}{name}"
            if os.path.exists(path):
                os.unlink(path)


@pytest.fixture
def net() -> Iterator[Net]:
    need_root()
    need_tools("ip", "ping", "tcpdump", "tshark", "freeradius")
    n = Net()
    try:
        n.open()
        yield n
    finally:
        n.close()


def _udp_listening(ns: str, port: int) -> bool:
    out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-H", "-uln", f"sport = :{port}"],
                         capture_output=True, text=True).stdout
    return bool(out.strip())


def _capture(net: Net, ns: str, path: Path, bpf: str) -> subprocess.Popen[bytes]:
    p = net.spawn(ns, ["tcpdump", "-i", "eth0", "-n", "-U", "-w", str(path), bpf],
                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert p.stderr is not None
    line = p.stderr.readline()              # "tcpdump: listening on eth0 ..."
    assert b"listening" in line, line
    return p


def _jcli(net: Net, tmp: Path, *extra: str) -> Any:     # a pexpect.spawn (pexpect is untyped)
    import pexpect
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", HOME=str(tmp),
               PYTHONPATH=str(ROOT))
    # nsenter enters the network namespace only: the namespaces the router makes (mounts
    # under /run/netns) stay visible to the test (`ip netns exec` would unshare mounts)
    return pexpect.spawn("nsenter", [f"--net=/run/netns/{net.host}", sys.executable, "-m", "jcli",
                                "--dataplane", "linux", "--netns-prefix", net.prefix,
                                "--port", f"gigabitEthernet1/0={net.va}",
                                "--port", f"gigabitEthernet1/1={net.vb}",
                                "--startup", str(tmp / "none.scr"), *extra],
                         env=env, encoding="utf-8", timeout=60, dimensions=(200, 200),
                         cwd=str(ROOT))


def _ping(ns: str, count: int, wait: int) -> tuple[int, str]:
    done = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c", str(count), "-W",
                           str(wait), CPE], capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    m = re.search(r"(\d+) received", out)
    return (int(m.group(1)) if m else 0), out


def test_router_wired_by_configuration(net: Net, tmp_path: Path) -> None:
    raddir = freeradius_files(tmp_path / "radius", auth_port=1812, acct_port=1813,
                              extra_users=USERS)
    conf = (raddir / "radiusd.conf").read_text()
    conf = conf.replace("ipaddr = 127.0.0.1\n\tsecret", f"ipaddr = {ROUTER_RADIUS_SIDE}\n\tsecret")
    conf = conf.replace("ipaddr = 127.0.0.1", f"ipaddr = {RADIUS_ADDR}")
    (raddir / "radiusd.conf").write_text(conf)
    rad_pcap, l2tp_pcap = tmp_path / "radius.pcap", tmp_path / "l2tp.pcap"
    cap_rad = _capture(net, net.rad, rad_pcap, "udp port 1812")
    cap_l2tp = _capture(net, net.lac, l2tp_pcap, "udp port 1701")
    net.spawn(net.rad, ["freeradius", "-f", "-d", str(raddir), "-l", str(raddir / "log")],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _udp_listening(net.rad, 1812), 20, "FreeRADIUS")
    (tmp_path / "lab.toml").write_text(LAB)
    net.spawn(net.lac, [sys.executable, "-m", "engine.lab", str(tmp_path / "lab.toml")],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    wait_until(lambda: _udp_listening(net.lac, 1701), 20, "the lab LAC")

    config = ["interface gigabitEthernet 1/1", f" ip address {ROUTER_LAC_SIDE} 255.255.255.0",
              " exit",
              "virtual-router home",
              " ip route 10.3.0.0 255.255.0.0 10.1.0.2",
              " interface gigabitEthernet 1/0", "  description to FreeRADIUS",
              f"  ip address {ROUTER_RADIUS_SIDE} 255.255.255.0", "  shutdown", "  exit",
              " interface loopback 0", "  ip address 192.168.255.1 255.255.255.255", "  exit",
              f" radius authentication server {RADIUS_ADDR}", f"  key {RADIUS_SECRET}",
              "  exit",
              " profile dialout", "  ppp authentication chap", "  ip unnumbered loopback 0",
              "  exit",
              f" l2tp dial-out target 10.10.0.0 255.255.0.0 domain {DOMAIN} profile dialout"]
    (tmp_path / "router.scr").write_text("\n".join(config) + "\n")
    (tmp_path / "up.scr").write_text("virtual-router home\n interface gigabitEthernet 1/0\n"
                                     "  no shutdown\n")
    p = _jcli(net, tmp_path, "--config", str(tmp_path / "router.scr"))
    try:
        p.expect(r"host1#")
        assert "%" not in p.before, p.before
        p.sendline("show ip route virtual-router home")
        p.expect(r"10\.3\.0\.0/16\s+10\.1\.0\.2\s+-\s+static \(inactive\)")
        p.expect(r"10\.10\.0\.0/16")              # the VR and its dial-out are there
        p.sendline(f"configure file {tmp_path / 'up.scr'}")
        p.sendline("show ip route virtual-router home")
        p.expect(r"10\.3\.0\.0/16\s+10\.1\.0\.2\s+gigabitEthernet1/0\s+static\s")
        p.sendline("virtual-router home")
        p.sendline("show ip interface brief")
        p.expect(r"gigabitEthernet1/0\s+10\.1\.0\.1\s+up\s+up")

        home_ns = net.prefix + "home"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _ping(home_ns, 1, 2)[0] != 1:
            time.sleep(0.5)
        received, out = _ping(home_ns, 3, 5)
        if received != 3:                          # what the router saw, for the report
            p.sendline("show radius statistics")
            p.sendline("show l2tp tunnel")
            p.sendline("show ip route")
            p.expect(r"route\(s\)")
            raise AssertionError(out + p.before
                                 + (tmp_path / "radius" / "log").read_text()[-3000:])
        p.sendline("show interfaces gigabitEthernet 1/0")
        p.expect(r"Out: (\d+) packets")
        assert int(p.match.group(1)) > 0
        p.sendline("exit")
        p.expect(pexpect_eof(), timeout=60)
    finally:
        if p.isalive():
            p.terminate(force=True)

    # both veth ends are back in the router's namespace, as they were
    links = ip("-n", net.host, "-o", "link", "show")
    assert net.va in links and net.vb in links
    assert not [ns for ns in nsh.list_namespaces() if ns.startswith(net.prefix)]
    assert not os.path.exists(f"/run/jcli/{net.prefix}ports.json")

    stop(cap_rad, signal.SIGINT)
    stop(cap_l2tp, signal.SIGINT)
    fields = subprocess.run(["tshark", "-r", str(rad_pcap), "-Y", "radius.code == 1", "-T",
                             "fields", "-e", "ip.src", "-e", "radius.NAS_IP_Address"],
                            capture_output=True, text=True, timeout=60).stdout.split("\n")
    requests = [f.split("\t") for f in fields if f.strip()]
    assert requests, "no Access-Request captured"
    assert all(r == [ROUTER_RADIUS_SIDE, ROUTER_RADIUS_SIDE] for r in requests), requests
    fields = subprocess.run(["tshark", "-r", str(l2tp_pcap), "-T", "fields", "-E",
                             "occurrence=f", "-e", "ip.src", "-e", "ip.dst"], capture_output=True, text=True,
                            timeout=60).stdout.split("\n")
    pkts = [f.split("\t") for f in fields if f.strip()]
    assert pkts and pkts[0] == [ROUTER_LAC_SIDE, LAC_ADDR], pkts[:3]
    assert all(ROUTER_LAC_SIDE in pair for pair in pkts), pkts


def pexpect_eof() -> Any:                               # pexpect.EOF (pexpect is untyped)
    import pexpect
    return pexpect.EOF
