"""Linux dataplane benchmark (needs root): route installation and packets through a session TUN.

Prints JSON lines {"bench", "metric", "value", "unit"}:
* sessions: 2,000 session TUN devices with an access /32 each, created then removed (the
  removal time per interface must not grow with the number of sessions).
* routes: 10,000 access routes installed with add_routes (batched netlink), with add_route (one
  netlink round trip each) and with pyroute2's IPRoute.route() per call; the batch/pyroute2
  ratio.
* packets kernel -> TUN -> userspace: a UDP flood of a fixed count from a separate process in
  the VR's namespace to an address behind a session TUN, counted in on_session_packet (full
  path through the dataplane's reader; bounded by the sender's rate, also reported); the TUN
  part alone: 9,000 packets queued in the TUN (txqueuelen 10000) while nobody reads, then
  drained by a bare os.read loop.
* packets userspace -> TUN -> kernel: deliver() of UDP packets addressed to a socket in the
  namespace; the write rate, and what a receiving process counts.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from engine.dataplane import netns_helpers as nsh  # noqa: E402
from engine.dataplane.base import Route  # noqa: E402
from engine.dataplane.linux import PROTO, LinuxDataplane, route_priority  # noqa: E402

BENCH = "dataplane"
LOCAL = ipaddress.IPv4Address("10.255.0.1")
PEER = ipaddress.IPv4Address("10.66.0.2")
TARGET = "10.50.0.9"

SENDER = r"""
import socket, sys, time
n, size, dst = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
payload = b"x" * (size - 28)
t = time.perf_counter()
for _ in range(n):
    try:
        s.sendto(payload, (dst, 9))
    except OSError:
        pass
print(time.perf_counter() - t)
"""

RECEIVER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
s.settimeout(5.0)
n = 0; first = last = None
try:
    s.recv(4096); n = 1; first = last = time.perf_counter()
    s.settimeout(0.5)
    while True:
        s.recv(4096); n += 1
    # unreachable
except (socket.timeout, TimeoutError):
    last = last if n <= 1 else time.perf_counter() - 0.5
print(n, (last - first) if first else 0.0)
"""


def udp_packet(src, dst, sport: int, dport: int, data: bytes) -> bytes:
    """IPv4/UDP packet (header checksum filled in, UDP checksum 0 = none)."""
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(data), 0, 0x4000, 64, 17, 0,
                                ipaddress.IPv4Address(src).packed,
                                ipaddress.IPv4Address(dst).packed))
    total = sum(struct.unpack("!10H", hdr))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    hdr[10:12] = struct.pack("!H", ~total & 0xFFFF)
    return bytes(hdr) + struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def emit(metric: str, value, unit: str) -> None:
    print(json.dumps({"bench": BENCH, "metric": metric, "value": value, "unit": unit}),
          flush=True)


def routes_bench(dp: LinuxDataplane, count: int) -> None:
    vr = "routes"
    dp.add_vr(vr)
    dp.add_session_interface(vr, "ppp0", LOCAL, PEER)
    routes = [Route(ipaddress.IPv4Network((0x0A000000 + (i << 8), 24)), "access", ifname="ppp0")
              for i in range(count)]
    t = time.perf_counter()
    dp.add_routes(vr, routes)
    batch = count / (time.perf_counter() - t)
    dp.remove_routes(vr, routes)
    emit("routes_batched_per_s", round(batch), "routes/s")

    t = time.perf_counter()
    for r in routes:
        dp.add_route(vr, r)
    single = count / (time.perf_counter() - t)
    dp.remove_routes(vr, routes)
    emit("routes_per_call_rtnl_per_s", round(single), "routes/s")

    from pyroute2 import IPRoute
    ns = dp.namespace(vr)
    with IPRoute(netns=ns) as ipr:
        oif = ipr.link_lookup(ifname="ppp0")[0]
        prio = route_priority(routes[0])
        t = time.perf_counter()
        for r in routes:
            ipr.route("add", dst=str(r.prefix), oif=oif, proto=PROTO["access"], priority=prio,
                      scope=253)
        pyr = count / (time.perf_counter() - t)
    assert len(dp.routes(vr)) >= count
    dp.remove_routes(vr, routes)
    emit("routes_per_call_pyroute2_per_s", round(pyr), "routes/s")
    emit("routes_batched_vs_pyroute2_ratio", round(batch / pyr, 1), "x")
    dp.remove_vr(vr)


async def sessions_bench(dp: LinuxDataplane, count: int) -> None:
    """``count`` session TUN devices with one access /32 each (and readers on the loop): the
    time to create them, then to remove them all."""
    vr = "sessions"
    dp.add_vr(vr)
    base = int(ipaddress.IPv4Address("10.80.0.0"))
    names = [f"ppp{i}" for i in range(count)]
    t = time.perf_counter()
    for i, name in enumerate(names):
        peer = ipaddress.IPv4Address(base + i)
        dp.add_session_interface(vr, name, LOCAL, peer)
        dp.add_routes(vr, [Route(ipaddress.IPv4Network((base + i, 32)), "access",
                                 ifname=name)])
    emit(f"add_{count}_session_interfaces", round(time.perf_counter() - t, 3), "s")
    stall = 0.0
    done = False

    async def ticker() -> None:      # the longest time the loop was not answering
        nonlocal stall
        while not done:
            t0 = time.perf_counter()
            await asyncio.sleep(0)
            stall = max(stall, time.perf_counter() - t0)
    t = time.perf_counter()
    for name in names:
        dp.remove_session_interface(vr, name)
    removed = time.perf_counter() - t
    tick = asyncio.create_task(ticker())
    while dp.pending_removals(vr):   # deleted in batches, one per loop turn
        await asyncio.sleep(0)
    done = True
    await tick
    emit("remove_session_interfaces_calls_ms", round(removed * 1e3, 1), "ms")
    emit("max_loop_stall_while_deleting_ms", round(stall * 1e3, 1), "ms")
    left = subprocess.run(["ip", "-n", dp.namespace(vr), "-o", "link"], capture_output=True,
                          text=True, check=True).stdout.count("ppp")
    took = time.perf_counter() - t
    assert left == 0, f"{left} session devices left"
    emit(f"remove_{count}_session_interfaces", round(took, 3), "s")
    emit("remove_one_session_interface", round(took / count * 1e6, 1), "us")
    dp.remove_vr(vr)


async def kernel_to_user(dp: LinuxDataplane, vr: str, size: int, count: int) -> None:
    """Full path: flood from another process, read by the dataplane's reader + callback."""
    got = 0
    first = last = 0.0

    def on_packet(_vr: str, _ifname: str, pkt: bytes) -> None:
        nonlocal got, first, last
        got += 1
        if got == 1:
            first = time.perf_counter()
        last = time.perf_counter()

    dp.on_session_packet = on_packet
    send_time = await send_flood(dp, vr, size, count)
    while True:  # drain what is queued
        before = got
        await asyncio.sleep(0.2)
        if got == before:
            break
    dp.on_session_packet = None
    rate = got / (last - first) if last > first else 0.0
    emit(f"kernel_to_session_callback_{size}B_pps", round(rate), "packets/s")
    emit(f"kernel_to_session_callback_{size}B_received", f"{got}/{count}", "packets")
    emit(f"flood_sender_{size}B_pps", round(count / send_time) if send_time else 0, "packets/s")


async def send_flood(dp: LinuxDataplane, vr: str, size: int, count: int) -> float:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", dp.namespace(vr), sys.executable, "-c", SENDER, str(count),
        str(size), TARGET, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return float(out.decode().strip() or 0)


async def tun_read_only(dp: LinuxDataplane, vr: str, size: int, queued: int) -> None:
    """The TUN part alone: fill the TUN queue while nobody reads, then time a bare read loop."""
    st = dp._vrs[vr]
    sess = st.sessions["ppp0"]
    loop = asyncio.get_running_loop()
    loop.remove_reader(sess.fd)
    try:
        await send_flood(dp, vr, size, queued)
        got = 0
        t = time.perf_counter()
        while True:
            try:
                os.read(sess.fd, 65535)
            except BlockingIOError:
                break
            got += 1
        elapsed = time.perf_counter() - t
    finally:
        loop.add_reader(sess.fd, dp._read_session, st, sess)
    emit(f"tun_read_only_{size}B_pps", round(got / elapsed) if got else 0, "packets/s")
    emit(f"tun_read_only_{size}B_drained", f"{got}/{queued}", "packets")


async def user_to_kernel(dp: LinuxDataplane, vr: str, size: int, count: int) -> None:
    port = 40000 + size
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", dp.namespace(vr), sys.executable, "-c", RECEIVER, str(LOCAL),
        str(port), stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    await proc.stdout.readline()
    packet = udp_packet(PEER, LOCAL, 5555, port, b"y" * (size - 28))
    t = time.perf_counter()
    deliver = dp.deliver
    for i in range(count):
        deliver(vr, "ppp0", packet)
        if i % 2000 == 1999:
            await asyncio.sleep(0)  # let the receiver breathe a little
    elapsed = time.perf_counter() - t
    out = (await proc.stdout.read()).decode().split()
    await proc.wait()
    received, span = int(out[0]), float(out[1])
    emit(f"deliver_{size}B_pps", round(count / elapsed), "packets/s")
    emit(f"deliver_{size}B_received_by_socket", f"{received}/{count}", "packets")
    if span > 0:
        emit(f"deliver_{size}B_socket_pps", round(received / span), "packets/s")


async def packets_bench(dp: LinuxDataplane, count: int) -> None:
    vr = "pkts"
    dp.add_vr(vr)
    dp.set_address(vr, "loopback0", ipaddress.IPv4Interface(f"{LOCAL}/32"))
    dp.add_session_interface(vr, "ppp0", LOCAL, PEER)
    dp.add_route(vr, Route(ipaddress.IPv4Network("10.50.0.0/24"), "access", ifname="ppp0"))
    subprocess.run(["ip", "-n", dp.namespace(vr), "link", "set", dp.session_kernel_name(vr, "ppp0"),
                    "txqueuelen", "10000"], check=True)
    for size in (64, 1400):
        await kernel_to_user(dp, vr, size, count)
        await tun_read_only(dp, vr, size, min(count, 9000))
        await user_to_kernel(dp, vr, size, count)
    dp.remove_vr(vr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=2000)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/dataplane.py needs root (network namespaces and TUN devices)",
              file=sys.stderr)
        return 2
    prefix = f"jb{os.getpid()}-"

    async def run() -> None:
        dp = LinuxDataplane(prefix=prefix)
        try:
            await sessions_bench(dp, args.sessions)
            await packets_bench(dp, args.packets)
        finally:
            dp.close()

    try:
        with LinuxDataplane(prefix=prefix) as dp:  # no loop: pyroute2's sync API needs none
            routes_bench(dp, args.routes)
        asyncio.run(run())
    finally:
        for ns in nsh.list_namespaces():
            if ns.startswith(prefix):
                nsh.delete_namespace(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
