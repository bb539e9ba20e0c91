"""End to end on the real kernel: router namespaces + TUN + veth + a lab host in a process.

The Engine runs with the Linux dataplane in the test's loop; the lab peers (RADIUS, LAC, CPE)
run in their own namespace behind a veth pair.  A kernel ``ping`` from the ``home`` VR's
namespace triggers the dial-out and is answered by the CPE through the L2TP session.
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import subprocess

import pytest

from . import topology as topo

pytestmark = pytest.mark.timeout(120)


async def kernel_ping(ns: str, dst: str, count: int = 3) -> tuple[int, int, str]:
    """`ping` inside namespace ns, as a subprocess so the engine's loop keeps running."""
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", ns, "ping", "-n", "-c", str(count), "-i", "0.5", "-W", "3", dst,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode(errors="replace")
    sent, received = topo.parse_ping(text)
    return sent, received, text


async def wait_until(pred, timeout: float = 10.0, step: float = 0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(step)


def sessions(engine, state: str | None = None):
    return [s for s in engine.snapshot().dialout.sessions
            if s.vr == "home" and (state is None or s.state.value == state)]


def kernel_routes(ns: str) -> list[str]:
    return topo.ip("-n", ns, "-4", "route", "show").splitlines()


async def start_engine(lab):
    from engine.aio.engine import Engine
    engine = Engine(dataplane="linux", netns_prefix=lab.prefix, nas_ip=topo.ROUTER_ADDR,
                    output=lambda line: None)
    await engine.start()
    engine.apply_config(topo.engine_config())
    return engine


async def test_kernel_ping_through_dialout_two_hosts(lab, prefixed_dataplane):
    home = lab.ns("home")
    engine = await start_engine(lab)
    try:
        assert home in lab.router_namespaces() and lab.ns("default") in lab.router_namespaces()
        assert any(r.startswith(f"{topo.TARGET} dev dialout0") for r in kernel_routes(home))
        assert sessions(engine) == []

        # the first echo request is the trigger: buffered, then forwarded once PPP is up
        sent, received, out = await kernel_ping(home, topo.CPE_ADDR)
        assert (sent, received) == (3, 3), out
        [s] = sessions(engine, "inService")
        assert s.triggers_forwarded >= 1 and s.failure_reason == ""
        assert s.access_routes == (ipaddress.IPv4Network(topo.CPE_ROUTE),)
        kname = engine.dp.session_kernel_name("home", s.ifname)
        assert any(re.match(rf"{re.escape(topo.CPE_ROUTE)} dev {re.escape(kname)} proto 241\b", r)
                   for r in kernel_routes(home)), kernel_routes(home)
        assert kname in topo.link_names(home)
        first = (s.tunnel_id, s.session_id, s.ifname)
        # the shell's own ping (raw socket in the VR, reply on the VR's ICMP socket)
        r = await engine.ping("home", topo.CPE_ADDR, count=3, timeout=3.0)
        assert (r.sent, r.received) == (3, 3)
        # both RADIUS phases went to VR default's server (domain map, ppp_auth_vr)
        radius = dict(engine.snapshot().radius)
        assert list(radius) == ["default"]

        # clear: the access route and the session interface go, the dial-out route stays
        assert engine.clear_sessions("home") >= 1
        await wait_until(lambda: not any(r.startswith(topo.CPE_ROUTE) for r in kernel_routes(home)))
        assert any(r.startswith(f"{topo.TARGET} dev dialout0") for r in kernel_routes(home))
        await wait_until(lambda: kname not in topo.link_names(home))
        assert not sessions(engine, "inService")

        # the next packet to the prefix is a trigger again: a new session, three replies
        sent, received, out = await kernel_ping(home, topo.CPE_ADDR)
        assert (sent, received) == (3, 3), out
        [s2] = sessions(engine, "inService")
        assert (s2.tunnel_id, s2.session_id, s2.ifname) != first
        kname2 = engine.dp.session_kernel_name("home", s2.ifname)
        assert any(r.startswith(f"{topo.CPE_ROUTE} dev {kname2} ") for r in kernel_routes(home))
    finally:
        await engine.stop()

    # nothing of the router remains (its TUN devices lived in its namespaces); the lab side
    # goes with the topology
    assert lab.router_namespaces() == []
    assert not {kname, kname2, "dialout0"} & set(topo.link_names())
    lab.close()
    assert lab.leftovers() == []
    assert lab.lab_proc.returncode is not None

