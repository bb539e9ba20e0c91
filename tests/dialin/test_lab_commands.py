"""`python -m engine.lab --commands` with subscribers takes lab commands on standard input: `ping` makes a
subscriber ping through its PPP link, `dial` dials again the subscribers whose call ended."""
from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import sys
from pathlib import Path

import pytest

from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, VirtualRouterConfig
from engine.aio.engine import Engine
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from tests.dialout_e2e.helpers import free_udp_ports, lac_addresses, wait_for

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[2]


def lab_file(radius_port: int, lac_ip: str, lns: tuple[str, int]) -> str:
    return f"""
[[radius]]
name = "isp"
listen = "127.0.0.1:{radius_port}"
secret = "isp-secret"
[radius.users."u1@isp"]
password = "pw1"
[radius.users."u1@isp".reply]
"Framed-IP-Address" = "10.66.0.7"

[[lac]]
name = "lacx"
listen = "{lac_ip}:0"
host-name = "lacx"
secret = "lac-secret"

[[subscriber]]
user = "u1@isp"
password = "pw1"
lac = "lacx"
lns = "{lns[0]}:{lns[1]}"
"""


async def test_lab_commands_on_stdin(tmp_path: Path) -> None:
    port = free_udp_ports(1)[0]
    lac_ip = lac_addresses(1)[0]
    eng = Engine(output=lambda line: None, l2tp_bind=("127.0.0.1", 0))
    await eng.start()
    proc = None
    try:
        eng.apply_config(EngineConfig(vrs=(VirtualRouterConfig(
            "default", loopbacks=((0, ipaddress.IPv4Interface("10.0.0.1/32")),),
            radius_auth=(RadiusServerConfig("127.0.0.1", port, "isp-secret"),),
            profiles=(ProfileConfig("dialin", ("chap",), ip_unnumbered_loopback=0),)),),
            l2tp_acceptance=AcceptancePolicy((PeerPolicy("lab", lac_ip, "default", (
                HostPolicy("lacx", secret=b"lac-secret", profile="dialin"),)),))))
        assert eng.l2tp_adapter is not None
        path = tmp_path / "lab.toml"
        path.write_text(lab_file(port, lac_ip, eng.l2tp_adapter.local_addr))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.lab", str(path), "--commands", cwd=str(ROOT),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert proc.stdin is not None and proc.stdout is not None
        stdin, stdout = proc.stdin, proc.stdout

        async def answer(command: str) -> str:
            stdin.write(command.encode() + b"\n")
            await stdin.drain()
            return (await asyncio.wait_for(stdout.readline(), 20)).decode().strip()

        assert (await asyncio.wait_for(stdout.readline(), 30)).startswith(b"lab ready: ")
        assert (await asyncio.wait_for(stdout.readline(), 30)).startswith(b"subscribers up 1 ")
        assert await answer("ping u1@isp 10.0.0.1 2") == "ping u1@isp 10.0.0.1: 2 sent, 2 received"
        assert await answer("dial") == "dialled 0"                  # its call is up
        assert (await answer("ping u1@isp 10.0.0.300")).startswith("lab: not an IPv4 address")
        assert (await answer("reboot now")).startswith("lab: unknown command")
        assert eng.clear_calls() == 1
        await wait_for(lambda: not eng.snapshot().subscribers, 15)
        await asyncio.sleep(0.2)
        assert await answer("ping u1@isp 10.0.0.1") == "ping u1@isp 10.0.0.1: 0 sent, 0 received"
        assert await answer("dial") == "dialled 1"
        await wait_for(lambda: any(s.state == "up" for s in eng.snapshot().subscribers), 20)
        assert await answer("ping u1@isp 10.0.0.1") == "ping u1@isp 10.0.0.1: 1 sent, 1 received"
    finally:
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await eng.stop()
