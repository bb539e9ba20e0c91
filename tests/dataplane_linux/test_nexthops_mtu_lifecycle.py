"""Linux dataplane: next-hop routes follow connected networks, session MTU, lock files."""
from __future__ import annotations

import fcntl
import ipaddress
import os
import subprocess

import pytest

from engine.dataplane.linux_support import LOCK_DIR, lock_path
from engine.types import DataplaneConfigError, DataplaneError, Route

from .conftest import needs_root

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address
Ifc = ipaddress.IPv4Interface


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True).stdout


@needs_root
def test_next_hop_route_waits_for_its_connected_network(dp, ns_prefix):
    ns = f"{ns_prefix}nh"
    dp.add_vr("nh")
    via_session = Route(N("10.90.0.0/16"), "static", nexthop=A("10.66.0.2"))
    via_loop = Route(N("10.91.0.0/16"), "static", nexthop=A("10.1.1.2"))
    dp.add_routes("nh", [via_session, via_loop])          # nothing connected yet: no error
    shown = {r.prefix: r for r in dp.routes("nh")}
    assert not shown[via_session.prefix].active and not shown[via_loop.prefix].active
    assert "10.90.0.0" not in ip("-n", ns, "route")
    dp.add_session_interface("nh", "ppp1", A("10.255.0.1"), A("10.66.0.2"))
    assert "10.90.0.0/16 via 10.66.0.2 dev ppp1" in ip("-n", ns, "route")
    assert Route(N("10.90.0.0/16"), "static", ifname="ppp1", nexthop=A("10.66.0.2")) \
        in dp.routes("nh")
    dp.set_address("nh", "loopback0", Ifc("10.1.1.1/24"))
    assert "10.91.0.0/16 via 10.1.1.2" in ip("-n", ns, "route")
    # the connected networks go: the routes are withdrawn and shown inactive again
    dp.remove_session_interface("nh", "ppp1")
    dp.set_address("nh", "loopback0", None)
    text = ip("-n", ns, "route")
    assert "10.90.0.0" not in text and "10.91.0.0" not in text
    assert sorted((str(r.prefix), r.active) for r in dp.routes("nh")) == [
        ("10.90.0.0/16", False), ("10.91.0.0/16", False)]
    # and come back with them
    dp.add_session_interface("nh", "ppp1", A("10.255.0.1"), A("10.66.0.2"))
    assert "10.90.0.0/16 via 10.66.0.2 dev ppp1" in ip("-n", ns, "route")
    dp.remove_routes("nh", [via_session, via_loop])
    assert not [r for r in dp.routes("nh") if r.protocol == "static"]
    assert "10.90.0.0" not in ip("-n", ns, "route")


@needs_root
def test_session_mtu_is_the_tun_devices(dp, ns_prefix):
    ns = f"{ns_prefix}mt"
    dp.add_vr("mt")
    dp.add_session_interface("mt", "ppp1", A("10.255.0.1"), A("10.66.0.2"))
    assert dp.mtu("mt", "ppp1") == 1500
    dp.set_mtu("mt", "ppp1", 1400)
    assert " mtu 1400 " in ip("-n", ns, "link", "show", "ppp1")
    assert dp.mtu("mt", "ppp1") == 1400
    with pytest.raises(DataplaneConfigError) as info:
        dp.set_mtu("mt", "ppp1", 40)
    assert str(info.value) == "virtual-router mt: ppp1: MTU 40 out of range 68-65535"
    with pytest.raises(DataplaneError) as info2:
        dp.set_mtu("mt", "ppp7", 1400)
    assert str(info2.value) == "virtual-router mt: ppp7: no such session interface"


@needs_root
def test_lock_file_removed_on_close_and_stale_ones_reconciled(ns_prefix):
    from engine.dataplane.linux import LinuxDataplane
    stale = os.path.join(LOCK_DIR, f"{ns_prefix}old-lock")
    held = os.path.join(LOCK_DIR, f"{ns_prefix}held-lock")
    os.makedirs(LOCK_DIR, exist_ok=True)
    open(stale, "w").close()
    fd = os.open(held, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        plane = LinuxDataplane(prefix=ns_prefix)
        assert os.path.exists(lock_path(ns_prefix))
        plane.reconcile_stale()
        assert not os.path.exists(stale)
        assert os.path.exists(held)                  # its router is alive
        assert os.path.exists(lock_path(ns_prefix))  # ours too
        plane.close()
        assert not os.path.exists(lock_path(ns_prefix))
        again = LinuxDataplane(prefix=ns_prefix)     # the prefix is free again
        again.close()
    finally:
        os.close(fd)
        os.unlink(held)


@needs_root
def test_routes_stream_in_prefix_order(dp):
    dp.add_vr("st")
    dp.add_session_interface("st", "ppp1", A("10.255.0.1"), A("10.66.0.2"))
    routes = [Route(N(p), "access", ifname="ppp1")
              for p in ("10.9.0.0/16", "10.8.0.0/24", "10.8.0.0/16", "9.0.0.0/8")]
    dp.add_routes("st", routes)
    dp.add_route("st", Route(N("10.7.0.0/16"), "static", nexthop=A("192.0.2.1")))
    listed = [str(r.prefix) for r in dp.iter_routes("st")]
    assert listed == ["9.0.0.0/8", "10.7.0.0/16", "10.8.0.0/16", "10.8.0.0/24", "10.9.0.0/16",
                      "10.66.0.2/32"]
    assert [str(r.prefix) for r in dp.iter_routes("st", N("10.8.0.0/16"), after=True)] \
        == listed[3:]


@needs_root
async def test_session_devices_removed_together_and_names_reusable_at_once(dp, ns_prefix,
                                                                           monkeypatch):
    import asyncio

    from engine.dataplane import rtnl
    calls: list[int] = []
    real = rtnl.Rtnl.delete_group

    def counting(self: rtnl.Rtnl, group: int) -> None:
        calls.append(group)
        real(self, group)
    monkeypatch.setattr(rtnl.Rtnl, "delete_group", counting)
    ns = f"{ns_prefix}rm"
    dp.add_vr("rm")
    for i in range(20):
        dp.add_session_interface("rm", f"ppp{i}", A("10.255.0.1"), A(0x0A420000 + i))
        dp.add_route("rm", Route(N((0x0A430000 + (i << 8), 24)), "access", ifname=f"ppp{i}"))
    for i in range(20):
        dp.remove_session_interface("rm", f"ppp{i}")
    # a name given back can be used again in the same loop turn
    dp.add_session_interface("rm", "ppp3", A("10.255.0.1"), A("10.66.9.9"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert "10.67." not in ip("-n", ns, "route")     # the routes went with the devices
    links = ip("-n", ns, "-o", "link")
    assert [n for n in (f"ppp{i}" for i in range(20)) if f" {n}:" in links] == ["ppp3"]
    assert len(calls) == 1
    dp.remove_session_interface("rm", "ppp3")


@needs_root
async def test_many_session_devices_deleted_one_batch_per_loop_turn(dp, monkeypatch):
    import asyncio

    from engine.dataplane import linux
    monkeypatch.setattr(linux, "RETIRE_BATCH", 4)
    dp.add_vr("bt")
    for i in range(10):
        dp.add_session_interface("bt", f"ppp{i}", A("10.255.0.1"), A(0x0A420000 + i))
    for i in range(10):
        dp.remove_session_interface("bt", f"ppp{i}")
    assert dp.pending_removals("bt") == 10
    seen = []
    while dp.pending_removals("bt"):
        await asyncio.sleep(0)
        seen.append(dp.pending_removals("bt"))
    assert seen == [6, 2, 0]
    assert " ppp" not in ip("-n", dp.namespace("bt"), "-o", "link")
