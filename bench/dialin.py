"""Dial-in sessions per second: the lab (LAC + subscribers + RADIUS) in a second process
places N incoming calls (ICRQ .. ICCN, LCP, PAP or CHAP through RADIUS, IPCP) to the LNS in
this process over one tunnel; measured from the first call connected (ICCN) to the last
subscriber's IPCP up, with the LNS process's CPU per session (lab start-up included).  JSON lines on stdout.

    python bench/dialin.py [N] [pap|chap]
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import os
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


async def run(n: int, auth: str) -> None:
    lns_port, radius_port = free_port(), free_port()
    eng = Engine(output=lambda line: None, l2tp_bind=("127.0.0.1", lns_port))
    await eng.start()
    eng.apply_config(engine_config(radius_port, auth))
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(lab_toml(n, auth, lns_port, radius_port))
        path = f.name
    lab = subprocess.Popen([sys.executable, "-m", "engine.lab", path],
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
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
    finally:
        lab.terminate()
        lab.wait(10)
        os.unlink(path)
        await eng.stop()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    kind = sys.argv[2] if len(sys.argv) > 2 else "chap"
    asyncio.run(run(count, kind))
