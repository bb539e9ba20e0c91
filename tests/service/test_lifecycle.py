"""`jcli serve` with stdin from /dev/null: a dial-out driven from `jcli --socket`, then SIGTERM
with sessions established: the lab LAC gets CDN and StopCCN, the RADIUS server gets
Accounting-Stop, no namespace is left and the router exits 0 within 5 s."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from engine.l2tp.events import CallDown, TunnelDown
from engine.lab.labfile import load_labfile
from engine.lab.runner import start_lab
from tests.dialout_e2e.helpers import (
    DOMAIN,
    HOME_SECRET,
    LNS_SECRET,
    lac_addresses,
    standard_lab,
    table,
    toml_str,
)
from tests.dialout_e2e.test_shell import router_script

pytestmark = pytest.mark.timeout(120)
JCLI = [sys.executable, "-m", "jcli"]


async def jcli(*args: str) -> tuple[int, str, str]:
    p = await asyncio.create_subprocess_exec(*JCLI, *args, stdin=asyncio.subprocess.DEVNULL,
                                             stdout=asyncio.subprocess.PIPE,
                                             stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(p.communicate(), 60)
    assert p.returncode is not None
    return p.returncode, out.decode(), err.decode()


def namespaces(prefix: str) -> list[str]:
    try:
        return [n for n in os.listdir("/run/netns") if n.startswith(prefix)]
    except FileNotFoundError:
        return []


async def run_service_lifecycle(tmp_path, dataplane: str) -> None:
    lacs = lac_addresses(2)
    (tmp_path / "lab.toml").write_text(standard_lab(lacs).text())
    lab = await start_lab(load_labfile(tmp_path / "lab.toml"))
    proc = None
    try:
        for lac in lab.lacs:
            lac.keep_events = True
        ports = {s.spec.name: s.address[1] for s in lab.radius}
        script = router_script(ports["home"], ports["lns"]) + [
            " radius accounting server 127.0.0.1", f"  udp-port {ports['lns']}",
            "  key lns-secret", " exit", "!", "virtual-router home",
            " radius accounting server 127.0.0.1", f"  udp-port {ports['lns']}",
            "  key lns-secret", " exit"]
        (tmp_path / "router.scr").write_text("\n".join(script) + "\n")
        sock = str(tmp_path / "jcli.sock")
        before = set(namespaces("jcli-"))
        proc = await asyncio.create_subprocess_exec(
            *JCLI, "serve", "--config", str(tmp_path / "router.scr"), "--socket", sock,
            "--startup", str(tmp_path / "startup.scr"), "--dataplane", dataplane,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=open(tmp_path / "stderr.log", "wb"), cwd=tmp_path)
        for _ in range(600):
            if "running (pid" in (tmp_path / "stderr.log").read_text():
                break
            assert proc.returncode is None, (tmp_path / "stderr.log").read_text()
            await asyncio.sleep(0.05)
        rc, out, err = await jcli("--socket", sock, "-c",
                                  "ping virtual-router home 10.10.1.1 count 3 timeout 10")
        assert rc == 0 and "Success rate = 100% (3/3)" in out, (out, err)
        rc, out, err = await jcli("--socket", sock, "-c",
                                  "ping virtual-router home 10.10.2.1 count 2 timeout 10")
        assert rc == 0, (out, err)
        rc, out, _ = await jcli("--socket", sock, "-c", "show l2tp dial-out session brief")
        assert out.count("inService") == 2, out
        lns = next(s for s in lab.radius if s.spec.name == "lns")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 10)
        took = time.monotonic() - t0
        log = (tmp_path / "stderr.log").read_text()
        assert rc == 0, log
        assert took <= 5.0, took
        await asyncio.sleep(0.3)            # the last datagrams reach the lab
        events = [ev for lac in lab.lacs for ev in lac.events]
        cdns = [ev for ev in events if isinstance(ev, CallDown) and ev.by_peer
                and ev.message not in ("closed", "refused")]
        assert len(cdns) == 2, events
        assert any(isinstance(ev, TunnelDown) and ev.by_peer for ev in events), events
        stops = [a for a in lns.core.received if a.get("Acct-Status-Type") == (2,)]   # Stop
        assert len(stops) == 2, lns.core.received
        assert set(namespaces("jcli-")) <= before
        assert not os.path.exists(sock)
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await lab.close()


async def test_sigterm_with_established_sessions_sim(tmp_path):
    await run_service_lifecycle(tmp_path, "sim")


@pytest.mark.root
async def test_sigterm_linux_dataplane_removes_namespaces(tmp_path):
    """--dataplane linux: every virtual router's namespace exists while the router runs and
    is gone after SIGTERM (exit 0 within 5 s)."""
    prefix = f"jsv{os.getpid() % 100000}-"
    (tmp_path / "router.scr").write_text("hostname host1\nvirtual-router home\n interface loopback 0\n"
                                         "  ip address 192.168.255.1 255.255.255.255\n")
    sock = str(tmp_path / "jcli.sock")
    proc = await asyncio.create_subprocess_exec(
        *JCLI, "serve", "--config", str(tmp_path / "router.scr"), "--socket", sock,
        "--startup", str(tmp_path / "startup.scr"), "--dataplane", "linux",
        "--netns-prefix", prefix, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=open(tmp_path / "stderr.log", "wb"), cwd=tmp_path)
    try:
        for _ in range(600):
            if "running (pid" in (tmp_path / "stderr.log").read_text():
                break
            assert proc.returncode is None, (tmp_path / "stderr.log").read_text()
            await asyncio.sleep(0.05)
        assert f"{prefix}home" in namespaces(prefix)
        rc, out, _ = await jcli("--socket", sock, "-c", "show virtual-router")
        assert rc == 0 and "home" in out
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
        assert time.monotonic() - t0 <= 5.0
        assert namespaces(prefix) == []
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def one_radius_lab(lacs: list[str]) -> str:
    """The standard lab with one RADIUS server answering both the dial-out look-ups and the
    CPEs' PPP authentication (and taking the accounting)."""
    spec = standard_lab(lacs)
    lns_block = table("[[radius]]", dict(name="lns", listen="127.0.0.1:0", secret=LNS_SECRET))
    text = spec.text()
    assert lns_block in text
    users = "".join(table(f"[radius.users.{toml_str(user)}]", {"password": password})
                    + table(f"[radius.users.{toml_str(user)}.reply]", reply)
                    for user, (password, reply) in spec.lns_users.items())
    return text.replace(lns_block, users + lns_block)


@pytest.mark.root
async def test_sigterm_linux_dataplane_with_established_sessions(tmp_path):
    """--dataplane linux with two dial-outs up: the default virtual router (no port, so its
    RADIUS sockets are the process's) dials out; SIGTERM takes both calls and tunnels down
    toward the LAC, sends Accounting-Stop, removes every namespace of the run and exits 0."""
    prefix = f"jsd{os.getpid() % 100000}-"
    lacs = lac_addresses(2)
    (tmp_path / "lab.toml").write_text(one_radius_lab(lacs))
    lab = await start_lab(load_labfile(tmp_path / "lab.toml"))
    proc = None
    try:
        for lac in lab.lacs:
            lac.keep_events = True
        radius = next(s for s in lab.radius if s.spec.name == "home")
        port = radius.address[1]
        script = ["hostname host1", "l2tp dial-out connect-timeout 60",
                  "interface loopback 0", " ip address 192.168.255.1 255.255.255.255", " exit",
                  "radius authentication server 127.0.0.1", f" udp-port {port}",
                  f" key {HOME_SECRET}", " exit",
                  "radius accounting server 127.0.0.1", f" udp-port {port}",
                  f" key {HOME_SECRET}", " exit",
                  "aaa authentication ppp default radius",
                  "profile dialout", " ppp authentication chap pap",
                  " ip unnumbered loopback 0", " exit",
                  f"l2tp dial-out target 10.10.0.0 255.255.0.0 domain {DOMAIN} profile dialout"]
        (tmp_path / "router.scr").write_text("\n".join(script) + "\n")
        sock = str(tmp_path / "jcli.sock")
        proc = await asyncio.create_subprocess_exec(
            *JCLI, "serve", "--config", str(tmp_path / "router.scr"), "--socket", sock,
            "--startup", str(tmp_path / "startup.scr"), "--dataplane", "linux",
            "--netns-prefix", prefix, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=open(tmp_path / "stderr.log", "wb"),
            cwd=tmp_path)
        for _ in range(600):
            if "running (pid" in (tmp_path / "stderr.log").read_text():
                break
            assert proc.returncode is None, (tmp_path / "stderr.log").read_text()
            await asyncio.sleep(0.05)
        assert namespaces(prefix), (tmp_path / "stderr.log").read_text()
        for dst in ("10.10.1.1", "10.10.2.1"):
            rc, out, err = await jcli("--socket", sock, "-c",
                                      f"ping {dst} count 3 timeout 10")
            assert rc == 0, (out, err, (tmp_path / "stderr.log").read_text())
        rc, out, _ = await jcli("--socket", sock, "-c", "show l2tp dial-out session brief")
        assert out.count("inService") == 2, (out, (tmp_path / "stderr.log").read_text())
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 10)
        took = time.monotonic() - t0
        log = (tmp_path / "stderr.log").read_text()
        assert rc == 0, log
        assert took <= 5.0, took
        await asyncio.sleep(0.3)            # the last datagrams reach the lab
        events = [ev for lac in lab.lacs for ev in lac.events]
        cdns = [ev for ev in events if isinstance(ev, CallDown) and ev.by_peer
                and ev.message not in ("closed", "refused")]
        assert len(cdns) == 2, events
        assert any(isinstance(ev, TunnelDown) and ev.by_peer for ev in events), events
        stops = [a for a in radius.core.received if a.get("Acct-Status-Type") == (2,)]
        assert len(stops) == 2, radius.core.received
        assert namespaces(prefix) == []
        assert not os.path.exists(sock)
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        for name in namespaces(prefix):     # what a killed router left
            subprocess.run(["ip", "netns", "delete", name], check=False)
        await lab.close()
