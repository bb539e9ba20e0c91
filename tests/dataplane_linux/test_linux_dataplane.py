"""LinuxDataplane against the real kernel: namespaces, TUN devices, routes, packet paths."""
from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil
import socket
import subprocess

import pytest

from engine.dataplane import netns_helpers as nsh
from engine.dataplane.base import Route
from engine.dataplane.linux import ROOT_ERROR, DataplaneUnavailable, LinuxDataplane, kernel_ifname, netns_name

from . import packets as pk
from .conftest import needs_root

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address
IF = ipaddress.IPv4Interface

LOOP0 = IF("10.255.0.1/32")
LOCAL = A("10.255.0.1")
PEER = A("10.66.0.2")


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


async def wait_until(predicate, timeout: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def udp_from_vr(dp: LinuxDataplane, vr: str, dst: str, port: int = 9) -> None:
    sock = dp.socket_in_vr(vr, socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.sendto(b"hello", (dst, port))
    finally:
        sock.close()


# -- naming (no root needed) ----------------------------------------------------------------
def test_namespace_names_are_safe_and_distinct():
    assert netns_name("jcli-", "home") == "jcli-home"
    odd = [netns_name("jcli-", v) for v in ("a/b", "a b", "a_b", "x" * 80, "vr:1", "..")]
    assert len(set(odd)) == len(odd)
    for name in odd:
        assert "/" not in name and " " not in name and len(name) <= 5 + 40
    assert netns_name("jcli-", "a/b") != netns_name("jcli-", "a:b")


def test_interface_names_fit_linux_rules():
    assert kernel_ifname("ppp5") == "ppp5"
    for name in ("ip-1/0/0.100", "x" * 16, "lo", "dialout0", "a b"):
        k = kernel_ifname(name)
        assert len(k) <= 15 and "/" not in k and " " not in k and k not in ("lo", "dialout0")
    assert kernel_ifname("ip-1/0/0.100") != kernel_ifname("ip-1/0/0.101")


def test_without_root_a_clear_error_and_nothing_made(monkeypatch):
    before = nsh.list_namespaces()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(DataplaneUnavailable) as info:
        LinuxDataplane(prefix="jtnoroot-")
    assert str(info.value) == ROOT_ERROR
    assert nsh.list_namespaces() == before


# -- namespaces -----------------------------------------------------------------------------
@needs_root
def test_namespace_lifecycle(dp, ns_prefix):
    dp.add_vr("home")
    dp.add_vr("odd vr/1")
    names = nsh.list_namespaces()
    assert f"{ns_prefix}home" in names
    assert dp.namespace("odd vr/1") in names
    assert "UP" in ip("-n", f"{ns_prefix}home", "link", "show", "lo")
    assert "dialout0" in ip("-n", f"{ns_prefix}home", "link", "show")
    dp.add_vr("home")  # idempotent
    dp.remove_vr("home")
    assert f"{ns_prefix}home" not in nsh.list_namespaces()
    assert dp.namespace("odd vr/1") in nsh.list_namespaces()


@needs_root
def test_reconcile_deletes_stale_namespaces_and_their_interfaces(dp, ns_prefix):
    stale_a, stale_b = f"{ns_prefix}stale1", f"{ns_prefix}stale2"
    other = f"{ns_prefix[:-1]}o-x"  # not our prefix: must survive
    for ns in (stale_a, stale_b, other):
        nsh.create_namespace(ns)
    ip("-n", stale_a, "link", "add", "st0", "type", "veth", "peer", "name", "peer0",
       "netns", other)
    assert "peer0" in ip("-n", other, "link")
    try:
        dp.add_vr("live")
        deleted = dp.reconcile_stale()
        assert sorted(deleted) == [stale_a, stale_b]
        names = nsh.list_namespaces()
        assert stale_a not in names and stale_b not in names
        assert f"{ns_prefix}live" in names and other in names
        assert "peer0" not in ip("-n", other, "link")  # the veth pair went with the namespace
    finally:
        nsh.delete_namespace(other)


# -- addresses and routes -------------------------------------------------------------------
@needs_root
def test_loopback_address_and_static_routes_in_the_kernel(dp, ns_prefix):
    ns = f"{ns_prefix}r1"
    dp.add_vr("r1")
    dp.set_address("r1", "loopback0", LOOP0)
    dp.set_address("r1", "loopback1", IF("10.255.0.9/32"))
    dp.add_session_interface("r1", "ppp0", LOCAL, PEER)
    static = Route(N("10.70.0.0/16"), "static", nexthop=PEER)
    null = Route(N("10.71.0.0/16"), "static", ifname="null0")
    far = Route(N("10.72.0.0/16"), "static", nexthop=PEER, distance=5, metric=7)
    for r in (static, null, far):
        dp.add_route("r1", r)
    dp.add_route("r1", Route(N("10.66.0.2/32"), "connected", ifname="ppp0"))  # ignored
    assert "10.255.0.1/32" in ip("-n", ns, "addr", "show", "lo")
    text = ip("-n", ns, "route")
    assert "10.70.0.0/16 via 10.66.0.2" in text
    assert "blackhole 10.71.0.0/16" in text
    routes = dp.routes("r1")
    # the kernel resolves the next hop's interface: it reads back with the session's name
    assert Route(N("10.70.0.0/16"), "static", ifname="ppp0", nexthop=PEER) in routes
    assert null in routes
    assert Route(N("10.72.0.0/16"), "static", ifname="ppp0", nexthop=PEER, distance=5,
                 metric=7) in routes
    assert "metric 327687" in text  # distance 5 << 16 | metric 7
    assert Route(N("10.66.0.2/32"), "connected", ifname="ppp0") in routes
    assert Route(N("10.255.0.1/32"), "connected", ifname="loopback0") in routes
    assert Route(N("10.255.0.9/32"), "connected", ifname="loopback1") in routes
    dp.set_address("r1", "loopback1", None)
    assert "10.255.0.9" not in ip("-n", ns, "addr", "show", "lo")
    dp.remove_route("r1", static)
    dp.remove_route("r1", static)  # absent: no error
    assert "10.70.0.0" not in ip("-n", ns, "route")
    with pytest.raises(ValueError):
        dp.set_address("r1", "fastEthernet0/0", IF("10.1.1.1/24"))


@needs_root
async def test_lookup_matches_the_kernel(dp, ns_prefix):
    ns = f"{ns_prefix}lk"
    dp.add_vr("lk")
    dp.set_address("lk", "loopback0", LOOP0)
    dp.add_session_interface("lk", "ip-1/0.7", LOCAL, PEER)
    dp.add_routes("lk", [
        Route(N("10.80.0.0/16"), "dial-out"),
        Route(N("10.80.4.0/24"), "access", ifname="ip-1/0.7"),
        Route(N("10.81.0.0/16"), "static", ifname="null0"),
        Route(N("10.82.0.0/16"), "static", nexthop=PEER),
    ])
    kname = dp.session_kernel_name("lk", "ip-1/0.7")
    expect = {"10.80.9.9": ("dial-out", None, "dialout0"),
              "10.80.4.4": ("access", "ip-1/0.7", kname),
              "10.82.1.1": ("static", "ip-1/0.7", kname),
              "10.81.1.1": ("static", "null0", None),
              "10.66.0.2": ("connected", "ip-1/0.7", kname)}
    for dst, (proto, ifname, kdev) in expect.items():
        got = dp.lookup("lk", A(dst))
        assert got is not None and got.protocol == proto and got.ifname == ifname, dst
        kernel = subprocess.run(["ip", "-n", ns, "route", "get", dst], capture_output=True,
                                text=True)
        if kdev is None:
            assert kernel.returncode != 0 or "blackhole" in kernel.stdout
        else:
            assert f"dev {kdev}" in kernel.stdout
    assert dp.lookup("lk", A("192.0.2.1")) is None
    assert subprocess.run(["ip", "-n", ns, "route", "get", "192.0.2.1"],
                          capture_output=True).returncode != 0


# -- packet paths -----------------------------------------------------------------------------
@needs_root
async def test_dial_out_route_delivers_triggers(dp):
    triggers: list[tuple[str, bytes]] = []
    dp.on_trigger = lambda vr, pkt: triggers.append((vr, pkt))
    dp.add_vr("home")
    dp.set_address("home", "loopback0", LOOP0)
    dp.add_route("home", Route(N("10.90.0.0/16"), "dial-out"))
    udp_from_vr(dp, "home", "10.90.1.1", 4000)
    assert await wait_until(lambda: len(triggers) >= 1)
    vr, pkt = triggers[0]
    assert vr == "home" and pk.dst_of(pkt) == A("10.90.1.1") and pkt[9] == 17
    # a packet originated by the router is routed by the kernel too
    dp.send_from_vr("home", pk.udp(LOCAL, "10.90.2.2", 1000, 2000, b"x"))
    assert await wait_until(lambda: any(pk.dst_of(p) == A("10.90.2.2") for _, p in triggers))
    # a destination outside the dial-out prefix does not trigger
    n = len(triggers)
    dp.send_from_vr("home", pk.udp(LOCAL, "10.91.2.2", 1000, 2000, b"x"))
    udp_from_vr(dp, "home", "10.90.3.3")
    assert await wait_until(lambda: any(pk.dst_of(p) == A("10.90.3.3") for _, p in triggers))
    assert all(pk.dst_of(p) != A("10.91.2.2") for _, p in triggers[n:])


@needs_root
@pytest.mark.skipif(shutil.which("ping") is None, reason="needs ping (iputils-ping)")
async def test_session_full_loop_kernel_ping_answered_through_deliver(dp, ns_prefix):
    ns = f"{ns_prefix}cpe"
    seen: list[tuple[str, str, bytes]] = []

    def on_session(vr: str, ifname: str, pkt: bytes) -> None:
        seen.append((vr, ifname, pkt))
        reply = pk.echo_reply_for(pkt)
        if reply is not None:
            dp.deliver(vr, ifname, reply)

    dp.on_session_packet = on_session
    dp.add_vr("cpe")
    dp.set_address("cpe", "loopback0", LOOP0)
    dp.add_session_interface("cpe", "ppp/7", LOCAL, PEER)
    dp.add_route("cpe", Route(N("10.50.0.0/24"), "access", ifname="ppp/7"))
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", ns, "ping", "-n", "-c", "2", "-W", "3", "-i", "0.2", "10.50.0.9",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, out.decode() + err.decode()
    assert " 0% packet loss" in out.decode()
    assert {(vr, ifname) for vr, ifname, _ in seen} == {("cpe", "ppp/7")}
    assert all(pk.dst_of(p) == A("10.50.0.9") for _, _, p in seen)
    # the same loop with the dataplane's own ping helper (run off the loop: it blocks)
    assert await asyncio.to_thread(dp.ping, "cpe", A("10.50.0.3"), 2, 3.0) == 2


@needs_root
async def test_shell_ping_send_from_vr_reply_on_local_packet(dp):
    local: list[bytes] = []
    dp.on_local_packet = lambda vr, pkt: local.append(pkt)
    dp.on_session_packet = lambda vr, ifname, pkt: dp.deliver(vr, ifname, pk.echo_reply_for(pkt))
    dp.add_vr("sh")
    dp.set_address("sh", "loopback0", LOOP0)
    dp.add_session_interface("sh", "ppp1", LOCAL, PEER)
    dp.send_from_vr("sh", pk.icmp_echo(LOCAL, PEER, 0x4242, 1))
    assert await wait_until(lambda: any(p[20] == 0 and p[24:26] == b"\x42\x42" for p in local))
    reply = next(p for p in local if p[20] == 0)
    assert pk.src_of(reply) == PEER and pk.dst_of(reply) == LOCAL


@needs_root
async def test_access_route_supersedes_identical_dial_out_route(dp):
    triggers, session = [], []
    dp.on_trigger = lambda vr, pkt: triggers.append(pkt)
    dp.on_session_packet = lambda vr, ifname, pkt: session.append(pkt)
    dp.add_vr("sup")
    dp.set_address("sup", "loopback0", LOOP0)
    prefix = N("10.60.0.0/16")
    dialout = Route(prefix, "dial-out")
    access = Route(prefix, "access", ifname="ppp2")
    dp.add_route("sup", dialout)
    dp.add_session_interface("sup", "ppp2", LOCAL, PEER)
    assert dp.lookup("sup", A("10.60.1.1")).protocol == "dial-out"
    dp.add_route("sup", access)
    both = [r for r in dp.routes("sup") if r.prefix == prefix]
    assert sorted(r.protocol for r in both) == ["access", "dial-out"]
    assert dp.lookup("sup", A("10.60.1.1")) == access
    udp_from_vr(dp, "sup", "10.60.1.1")
    assert await wait_until(lambda: len(session) == 1)
    dp.remove_route("sup", access)
    assert dp.lookup("sup", A("10.60.1.1")) == dialout
    udp_from_vr(dp, "sup", "10.60.1.2")
    assert await wait_until(lambda: len(triggers) == 1)
    assert pk.dst_of(triggers[0]) == A("10.60.1.2") and len(session) == 1
    # the session going away takes its routes with it; the dial-out route remains
    dp.add_route("sup", access)
    dp.remove_session_interface("sup", "ppp2")
    assert [r.protocol for r in dp.routes("sup") if r.prefix == prefix] == ["dial-out"]


@needs_root
def test_batch_install_of_10000_routes_then_cleanup(dp, ns_prefix):
    ns = f"{ns_prefix}big"
    dp.add_vr("big")
    dp.add_session_interface("big", "ppp9", LOCAL, PEER)
    base = len(dp.routes("big"))
    routes = [Route(N((0x0A000000 + (i << 8), 24)), "access", ifname="ppp9") for i in range(10_000)]
    dp.add_routes("big", routes)
    installed = dp.routes("big")
    assert len(installed) == base + 10_000
    assert set(routes) <= set(installed)
    assert len(ip("-n", ns, "route").splitlines()) == base + 10_000
    dp.add_routes("big", routes[:100])  # replace: no duplicates
    assert len(dp.routes("big")) == base + 10_000
    dp.remove_routes("big", routes)
    assert len(dp.routes("big")) == base
    # a failing route in a batch is reported, the others are installed (the kernel refuses
    # a broadcast address as a gateway)
    dp.set_address("big", "loopback0", IF("10.77.0.1/24"))
    bad = Route(N("10.200.0.0/16"), "static", nexthop=A("10.77.0.255"))
    good = Route(N("10.201.0.0/16"), "access", ifname="ppp9")
    with pytest.raises(OSError) as info:
        dp.add_routes("big", [bad, good])
    assert "10.200.0.0/16" in str(info.value)
    assert str(info.value) == ("virtual-router big: route 10.200.0.0/16 via 10.77.0.255: "
                               "Invalid argument (1 of 2 routes failed)")
    assert good in dp.routes("big")
    assert not [r for r in dp.routes("big") if r.prefix == bad.prefix]
    # an unreachable next hop is no error: the route is kept, inactive
    far = Route(N("10.202.0.0/16"), "static", nexthop=A("192.0.2.77"))
    dp.add_routes("big", [far])
    assert [r.active for r in dp.routes("big") if r.prefix == far.prefix] == [False]


@needs_root
async def test_close_leaves_no_namespace_or_interface(ns_prefix):
    plane = LinuxDataplane(prefix=ns_prefix)
    plane.add_vr("a")
    plane.add_vr("b")
    plane.add_session_interface("a", "ppp1", LOCAL, PEER)
    sock = plane.socket_in_vr("b")
    sock.close()
    plane.close()
    plane.close()  # idempotent
    assert not [ns for ns in nsh.list_namespaces() if ns.startswith(ns_prefix)]
    with pytest.raises(RuntimeError):
        plane.add_vr("c")
    kept = LinuxDataplane(prefix=ns_prefix, keep_namespaces=True)
    kept.add_vr("k")
    kept.add_session_interface("k", "ppp1", LOCAL, PEER)
    kept.close()
    assert f"{ns_prefix}k" in nsh.list_namespaces()
    assert "ppp1" not in ip("-n", f"{ns_prefix}k", "link")  # TUN devices die with their fd
    again = LinuxDataplane(prefix=ns_prefix)
    assert again.reconcile_stale() == [f"{ns_prefix}k"]
    again.close()
    assert not os.path.exists(f"/run/jcli/{ns_prefix}lock")


@needs_root
async def test_lab_namespace_joined_by_veth(dp, ns_prefix):
    dp.add_vr("lns")
    lab = f"{ns_prefix}lab"
    tag = ns_prefix[2:-1][-8:]
    pair = (f"l{tag}", f"p{tag}")
    with nsh.lab_namespace(lab, pair, "192.0.2.1/24", "192.0.2.2/24", dp.namespace("lns")):
        assert lab in nsh.list_namespaces()
        assert await asyncio.to_thread(dp.ping, "lns", A("192.0.2.2"), 1, 3.0) == 1
        sock = dp.socket_in_vr("lns")
        peer = nsh.socket_in_netns(lab)
        try:
            peer.bind(("192.0.2.2", 0))
            sock.sendto(b"l2tp?", peer.getsockname())
            peer.settimeout(3)
            data, addr = peer.recvfrom(100)
            assert data == b"l2tp?" and addr[0] == "192.0.2.1"
        finally:
            sock.close()
            peer.close()
    assert lab not in nsh.list_namespaces()
    assert pair[0] not in ip("-n", dp.namespace("lns"), "link")


@needs_root
async def test_packet_from_a_session_is_forwarded_by_the_kernel(dp):
    triggers, to_other = [], []
    dp.on_trigger = lambda vr, pkt: triggers.append(pkt)
    dp.on_session_packet = lambda vr, ifname, pkt: to_other.append((ifname, pkt))
    dp.add_vr("fw")
    dp.set_address("fw", "loopback0", LOOP0)
    dp.add_session_interface("fw", "ppp1", LOCAL, PEER)
    dp.add_session_interface("fw", "ppp2", LOCAL, A("10.66.0.3"))
    dp.add_route("fw", Route(N("10.90.0.0/16"), "dial-out"))
    dp.add_route("fw", Route(N("10.51.0.0/24"), "access", ifname="ppp2"))
    # from the CPE behind ppp1: to a dial-out destination, then to the site behind ppp2
    dp.deliver("fw", "ppp1", pk.udp("10.66.0.2", "10.90.7.7", 1000, 2000, b"a"))
    dp.deliver("fw", "ppp1", pk.udp("10.66.0.2", "10.51.0.5", 1000, 2000, b"b"))
    assert await wait_until(lambda: triggers and to_other)
    assert pk.dst_of(triggers[0]) == A("10.90.7.7") and triggers[0][8] == 63  # TTL decremented
    assert to_other[0][0] == "ppp2" and pk.dst_of(to_other[0][1]) == A("10.51.0.5")
    dp.deliver("fw", "no-such-session", pk.udp("10.66.0.2", "10.51.0.5", 1, 2, b"c"))
    assert dp.counters["deliver_no_interface"] == 1


@needs_root
async def test_a_failing_callback_does_not_stop_the_reader(dp):
    seen = []

    def on_trigger(vr, pkt):
        seen.append(pkt)
        if len(seen) == 1:
            raise RuntimeError("engine bug")

    dp.on_trigger = on_trigger
    dp.add_vr("cb")
    dp.set_address("cb", "loopback0", LOOP0)
    dp.add_route("cb", Route(N("10.90.0.0/16"), "dial-out"))
    udp_from_vr(dp, "cb", "10.90.0.1")
    assert await wait_until(lambda: len(seen) == 1)
    udp_from_vr(dp, "cb", "10.90.0.2")
    assert await wait_until(lambda: len(seen) == 2)
    assert dp.counters["callback_errors"] == 1


@needs_root
def test_pyroute2_reads_the_same_protocols_and_metrics(dp, ns_prefix):
    """An independent decoder (pyroute2) sees the proto and priority numbers we document."""
    from pyroute2 import IPRoute
    dp.add_vr("p2")
    dp.add_session_interface("p2", "ppp1", LOCAL, PEER)
    dp.add_routes("p2", [Route(N("10.40.0.0/16"), "dial-out"),
                         Route(N("10.40.0.0/16"), "access", ifname="ppp1", metric=3),
                         Route(N("10.41.0.0/16"), "static", nexthop=PEER)])
    with IPRoute(netns=f"{ns_prefix}p2") as ipr:
        seen = {(r.get("RTA_DST"), r["dst_len"], r["proto"], r.get("RTA_PRIORITY"))
                for r in ipr.get_routes(family=socket.AF_INET, table=254)}
    assert ("10.40.0.0", 16, 242, 250 << 16) in seen
    assert ("10.40.0.0", 16, 241, (1 << 16) | 3) in seen
    assert ("10.41.0.0", 16, 240, 1 << 16) in seen
