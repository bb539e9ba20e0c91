"""Dial-in sessions per second: the lab (LAC + subscribers + RADIUS) in a second process
places N incoming calls (ICRQ .. ICCN, LCP, PAP or CHAP through RADIUS, IPCP) to the LNS in
this process over one tunnel; measured from the first call connected (ICCN) to the last
subscriber's IPCP up, with the LNS process's CPU per session (lab start-up included), and as
the lab sees it (tunnel set-up to the last subscriber with its address).

With ``--l2tpns`` (root, l2tpns and freeradius installed) the same lab workload runs against
l2tpns in its own network namespace with FreeRADIUS, and the ratio ours/l2tpns is reported.
JSON lines on stdout.

    python bench/dialin.py [N] [pap|chap] [--l2tpns]
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, VirtualRouterConfig  # noqa: E402
from engine.aio.engine import Engine  # noqa: E402
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy  # noqa: E402

LAC_IP = "127.0.0.77"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS: dict[str, float] = {}
SECRET = "bench-tunnel"
KEY = "bench-radius"
WINDOW = 256              # L2TP control window both ways (RFC 2661 Receive Window Size)


def emit(metric: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"bench": "dialin", "metric": metric, "value": round(value, 3), "unit": unit,
                      **extra}), flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_toml(n: int, auth: str, lns_port: int, radius_port: int) -> str:
    out = [f'[[radius]]\nname = "isp"\nlisten = "127.0.0.1:{radius_port}"\nsecret = "{KEY}"\n']
    out += [f'[radius.users."u{i}@isp"]\npassword = "pw{i}"\n' for i in range(n)]
    out.append(f'[[lac]]\nname = "lac"\nlisten = "{LAC_IP}:0"\nhost-name = "lac"\nreceive-window = {WINDOW}\n'
               f'secret = "{SECRET}"\n')
    out.append(f'[[subscriber]]\nuser = "u{{i}}@isp"\npassword = "pw{{i}}"\nlac = "lac"\n'
               f'count = {n}\nauth = "{auth}"\nlns = "127.0.0.1:{lns_port}"\n')
    return "\n".join(out)


def engine_config(radius_port: int, auth: str) -> EngineConfig:
    rad = (RadiusServerConfig("127.0.0.1", radius_port, KEY, timeout=3.0),)
    access = VirtualRouterConfig(
        "default", loopbacks=((0, ipaddress.IPv4Interface("10.0.0.1/32")),),
        radius_auth=rad, radius_acct=rad,
        profiles=(ProfileConfig("dialin", ppp_authentication=(auth,), ppp_keepalive=0,
                                ip_unnumbered_loopback=0, ip_address_pool="subs"),),
        local_pools=(("subs", ipaddress.IPv4Address("10.64.0.1"),
                      ipaddress.IPv4Address("10.127.255.254")),))
    pol = AcceptancePolicy((PeerPolicy("lac", LAC_IP, "default", (
        HostPolicy("lac", secret=SECRET.encode(), profile="dialin", receive_window=WINDOW),)),))
    return EngineConfig(vrs=(access,), l2tp_acceptance=pol)


def lab_seen(lab: subprocess.Popen[bytes], timeout: float = 30.0) -> float | None:
    """Seconds the lab reports from placing its calls to every subscriber up."""
    assert lab.stdout is not None
    fd = lab.stdout.fileno()
    end = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        buf += chunk
        for line in buf.decode(errors="replace").splitlines():
            if line.startswith("subscribers up ") and line.endswith(" s"):
                return float(line.split()[-2])
    return None


async def run(n: int, auth: str) -> None:
    lns_port, radius_port = free_port(), free_port()
    eng = Engine(output=lambda line: None, l2tp_bind=("127.0.0.1", lns_port))
    await eng.start()
    eng.apply_config(engine_config(radius_port, auth))
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(lab_toml(n, auth, lns_port, radius_port))
        path = f.name
    lab = subprocess.Popen([sys.executable, "-m", "engine.lab", path], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        cpu0 = time.process_time()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60 + n * 0.05
        up = 0
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            sessions = list(eng.dialin.sessions.by_sid.values())
            up = sum(s.up_since is not None for s in sessions)
            if up >= n:
                break
        cpu = time.process_time() - cpu0
        sessions = list(eng.dialin.sessions.by_sid.values())
        if up < n or not sessions:
            emit("subscribers_up", up, "sessions", expected=n, auth=auth)
            return
        first = min(s.created for s in sessions)
        last = max(s.up_since or 0.0 for s in sessions)
        emit("sessions_per_s", n / (last - first), "1/s", sessions=n, auth=auth)
        emit("cpu_per_session_ms", cpu / n * 1000, "ms", sessions=n, auth=auth)
        emit("subscribers_up", up, "sessions", expected=n, auth=auth)
        seen = await asyncio.to_thread(lab_seen, lab)
        if seen is not None:
            emit("lab_sessions_per_s", n / seen, "1/s", sessions=n, auth=auth, lns="jcli")
            RESULTS["jcli"] = n / seen
    finally:
        lab.terminate()
        lab.wait(10)
        os.unlink(path)
        await eng.stop()


def run_l2tpns(n: int, auth: str) -> None:
    """The same lab workload against l2tpns (and FreeRADIUS) in a namespace of its own."""
    sys.path.insert(0, ROOT)
    from tests.interop import freeradius_files, l2tpns_startup_config
    sfx = f"{os.getpid() % 100000:05d}"
    ns_lns, ns_lac, va, vb = f"bl{sfx}", f"bc{sfx}", f"ba{sfx}", f"bb{sfx}"
    tmp = tempfile.mkdtemp(prefix="bench-l2tpns-")
    procs: list[subprocess.Popen[bytes]] = []

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)
    try:
        ip("netns", "add", ns_lns)
        ip("netns", "add", ns_lac)
        ip("link", "add", va, "type", "veth", "peer", "name", vb)
        ip("link", "set", va, "netns", ns_lns)
        ip("link", "set", vb, "netns", ns_lac)
        ip("-n", ns_lns, "addr", "add", "10.255.255.2/30", "dev", va)
        ip("-n", ns_lac, "addr", "add", "10.255.255.1/30", "dev", vb)
        for ns, dev in ((ns_lns, va), (ns_lac, vb)):
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", dev, "up")
        users = "".join(f'"u{i}@isp"\tCleartext-Password := "pw{i}"\n'
                        f'\tFramed-IP-Address = 10.64.{i // 250}.{i % 250 + 1}\n\n'
                        for i in range(n))
        from pathlib import Path
        work = Path(tmp)
        fr = freeradius_files(work / "fr", auth_port=18120, acct_port=18121, extra_users=users)
        (work / "startup-config").write_text(l2tpns_startup_config(work)
                                             + "set ppp_keepalive no\n")
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns_lns, "freeradius", "-f", "-d",
                                       str(fr), "-l", str(fr / "radius.log")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        wait_text(fr / "radius.log", "Ready to process requests", 20)
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns_lns, "l2tpns", "-c",
                                       str(work / "startup-config")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))   # it signals its group
        wait_text(work / "l2tpns.log", "declaring myself the master", 40)
        lab_path = work / "lab.toml"
        lab_path.write_text(
            f'[[lac]]\nname = "lac"\nlisten = "10.255.255.1:1701"\nhost-name = "lac"\n'
            f'receive-window = {WINDOW}\n\n[[subscriber]]\nuser = "u{{i}}@isp"\n'
            f'password = "pw{{i}}"\nlac = "lac"\ncount = {n}\nauth = "{auth}"\n'
            f'lns = "10.255.255.2:1701"\n')
        lns_pid = int((work / "l2tpns.pid").read_text().split()[0])
        cpu0 = proc_cpu(lns_pid)
        lab = subprocess.Popen(["ip", "netns", "exec", ns_lac, sys.executable, "-m",
                                "engine.lab", str(lab_path)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        procs.append(lab)
        seen = lab_seen(lab, timeout=60 + n * 0.05)
        cpu = proc_cpu(lns_pid) - cpu0
        if seen is None:
            emit("l2tpns_subscribers_up", 0, "sessions", expected=n, auth=auth)
            return
        emit("lab_sessions_per_s", n / seen, "1/s", sessions=n, auth=auth, lns="l2tpns")
        emit("l2tpns_cpu_per_session_ms", cpu / n * 1000, "ms", sessions=n, auth=auth)
        RESULTS["l2tpns"] = n / seen
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["ip", "netns", "del", ns_lns], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns_lac], capture_output=True)
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


def wait_text(path: object, text: str, timeout: float) -> None:
    from pathlib import Path
    p = Path(str(path))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if p.exists() and text in p.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{p}: no {text!r} within {timeout} s")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 1000
    kind = args[1] if len(args) > 1 else "chap"
    asyncio.run(run(count, kind))
    if "--l2tpns" in sys.argv:
        run_l2tpns(count, kind)
        if "jcli" in RESULTS and "l2tpns" in RESULTS:
            emit("ratio_jcli_over_l2tpns", RESULTS["jcli"] / RESULTS["l2tpns"], "x",
                 sessions=count, auth=kind)
