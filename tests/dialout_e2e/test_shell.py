"""The happy path through the shell: configuration script + exec commands run by the shell's
Executor, engine and lab peers started by ``RouterEngine`` (``--lab``), all in this loop.

Golden files (tests/dialout_e2e/golden/) hold the exact show output after masking only what
changes from run to run (see ``mask``).  Regenerate with ``JCLI_UPDATE_GOLDEN=1``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from jcli.context import Context, Options
from jcli.executor import Executor
from tests.output import printed
from tests.present import present
from tests.router_shell import router_shell

from .helpers import DOMAIN, HOME_SECRET, LNS_SECRET, lac_addresses, standard_lab

GOLDEN = Path(__file__).parent / "golden"
pytestmark = pytest.mark.timeout(60)

# The only volatile fields of the compared views: elapsed times (hh:mm:ss), the random L2TP
# tunnel/session ids (with the padding after them, whose width follows the ids), and the
# test's LAC address (a free 127.91.N.0/24).  Everything else must match byte for byte.
_MASKS = [(re.compile(r"\b\d\d:\d\d:\d\d\b"), "HH:MM:SS"),
          (re.compile(r"(?<![.\d])\d{1,5}/\d{1,5} +"), "TID/SID "),
          (re.compile(r"\b127\.91\.\d+\."), "127.91.N.")]


def mask(lines: list[str]) -> str:
    text = "\n".join(lines) + "\n"
    for rx, repl in _MASKS:
        text = rx.sub(repl, text)
    return text


def check_golden(name: str, lines: list[str]) -> None:
    path = GOLDEN / name
    got = mask(lines)
    if os.environ.get("JCLI_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    assert got == path.read_text(), f"{name} differs from the golden file:\n{got}"


def router_script(home_port: int, lns_port: int) -> list[str]:
    return f"""
hostname host1
l2tp dial-out connect-timeout 60
virtual-router home
 interface loopback 0
  ip address 192.168.255.1 255.255.255.255
 exit
 radius authentication server 127.0.0.1
  udp-port {home_port}
  key {HOME_SECRET}
 exit
 aaa authentication ppp default radius
 profile dialout
  ppp authentication chap pap
  ppp authentication virtual-router lns
  ip unnumbered loopback 0
 exit
 l2tp dial-out target 10.10.0.0 255.255.0.0 domain {DOMAIN} profile dialout
!
virtual-router lns
 radius authentication server 127.0.0.1
  udp-port {lns_port}
  key {LNS_SECRET}
 exit
 aaa authentication ppp default radius
""".splitlines()


class Shell:
    def __init__(self, ctx: Context, executor: Executor) -> None:
        self.ctx, self.executor = ctx, executor

    async def run(self, line: str, *, ok: bool = True) -> list[str]:
        result = await self.executor.execute(line)
        out = printed(self.ctx).take()
        assert result is ok, f"{line!r} -> {result}: {out}"
        return out

    def counters(self):
        return self.ctx.engine.snapshot().dialout.chassis.counters


async def test_happy_path_through_the_shell(tmp_path):
    lacs = lac_addresses(2)
    lab = tmp_path / "lab.toml"
    lab.write_text(standard_lab(lacs).text())
    options = Options(lab=str(lab), startup=str(tmp_path / "none.scr"))
    async with router_shell(options) as (ctx, executor, eng):
        sh = Shell(ctx, executor)
        ports = {s.spec.name: s.address[1] for s in present(eng.lab).radius}
        assert await executor.run_script(router_script(ports["home"], ports["lns"])), \
            printed(ctx).take()
        printed(ctx).take()

        # first ping: a new session, dialled and used
        out = await sh.run("ping virtual-router home 10.10.1.1 count 3 timeout 10")
        assert "Success rate = 100% (3/3)" in out[-1]
        c1 = sh.counters()
        assert (c1.sessions_created, c1.auth_requests, c1.dialouts_requested,
                c1.dialouts_established) == (1, 1, 1, 1)
        snap = ctx.engine.snapshot()
        [s1] = snap.dialout.sessions
        assert (str(s1.state), s1.ifname, s1.tunnel_endpoint) == ("inService", "ppp1", lacs[0])

        # second ping: the same session, nothing dialled
        out = await sh.run("ping virtual-router home 10.10.1.1 count 2 timeout 10")
        assert "Success rate = 100% (2/2)" in out[-1]
        c2 = sh.counters()
        assert c2.sessions_created == 1
        for name in ("auth_requests", "auth_grants", "dialouts_requested",
                     "dialouts_established", "dialouts_rejected", "dialouts_torn_down"):
            assert getattr(c2, name) == getattr(c1, name), name
        assert c2.triggers_received == c1.triggers_received       # routed by the access route

        # another destination: a second session over the same tunnel, RADIUS traced
        assert await sh.run("debug radius") == ["radius debugging is on"]
        out = await sh.run("ping virtual-router home 10.10.2.1 count 2 timeout 10")
        assert "Success rate = 100% (2/2)" in out[-1]
        out += await sh.run("no debug radius")
        traced = [ln for ln in out if ln.startswith("RADIUS [")]
        assert any(ln.startswith("RADIUS [home]: RADIUS sent Access-Request id ")
                   and "User-Name=" in ln for ln in traced), out
        assert any(ln.startswith("RADIUS [home]: RADIUS received Access-Accept id ")
                   and "Tunnel-Password:1=<hidden>" in ln for ln in traced), out
        assert any(ln.startswith("RADIUS [lns]: RADIUS sent Access-Request id ")
                   and "-Password=<hidden>" in ln for ln in traced), out
        assert not any(HOME_SECRET in ln or LNS_SECRET in ln for ln in out)
        assert out[-1] == "radius debugging is off"
        c3 = sh.counters()
        assert (c3.sessions_created, c3.dialouts_established) == (2, 2)
        snap = ctx.engine.snapshot()
        assert len(snap.l2tp.tunnels) == 1 and snap.l2tp.tunnels[0].sessions == 2
        assert [t.sessions for t in snap.dialout.tunnels] == [2]
        assert {s.tunnel_id for s in snap.dialout.sessions} == {snap.l2tp.tunnels[0].tunnel_id}
        assert present(eng.lab).lacs[0].calls_answered == 2

        check_golden("session_brief.txt", await sh.run("show l2tp dial-out session brief"))
        check_golden("target.txt", await sh.run("show l2tp dial-out target"))
        check_golden("ip_route_home.txt", await sh.run("show ip route virtual-router home"))
        check_golden("session.txt", await sh.run("show l2tp dial-out session"))

        # a datagram to the RADIUS client from an address that is no server is counted
        import asyncio
        import socket
        [client_addr] = present(eng.engine.radius.by_vr["home"].adapter).local_addresses
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
            stray.bind(("127.0.0.7", 0))
            stray.sendto(b"\x02\x01\x00\x14" + bytes(16), ("127.0.0.1", client_addr[1]))
        for _ in range(100):
            out = await sh.run("show radius servers")
            if "Virtual router home: 1 RADIUS datagram(s) from unknown sources" in out:
                break
            await asyncio.sleep(0.01)
        assert "Virtual router home: 1 RADIUS datagram(s) from unknown sources" in out, out
        assert "Virtual router lns: 0 RADIUS datagram(s) from unknown sources" in out, out
        assert any(ln.startswith("Bad authenticators") for ln in out)

        # clear radius statistics zeroes the per-server counters
        def requests(lines):
            return [line.split()[5] for line in lines if line.startswith(("home ", "lns "))]
        assert "0" not in requests(await sh.run("show radius statistics"))
        assert await sh.run("clear radius statistics") == []
        assert set(requests(await sh.run("show radius statistics"))) == {"0"}

        # the operational commands that end sessions, through the shell
        out = await sh.run("clear l2tp tunnel all")
        assert out == ["1 tunnel(s) cleared"]
        out = await sh.run("show l2tp dial-out session brief")
        assert [line.split()[-1] for line in out[2:4]] == ["dormant", "dormant"]
        out = await sh.run("show ip route virtual-router home")
        assert not any("access" in line for line in out)
        out = await sh.run("clear l2tp dial-out session virtual-router home")
        assert out == ["2 dial-out session(s) cleared"]
        assert ctx.engine.snapshot().dialout.sessions == ()
