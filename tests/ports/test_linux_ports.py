"""Ports of the Linux dataplane: a veth end of the test's own namespace is moved into a VR's
namespace, addressed, brought up/down, resolves next hops, and is given back as it was (on
removal, on close, and after a crash through the record in /run/jcli)."""
from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from engine.dataplane import netns_helpers as nsh
from engine.types import Route
from tests.needs import need_root

NET = ipaddress.IPv4Network("10.9.0.0/16")
ADDR = ipaddress.IPv4Interface("10.77.0.1/24")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def env() -> Iterator[tuple[str, str, str]]:
    """(router prefix, veth end given to the router, lab namespace holding the other end);
    the veth end starts in a namespace of its own that plays 'where the router runs'."""
    need_root()
    tag = uuid.uuid4().hex[:6]
    prefix, lab, home = f"jpt{tag}-", f"jplab{tag}", f"jphome{tag}"
    end, peer = f"pa{tag}", f"pb{tag}"
    nsh.create_namespace(lab)
    nsh.create_namespace(home)
    try:
        ip("-n", home, "link", "add", end, "type", "veth", "peer", "name", peer, "netns", lab)
        ip("-n", home, "addr", "add", "192.0.2.9/24", "dev", end)
        ip("-n", home, "link", "set", end, "up")
        ip("-n", lab, "addr", "add", "10.77.0.2/24", "dev", peer)
        ip("-n", lab, "link", "set", peer, "up")
        yield prefix, end, home
    finally:
        for ns in nsh.list_namespaces():
            if ns.startswith(prefix):
                nsh.delete_namespace(ns)
        nsh.delete_namespace(lab)
        nsh.delete_namespace(home)
        try:
            os.unlink(f"/run/jcli/{prefix}ports.json")
        except FileNotFoundError:
            pass


def in_home(home: str, scenario: str, prefix: str, end: str) -> None:
    """Run ``scenario`` in a process started in namespace ``home`` (the router runs there)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (f"import tests.ports.test_linux_ports as t; t.{scenario}({prefix!r}, {end!r}, "
            f"{home!r})")
    p = subprocess.run(["nsenter", f"--net=/run/netns/{home}", sys.executable, "-c", code],
                       cwd=root,
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": root})
    assert p.returncode == 0, p.stdout + p.stderr


def _state(home: str, end: str) -> tuple[bool, list[str]]:
    out = ip("-n", home, "-o", "-4", "addr", "show", "dev", end)
    up = "UP" in ip("-n", home, "-o", "link", "show", "dev", end).split(">")[0]
    return up, [line.split()[3] for line in out.splitlines()]


def scenario_moved(prefix: str, end: str, home: str) -> None:
    from engine.dataplane.linux import LinuxDataplane
    dp = LinuxDataplane(prefix=prefix)
    try:
        dp.add_vr("home")
        dp.add_route("home", Route(NET, "static", nexthop=ipaddress.IPv4Address("10.77.0.2")))
        assert [r.active for r in dp.routes("home") if r.prefix == NET] == [False]
        dp.set_port("home", "gigabitEthernet1/0", end, ADDR, False)
        assert [r.active for r in dp.routes("home") if r.prefix == NET] == [False]
        dp.set_port("home", "gigabitEthernet1/0", end, ADDR, True)
        r = next(r for r in dp.routes("home") if r.prefix == NET)
        assert r.active and r.ifname == "gigabitEthernet1/0", r
        assert dp.ping("home", ipaddress.IPv4Address("10.77.0.2"), 3, 2.0) == 3
        st = dp.port_status("home")[0]
        assert st["address"] == "10.77.0.1/24" and st["oper_up"], st
        assert st["counters"]["tx_packets"] >= 3 and st["counters"]["rx_packets"] >= 3, st
        assert os.path.exists(f"/run/jcli/{prefix}ports.json")
        dp.remove_port("gigabitEthernet1/0")
        assert [r.active for r in dp.routes("home") if r.prefix == NET] == [False]
        assert _state(home, end) == (True, ["192.0.2.9/24"])
        dp.set_port("home", "gigabitEthernet1/0", end, ADDR, True)
    finally:
        dp.close()
    assert _state(home, end) == (True, ["192.0.2.9/24"])
    assert not os.path.exists(f"/run/jcli/{prefix}ports.json")


def scenario_crash(prefix: str, end: str, home: str) -> None:
    from engine.dataplane.linux import LinuxDataplane
    from engine.dataplane.linux_support import release_prefix
    dp = LinuxDataplane(prefix=prefix)
    dp.add_vr("home")
    dp.set_port("home", "gigabitEthernet1/0", end, ADDR, True)
    release_prefix(prefix, dp._lock)        # the process 'dies': nothing is given back
    assert end in ip("-n", f"{prefix}home", "-o", "link", "show")
    dp2 = LinuxDataplane(prefix=prefix)
    try:
        stale = dp2.reconcile_stale()
        assert f"{prefix}home" in stale
        assert _state(home, end) == (True, ["192.0.2.9/24"])
    finally:
        dp2.close()


def scenario_missing(prefix: str, end: str, home: str) -> None:
    from engine.dataplane.linux import LinuxDataplane
    from engine.types import DataplaneError
    with LinuxDataplane(prefix=prefix) as dp:
        dp.add_vr("home")
        with pytest.raises(DataplaneError) as ei:
            dp.set_port("home", "gigabitEthernet1/0", "nosuchif0", ADDR, True)
        assert "\n" not in str(ei.value) and "nosuchif0" in str(ei.value)


def test_port_moved_in_configured_and_given_back(env: tuple[str, str, str]) -> None:
    prefix, end, home = env
    in_home(home, "scenario_moved", prefix, end)


def test_port_given_back_after_a_crash(env: tuple[str, str, str]) -> None:
    prefix, end, home = env
    in_home(home, "scenario_crash", prefix, end)


def test_missing_interface_is_one_line(env: tuple[str, str, str]) -> None:
    prefix, end, home = env
    in_home(home, "scenario_missing", prefix, end)
