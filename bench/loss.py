"""Dial-out under control-plane loss: N dial-outs over 2 tunnels (one per LAC) with random loss
of L2TP datagrams (UDP 1701) in both directions; the engine in this process, the lab peers
(RADIUS, LACs, one CPE per destination) in a second ``python -m engine.lab`` process.

Loss is injected
  * ``lab``: by the lab LACs themselves (``[lac.failure] drop``: each datagram they send or
    receive is dropped with the given probability), and/or
  * ``iptables`` (root, iptables installed): the bench re-runs itself in a network namespace
    it creates (``unshare -n``) and drops UDP port 1701 datagrams on its loopback at random
    (``-m statistic --mode random``), both directions.

For every loss level it reports (JSON lines {"bench", "metric", "value", "unit", ...}):
  * ``in_service_within_connect_timeout_<loss>``: % of the N destinations whose access route
    was installed within connect-timeout of their trigger (goal 10 % -> >= 99, 30 % -> >= 95);
  * ``in_service_after_retrigger_<loss>``: % in service after the destinations that failed
    are reset (``l2tp dial-out session reset``) and triggered once more (goal 100 at 30 %);
  * ``established_lost_<loss>``: sessions that were in service and left it while their LAC
    still answered (goal 0).

usage: python bench/loss.py [--calls 1000] [--levels 0,10,20,30,50] [--by lab|iptables|both]
                            [--connect-timeout 60] [--tunnel-max-sessions 50] [--quick]
The calls go to 2 LACs; ``--tunnel-max-sessions`` (``l2tp tunnel max-sessions``, default 50)
spreads them over several tunnels to each (0: one tunnel per LAC, every call behind it).
``--quick``: 40 calls, levels 0 and 20, connect-timeout 30 (smoke test).
As root the bench runs in a network namespace it creates (``unshare -n``), whatever the mode.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.dialout import DOMAIN, LOOPBACK, Bench, destination, free_ports, lab_text, lac_addresses, start_lab, stop_pid  # noqa: E402
from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, TargetConfig, VirtualRouterConfig  # noqa: E402
from engine.aio.engine import Engine  # noqa: E402
from engine.dialout.service import ChassisConfig  # noqa: E402

LACS = 2


def emit(metric: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"bench": "loss", "metric": metric, "value": value, "unit": unit,
                      **extra}), flush=True)


def lossy_lab_text(n: int, lacs: list[str], home_port: int, lns_port: int,
                   drop: float) -> str:
    text = lab_text(n, lacs, home_port, lns_port)
    if drop <= 0:
        return text
    marker = 'receive-window = 64\n'
    parts = text.split(marker)
    out = parts[0]
    for k, rest in enumerate(parts[1:]):
        out += marker + f'[lac.failure]\ndrop = {drop}\nseed = {1000 + k}\n' + rest
    return out


def engine_config(home_port: int, lns_port: int, connect_timeout: float,
                  tunnel_max_sessions: int) -> EngineConfig:
    """As an operator would run it: default PPP timers and keepalive, default L2TP, at most
    ``tunnel_max_sessions`` sessions per tunnel (``l2tp tunnel max-sessions``)."""
    return EngineConfig(
        chassis=ChassisConfig(connect_timeout=connect_timeout, max_connecting=64000,
                              tunnel_max_sessions=tunnel_max_sessions),
        vrs=(VirtualRouterConfig(
            "home", loopbacks=((0, ipaddress.IPv4Interface(f"{LOOPBACK}/32")),),
            radius_auth=(RadiusServerConfig("127.0.0.1", home_port, "home"),),
            profiles=(ProfileConfig("dialout", ("chap",), "lns", ip_unnumbered_loopback=0),),
            targets=(TargetConfig(ipaddress.IPv4Network("10.10.0.0/16"), DOMAIN,
                                  "dialout"),)),
             VirtualRouterConfig("lns", radius_auth=(RadiusServerConfig("127.0.0.1", lns_port,
                                                                        "lns"),))))


def set_iptables_loss(loss: float) -> None:
    """Inside the bench's own namespace: one random drop rule for UDP 1701 either way."""
    subprocess.run(["iptables", "-F", "INPUT"], check=True)
    if loss > 0:
        subprocess.run(["iptables", "-A", "INPUT", "-p", "udp", "-m", "multiport",
                        "--ports", "1701", "-m", "statistic", "--mode", "random",
                        "--probability", f"{loss:.4f}", "-j", "DROP"], check=True)


def in_service(eng: Engine) -> set[str]:
    return {str(s.destination) for s in eng.snapshot().dialout.sessions
            if str(s.state) == "inService"}


def installed(b: Bench) -> set[str]:
    return {str(a) for a in b.installed}


async def wait_installed(b: Bench, want: set[str], until: float) -> None:
    while not want <= installed(b) and time.monotonic() < until:
        await asyncio.sleep(0.02)


async def run_level(loss: float, by: str, args: argparse.Namespace) -> None:
    n = args.calls
    lacs = lac_addresses(LACS)
    home_port, lns_port = free_ports(2)
    tmp = tempfile.mkdtemp(prefix="jcli-bench-loss-")
    path = os.path.join(tmp, "lab.toml")
    with open(path, "w") as f:
        f.write(lossy_lab_text(n, lacs, home_port, lns_port,
                               loss if by == "lab" else 0.0))
    lab = start_lab(path)
    eng = Engine(output=lambda line: None)
    try:
        if by == "iptables":
            set_iptables_loss(loss)
        await eng.start()
        eng.apply_config(engine_config(home_port, lns_port, args.connect_timeout,
                                       args.tunnel_max_sessions))
        b = Bench(eng)
        dests = [destination(i) for i in range(n)]
        ct = args.connect_timeout
        t0 = time.perf_counter()
        start = time.monotonic()
        for d in dests:
            b.trigger(d)
        await wait_installed(b, set(dests), start + ct)
        within = sum(1 for t in b.installed.values() if t - t0 <= ct)
        up_first = installed(b)
        # every call that did not make it has left connecting by now (connect timer)
        await asyncio.sleep(1.0)
        now_up = installed(b)
        missing = [d for d in dests if d not in now_up]
        for d in missing:
            eng.reset_sessions("home", d)
        start2 = time.monotonic()
        for d in missing:
            b.trigger(d)
        await wait_installed(b, set(dests), start2 + ct)
        after = len(installed(b) & set(dests))
        snap = eng.snapshot()
        gone = up_first - in_service(eng)
        lost = len(gone)
        why = Counter(s.failure_reason or str(s.state) for s in snap.dialout.sessions
                      if str(s.destination) in gone)
        tunnels_seen = len(snap.l2tp.tunnels)
        tag = f"{int(round(loss * 100))}pct"
        extra = {"loss": loss, "by": by, "calls": n, "connect_timeout": ct,
                 "tunnels": tunnels_seen, "tunnel_max_sessions": args.tunnel_max_sessions}
        emit(f"in_service_within_connect_timeout_{tag}", round(100.0 * within / n, 2), "%",
             **extra, goal={0.1: ">= 99", 0.3: ">= 95"}.get(round(loss, 2), ""))
        emit(f"in_service_after_retrigger_{tag}", round(100.0 * after / n, 2), "%", **extra,
             retriggered=len(missing), goal="100" if round(loss, 2) <= 0.3 else "")
        emit(f"established_lost_{tag}", lost, "sessions", **extra, goal="0",
             reasons=dict(why.most_common(5)))
        emit(f"elapsed_{tag}", round(time.perf_counter() - t0, 2), "s", **extra)
    finally:
        await eng.stop()
        stop_pid(lab)
        if by == "iptables":
            set_iptables_loss(0.0)
        shutil.rmtree(tmp, ignore_errors=True)


async def amain(args: argparse.Namespace, by: str) -> int:
    for level in args.levels:
        await run_level(level / 100.0, by, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--levels", default="0,10,20,30,50")
    ap.add_argument("--by", choices=("lab", "iptables", "both"), default="both")
    ap.add_argument("--connect-timeout", type=float, default=60.0)
    ap.add_argument("--tunnel-max-sessions", type=int, default=50,
                    help="l2tp tunnel max-sessions (0 = one tunnel per LAC)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    root = os.geteuid() == 0 and shutil.which("unshare") is not None
    if root and not args.in_netns:
        # everything (engine, lab process, iptables rules) in a namespace of our own: its
        # loopback is ours alone and it vanishes with the last process
        cmd = ["unshare", "-n", sys.executable, os.path.abspath(__file__), "--in-netns",
               *(argv if argv is not None else sys.argv[1:])]
        return subprocess.run(cmd, cwd=ROOT).returncode
    if args.quick:
        args.calls, args.levels, args.connect_timeout = 40, "0,20", 30.0
    args.levels = [float(x) for x in str(args.levels).split(",") if x != ""]
    if args.in_netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    rc = 0
    if args.by in ("lab", "both"):
        rc = asyncio.run(amain(args, "lab"))
    if args.by in ("iptables", "both"):
        why = None
        if not args.in_netns:
            why = "needs root (a network namespace of its own)"
        elif shutil.which("iptables") is None:
            why = "iptables is not installed"
        if why is not None:
            emit("iptables_skipped", 1, "flag", reason=why)
        else:
            rc = rc or asyncio.run(amain(args, "iptables"))
    return rc


if __name__ == "__main__":
    sys.exit(main())
