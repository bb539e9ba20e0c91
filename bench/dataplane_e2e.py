"""Packets per second through one established dial-out session on the real kernel (root).

Topology (tests/e2e/topology.py): the Engine with the Linux dataplane in this process (router
namespaces ``je<pid>r0-*``), the lab peers (RADIUS, LAC, CPE) in their own namespace behind a
veth pair, in a separate process.  One session to the CPE 10.10.1.1 is brought up by a kernel
ping, then a flooder process inside the ``home`` namespace sends a fixed number of packets:

* ``udp_forward``: UDP datagrams of 64 / 1400 bytes (IP length) to the CPE: home namespace ->
  kernel route -> session TUN -> engine (PPP + L2TP encapsulation) -> UDP over the veth.
  Forwarded packets are counted on the lab side of the veth (the lab host's kernel RX counter),
  from the first send to the last arrival.  The sender is paced (bursts of ``--bursts`` N with
  a 1 ms pause after each): an unpaced sender takes one of the machine's two cores and starves
  the router.  Each burst size is run; the best forwarded rate is reported with the offered
  rate and the drops at the session TUN of that run (offered ~= forwarded with few drops means
  the offered load, not the router, was the limit).
* ``echo``: ICMP echo requests of 64 / 1400 bytes with up to ``--window`` outstanding; the CPE
  answers each, so every request crosses the router one way and every reply the other way.
  Rate = replies / time, i.e. the packet rate in *each* direction.

Prints JSON lines ``{"bench", "metric", "value", "unit"}``.  ``--profile`` prints the top
functions of the router process (cProfile, during the first UDP and echo floods) to stderr.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e import topology as topo  # noqa: E402

BENCH = "dataplane_e2e"

FLOODER = r"""
import errno, json, os, select, socket, struct, sys, time
mode, dst, count, size, window = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"\0" * (size - 28)
    sent = 0
    t0 = time.monotonic()
    burst = window   # datagrams per burst; a 1 ms pause after each (offered <= ~burst kpps)
    while sent < count:
        for _ in range(min(burst, count - sent)):
            try:
                s.sendto(payload, (dst, 9))
                sent += 1
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
        time.sleep(0.001)
    print(json.dumps({"sent": sent, "t0": t0, "t1": time.monotonic()}))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    s.setblocking(False)
    payload = b"\xa5" * (size - 28)
    sent = received = lost = 0
    t0 = last = time.monotonic()
    while received + lost < count:
        while sent < count and sent - received - lost < window:
            try:
                s.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, sent & 0xFFFF) + payload, (dst, 0))
                sent += 1
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                break
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            if time.monotonic() - last > 1.0:    # whatever is outstanding is lost
                lost = sent - received
                last = time.monotonic()
            continue
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            if data[:1] == b"\0":
                received += 1
                last = t1 = time.monotonic()
    print(json.dumps({"sent": sent, "received": received, "lost": lost, "t0": t0, "t1": t1}))
"""


def emit(metric: str, value, unit: str) -> None:
    print(json.dumps({"bench": BENCH, "metric": metric, "value": value, "unit": unit}),
          flush=True)


def lab_rx_packets(lab: topo.Topology) -> int:
    raw = topo.ip("-n", lab.lab_ns, "-s", "-j", "link", "show", lab.veth_lab)
    return json.loads(raw)[0]["stats64"]["rx"]["packets"]


def tun_drops(engine, lab) -> int:
    s = engine.snapshot().dialout.sessions[0]
    kname = engine.dp.session_kernel_name("home", s.ifname)
    raw = topo.ip("-n", lab.ns("home"), "-s", "-j", "link", "show", kname)
    return json.loads(raw)[0]["stats64"]["tx"]["dropped"]


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one when pid is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def flood(lab, mode: str, count: int, size: int, window: int) -> dict:
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", lab.ns("home"), sys.executable, "-c", FLOODER, mode,
        topo.CPE_ADDR, str(count), str(size), str(window),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    if proc.returncode != 0:
        raise RuntimeError(f"flooder failed: {err.decode()}")
    return json.loads(out)


async def udp_forward(engine, lab, count: int, size: int,
                      burst: int) -> tuple[float, int, float]:
    """(forwarded packets/s, packets dropped at the session TUN, offered packets/s)"""
    before = lab_rx_packets(lab)
    drops0 = tun_drops(engine, lab)
    task = asyncio.ensure_future(flood(lab, "udp", count, size, burst))
    last_val, last_change = before, time.monotonic()
    while True:
        await asyncio.sleep(0.01)
        v = lab_rx_packets(lab)
        if v != last_val:
            last_val, last_change = v, time.monotonic()
        elif task.done() and time.monotonic() - last_change > 0.5:
            break
    res = task.result()
    forwarded = last_val - before
    elapsed = max(last_change - res["t0"], 1e-6)
    offered = res["sent"] / max(res["t1"] - res["t0"], 1e-6)
    return forwarded / elapsed, tun_drops(engine, lab) - drops0, offered


class profiler:
    """cProfile of this (router) process around one flood when --profile and the first size;
    the top functions by own time go to stderr."""

    def __init__(self, args, size: int, title: str) -> None:
        self.prof = cProfile.Profile() if (args.profile and size == args.sizes[0]) else None
        self.title = title

    def __enter__(self):
        if self.prof is not None:
            self.prof.enable()
        return self

    def __exit__(self, *exc) -> None:
        if self.prof is None:
            return
        self.prof.disable()
        buf = io.StringIO()
        pstats.Stats(self.prof, stream=buf).sort_stats("tottime").print_stats(20)
        print(f"=== profile of the router process: {self.title}\n{buf.getvalue()}",
              file=sys.stderr)


async def run(args) -> int:
    from engine.aio.engine import Engine

    reason = topo.missing_requirement()
    if reason is not None:
        print(f"{BENCH}: {reason}", file=sys.stderr)
        return 2
    topo.cleanup_dead_runs()
    with tempfile.TemporaryDirectory() as tmp, topo.Topology(Path(tmp)) as lab:
        engine = Engine(dataplane="linux", netns_prefix=lab.prefix, nas_ip=topo.ROUTER_ADDR,
                        output=lambda line: None)
        await engine.start()
        try:
            engine.apply_config(topo.engine_config())
            for _ in range(3):
                proc = await asyncio.create_subprocess_exec(
                    "ip", "netns", "exec", lab.ns("home"), "ping", "-n", "-c", "2", "-W", "2",
                    topo.CPE_ADDR, stdout=asyncio.subprocess.DEVNULL)
                await proc.wait()
                if [s for s in engine.snapshot().dialout.sessions
                        if s.state.value == "inService"]:
                    break
            else:
                raise RuntimeError("the dial-out session did not come up")
            for size in args.sizes:
                best: tuple[float, int, float, float] | None = None
                for burst in args.bursts:
                    cpu0 = cpu_seconds()
                    with profiler(args, size if burst == args.bursts[0] else -1,
                                  f"udp forward {size} B, burst {burst}"):
                        run_ = await udp_forward(engine, lab, args.count, size, burst)
                    cpu = cpu_seconds() - cpu0
                    if best is None or run_[0] > best[0]:
                        best = (*run_, cpu)
                assert best is not None               # at least one burst size
                pps, drops, offered, cpu = best
                emit(f"udp_forward_{size}B_router_cpu_per_packet",
                     round(cpu / max(args.count - drops, 1) * 1e6, 1), "us")
                emit(f"udp_forward_{size}B_offered_pps", round(offered), "packets/s")
                emit(f"udp_forward_{size}B_pps", round(pps), "packets/s")
                emit(f"udp_forward_{size}B_mbps", round(pps * size * 8 / 1e6, 1), "Mbit/s")
                emit(f"udp_forward_{size}B_tun_drops", drops, "packets")
            for size in args.sizes:
                assert lab.lab_proc is not None        # the lab runs while the topology is up
                lab_pid = lab.lab_proc.pid
                router0, lab0 = cpu_seconds(), cpu_seconds(lab_pid)
                with profiler(args, size, f"echo {size} B"):
                    res = await flood(lab, "echo", args.echo_count, size, args.window)
                router1, lab1 = cpu_seconds(), cpu_seconds(lab_pid)
                n = max(res["received"], 1)
                emit(f"echo_{size}B_router_cpu_per_echo", round((router1 - router0) / n * 1e6, 1),
                     "us")
                emit(f"echo_{size}B_lab_cpu_per_echo", round((lab1 - lab0) / n * 1e6, 1),
                     "us")
                elapsed = max(res["t1"] - res["t0"], 1e-6)
                emit(f"echo_{size}B_pps_each_way", round(res["received"] / elapsed), "packets/s")
                emit(f"echo_{size}B_lost", res["lost"], "packets")
            s = engine.snapshot().ppp[0].ppp.counters
            emit("ppp_ip_tx_packets", s.ip_tx_packets, "packets")
            emit("ppp_ip_rx_packets", s.ip_rx_packets, "packets")
        finally:
            await engine.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100000, help="UDP packets per run")
    ap.add_argument("--bursts", type=int, nargs="+", default=[128, 256, 384],
                    help="UDP datagrams per burst, one burst per ~1 ms (offered load)")
    ap.add_argument("--echo-count", type=int, default=10000, help="echo requests per size")
    ap.add_argument("--window", type=int, default=64, help="outstanding echo requests")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 1400])
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    try:
        return asyncio.run(run(args))
    finally:
        topo.cleanup_run()


if __name__ == "__main__":
    sys.exit(main())
