"""Dial-out benchmark: the engine in this process, the lab peers (home and LNS RADIUS, LACs,
one CPE per destination) in separate ``python -m engine.lab --workers N`` processes, all on
loopback, so that the figures are the router's and not the lab's.

Measures, for bursts of N triggers to distinct destinations of one /16 target:
  * dial-outs completed per second (trigger burst -> every session inService)
  * engine CPU per dial-out (this process; compare with l2tpns CPU per dial-in session)
  * resident memory per established session (RSS delta / sessions)
and the latency trigger -> access route installed, one dial-out at a time, back-to-back and
with one trigger every ``--spacing`` ms.

Every figure is printed with its goal (``goal``), as JSON lines
{"bench", "metric", "value", "unit", ...}.
usage: python bench/dialout.py [--sizes 1000,10000] [--latency-samples 200] [--lacs 4]
                               [--lab-workers 2] [--spacing 10] [--loop asyncio|uvloop]
                               [--profile]      (cProfile of the first burst, top on stderr)
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import ipaddress
import json
import os
import pstats
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from engine import icmp  # noqa: E402
from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, TargetConfig, VirtualRouterConfig  # noqa: E402
from engine.aio.engine import Engine  # noqa: E402
from engine.dialout.service import ChassisConfig  # noqa: E402

DOMAIN = "L2TP-dial-out.de.dt"
LOOPBACK = "192.168.255.1"
PAGE = os.sysconf("SC_PAGE_SIZE")


def emit(metric, value, unit, **extra):
    print(json.dumps({"bench": "dialout", "metric": metric, "value": value, "unit": unit,
                      **extra}), flush=True)


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` and its running children (lab workers)."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# the goals the figures are held to (printed with each figure)
GOAL_RATE = ">= 2500"
GOAL_LATENCY = "<= 1.0"
GOAL_CPU = "<= l2tpns CPU per dial-in session (0.22-0.31 ms measured)"


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def lac_addresses(n: int) -> list[str]:
    for third in range(10, 250):
        addrs = [f"127.93.{third}.{i + 2}" for i in range(n)]
        ok = True
        for a in addrs:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((a, 1701))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return addrs
    raise RuntimeError("no free 127.93.x.y:1701")


def destination(i: int) -> str:
    return str(ipaddress.IPv4Address("10.10.0.1") + i)


def lab_text(n: int, lacs: list[str], home_port: int, lns_port: int) -> str:
    """Home RADIUS answers every destination (one user each: the lab server has no DEFAULT
    entry), one CPE per destination (its own number and address), LNS RADIUS knows each CPE."""
    out = [f'[[radius]]\nname = "home"\nlisten = "127.0.0.1:{home_port}"\nsecret = "home"\n']
    for i in range(n):
        lac = lacs[i % len(lacs)]
        out.append(
            f'[radius.users."{destination(i)}@{DOMAIN}".reply]\n'
            f'"Service-Type" = "Outbound-User"\n"Tunnel-Type:1" = "L2TP"\n'
            f'"Tunnel-Medium-Type:1" = "IPv4"\n"Tunnel-Server-Endpoint:1" = "{lac}"\n'
            f'"Tunnel-Password:1" = "tunnel-secret"\n"Tunnel-Assignment-Id:1" = "{lac}"\n'
            f'"ERX-Dial-Out-Number" = "{6000000 + i}"\n"ERX-PPP-Username" = "lns"\n'
            f'"ERX-PPP-Password" = "lns-pass"\n"ERX-PPP-Auth-Protocol" = "CHAP"\n')
    out.append(f'[[radius]]\nname = "lns"\nlisten = "127.0.0.1:{lns_port}"\nsecret = "lns"\n')
    for i in range(n):
        out.append(f'[radius.users.c{i}]\npassword = "p{i}"\n'
                   f'reply = {{ "Service-Type" = "Framed-User" }}\n')
    for k, lac in enumerate(lacs):
        out.append(f'[[lac]]\nname = "lac{k}"\nlisten = "{lac}:1701"\nhost-name = "lac{k}"\n'
                   f'secret = "tunnel-secret"\nreceive-window = 64\n')
    for i in range(n):
        out.append(f'[[cpe]]\nnumber = "{6000000 + i}"\nusername = "c{i}"\npassword = "p{i}"\n'
                   f'expect-username = "lns"\nexpect-password = "lns-pass"\n'
                   f'address = "{destination(i)}"\n')
    return "\n".join(out)


def start_lab(path: str, workers: int = 1) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "engine.lab", path, "--workers", str(workers)],
                            cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout
    assert out is not None                      # stdout=PIPE
    end = time.monotonic() + 120
    buf = b""
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"lab exited: {buf.decode(errors='replace')}")
        r, _, _ = select.select([out], [], [], 0.2)
        if r:
            buf += os.read(out.fileno(), 4096)
            if b"lab ready" in buf:
                return proc
    proc.kill()
    raise RuntimeError("lab did not get ready")


def stop_pid(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def engine_config(home_port: int, lns_port: int, max_connecting: int) -> EngineConfig:
    return EngineConfig(chassis=ChassisConfig(max_connecting=max_connecting), vrs=(
        VirtualRouterConfig(
            "home", loopbacks=((0, ipaddress.IPv4Interface(f"{LOOPBACK}/32")),),
            radius_auth=(RadiusServerConfig("127.0.0.1", home_port, "home"),),
            profiles=(ProfileConfig("dialout", ("chap",), "lns", ppp_keepalive=0,
                                    ip_unnumbered_loopback=0),),
            targets=(TargetConfig(ipaddress.IPv4Network("10.10.0.0/16"), DOMAIN,
                                  "dialout"),)),
        VirtualRouterConfig("lns", radius_auth=(RadiusServerConfig("127.0.0.1", lns_port,
                                                                   "lns"),)),
    ))


class Bench:
    def __init__(self, eng: Engine) -> None:
        self.eng = eng
        self.installed: dict[ipaddress.IPv4Address, float] = {}
        self.waiter: tuple[ipaddress.IPv4Address, asyncio.Future] | None = None
        orig = eng.dataplane.install_routes

        def hooked(req, orig=orig):
            orig(req)
            if req.session_key is not None:
                dst = req.session_key.dst          # an address object: no str() per route
                t = time.perf_counter()
                self.installed[dst] = t
                w = self.waiter
                if w is not None and w[0] == dst and not w[1].done():
                    w[1].set_result(t)
        eng.dataplane.install_routes = hooked  # type: ignore[method-assign]

    def trigger(self, dst: str) -> None:
        self.eng.dp.send_from_vr("home", icmp.build_echo_request(LOOPBACK, dst, 7, 0, b"x"))

    def counters(self):
        return self.eng.snapshot().dialout.chassis

    async def settle(self, timeout: float = 30.0) -> None:
        """Clear every session and wait until the engine has no call and no tunnel left."""
        self.eng.clear_sessions()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            # closed tunnels linger in the L2TP endpoint for a retransmit cycle: not waited for
            if not self.eng._calls and not self.eng.snapshot().dialout.tunnels:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        self.installed.clear()

    async def burst(self, dests: list[str], timeout: float) -> tuple[float, int]:
        """Trigger every destination at once; wait until each access route is installed."""
        n = len(dests)
        t0 = time.perf_counter()
        for d in dests:
            self.trigger(d)
        end = time.monotonic() + timeout
        while len(self.installed) < n and time.monotonic() < end:
            await asyncio.sleep(0.005)
        done = len(self.installed)
        elapsed = (max(self.installed.values()) if self.installed else time.perf_counter()) - t0
        return elapsed, done

    async def latency(self, dests: list[str], spacing: float = 0.0) -> list[float]:
        """One dial-out at a time; with ``spacing`` (s), trigger ``i`` at start + i * spacing."""
        loop = asyncio.get_running_loop()
        out = []
        start = time.perf_counter()
        for i, d in enumerate(dests):
            if spacing:
                delay = start + i * spacing - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            fut = loop.create_future()
            self.waiter = (ipaddress.IPv4Address(d), fut)
            t0 = time.perf_counter()
            self.trigger(d)
            t1 = await asyncio.wait_for(fut, 10)
            out.append((t1 - t0) * 1000.0)
        self.waiter = None
        return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


async def main(args) -> int:
    sizes = [int(x) for x in args.sizes.split(",") if x]
    n_dest = max(sizes + [args.latency_samples])
    lacs = lac_addresses(args.lacs)
    home_port, lns_port = free_ports(2)
    tmp = tempfile.mkdtemp(prefix="jcli-bench-dialout-")
    path = os.path.join(tmp, "lab.toml")
    with open(path, "w") as f:
        f.write(lab_text(n_dest, lacs, home_port, lns_port))
    t = time.perf_counter()
    lab = start_lab(path, args.lab_workers)
    emit("lab_start", round(time.perf_counter() - t, 2), "s", destinations=n_dest,
         lab_workers=args.lab_workers, loop=type(asyncio.get_running_loop()).__module__)
    eng = Engine(output=lambda line: None)
    try:
        await eng.start()
        eng.apply_config(engine_config(home_port, lns_port, args.max_connecting))
        b = Bench(eng)
        # warm-up: one dial-out (imports, first tunnels), then clean state
        await b.latency([destination(0)])
        await b.settle()
        for n in sizes:
            dests = [destination(i) for i in range(n)]
            gc.collect()
            rss0 = rss()
            prof = cProfile.Profile() if (args.profile and n == sizes[0]) else None
            if prof is not None:
                prof.enable()
            cpu0, lab0 = time.process_time(), cpu_seconds(lab.pid)
            elapsed, done = await b.burst(dests, timeout=args.timeout)
            cpu1, lab1 = time.process_time(), cpu_seconds(lab.pid)
            if prof is not None:
                prof.disable()
                if os.environ.get("JCLI_PROFILE_OUT"):
                    prof.dump_stats(os.environ["JCLI_PROFILE_OUT"])
            gc.collect()
            rss1 = rss()
            c = b.counters()
            emit(f"dialouts_per_s_{n}", round(done / elapsed, 1) if elapsed else 0, "1/s",
                 completed=done, triggers=n, seconds=round(elapsed, 3),
                 established=c.counters.dialouts_established, goal=GOAL_RATE,
                 engine_cpu_s=round(cpu1 - cpu0, 2), lab_cpu_s=round(lab1 - lab0, 2))
            if done:
                emit(f"engine_cpu_per_dialout_{n}", round((cpu1 - cpu0) / done * 1000, 3), "ms",
                     goal=GOAL_CPU, lab_cpu_per_dialout_ms=round((lab1 - lab0) / done * 1000, 3))
            if done:
                per = (rss1 - rss0) / done
                emit(f"rss_per_session_{n}", round(per), "B", sessions=done,
                     rss_delta_mib=round((rss1 - rss0) / 2**20, 1))
                emit(f"rss_projected_64000_{n}", round(per * 64000 / 2**20, 1), "MiB",
                     goal="<= 1024")
            if prof is not None:
                st = pstats.Stats(prof, stream=sys.stderr)
                st.sort_stats("tottime").print_stats(25)
                st.sort_stats("cumulative").print_stats(25)
            await b.settle()
        dests = [destination(i) for i in range(args.latency_samples)]
        lat = await b.latency(dests)
        emit("route_latency_p50", round(pct(lat, 50), 3), "ms", samples=len(lat),
             goal=GOAL_LATENCY, triggers="back-to-back")
        emit("route_latency_p90", round(pct(lat, 90), 3), "ms", samples=len(lat),
             triggers="back-to-back")
        await b.settle()
        if args.spacing > 0:
            lat = await b.latency(dests, spacing=args.spacing / 1000.0)
            emit("route_latency_spaced_p50", round(pct(lat, 50), 3), "ms", samples=len(lat),
                 goal=GOAL_LATENCY, triggers=f"one every {args.spacing:g} ms")
            emit("route_latency_spaced_p90", round(pct(lat, 90), 3), "ms", samples=len(lat),
                 triggers=f"one every {args.spacing:g} ms")
            await b.settle()
    finally:
        await eng.stop()
        stop_pid(lab)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument("--lacs", type=int, default=4)
    ap.add_argument("--max-connecting", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--lab-workers", type=int, default=2,
                    help="lab processes (python -m engine.lab --workers N)")
    ap.add_argument("--spacing", type=float, default=10.0,
                    help="ms between triggers of the spaced latency run (0: skip it)")
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if a.loop == "uvloop":
        import uvloop
        sys.exit(uvloop.run(main(a)))
    sys.exit(asyncio.run(main(a)))
