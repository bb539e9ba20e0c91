"""A router process killed with SIGKILL leaves its namespaces; the next start (Engine.start,
LinuxDataplane.reconcile_stale) deletes them and dial-out works again."""
from __future__ import annotations

import re
import signal
import subprocess

import pytest

from engine.dataplane import netns_helpers as nsh

from . import topology as topo

pytestmark = pytest.mark.timeout(150)
SCRIPT = str(topo.REPO / "tests" / "e2e" / "router_proc.py")


def ping(ns: str) -> tuple[int, int, str]:
    res = subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c", "3", "-i", "0.5",
                          "-W", "3", topo.CPE_ADDR], capture_output=True, text=True, timeout=30)
    sent, received = topo.parse_ping(res.stdout)
    return sent, received, res.stdout + res.stderr


def start_router(lab):
    proc, out = topo.start_python([SCRIPT, "--prefix", lab.prefix])
    try:
        m = out.wait_for(r"^present before start: ?(.*)$", 30)
        out.wait_for(r"^router ready$", 30)
    except BaseException:
        topo.stop_process(proc, sig=signal.SIGKILL)
        raise
    return proc, out, set(m.group(1).split())


def reconciled(out) -> set[str]:
    """Namespaces Engine.start reported as stale and deleted."""
    m = [re.search(r"removed stale namespaces of an earlier run: (.*)$", line)
         for line in out.lines]
    return {n.strip() for x in m if x for n in x.group(1).split(",")}


def test_sigkill_then_restart_reconciles_and_dials_out_again(lab):
    home, default = lab.ns("home"), lab.ns("default")
    proc = proc2 = None
    try:
        proc, out, present = start_router(lab)
        assert present == set() and reconciled(out) == set()
        sent, received, text = ping(home)
        assert (sent, received) == (3, 3), text + "\n".join(out.lines)
        out.wait_for(r"session home/10\.10\.1\.1: .*-> inService", 10)
        assert any(r.startswith(topo.CPE_ROUTE) for r in
                   topo.ip("-n", home, "route").splitlines())

        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # the crash leaves the namespaces behind (their TUN devices died with the process)
        assert {home, default} <= set(lab.router_namespaces())
        stray = lab.ns("gone")              # a VR of the dead run the next run does not have
        nsh.create_namespace(stray)

        proc2, out2, present = start_router(lab)
        assert present == {home, default, stray}
        assert reconciled(out2) == {home, default, stray}, out2.lines
        assert stray not in lab.router_namespaces()
        assert set(lab.router_namespaces()) == {home, default}
        sent, received, text = ping(home)
        assert (sent, received) == (3, 3), text + "\n".join(out2.lines)
        out2.wait_for(r"session home/10\.10\.1\.1: .*-> inService", 10)

        proc2.send_signal(signal.SIGTERM)
        assert proc2.wait(timeout=20) == 0
        out2.wait_for(r"^router stopped$", 5)
        assert lab.router_namespaces() == []
    finally:
        topo.stop_process(proc, sig=signal.SIGKILL)
        topo.stop_process(proc2, sig=signal.SIGKILL)
    lab.close()
    assert lab.leftovers() == []
