"""Dial-out operational commands through the shell, with the engine on the sim dataplane and
no lab: the RADIUS servers are silent loopback ports, so every session stays authenticating
(its AAA guard is the 60 s connect-timeout) until a command ends it."""
from __future__ import annotations

import socket

import pytest

from jcli.context import Context
from jcli.executor import Executor
from tests.output import printed

pytestmark = pytest.mark.timeout(60)

DOMAIN = "dial.example"


def silent_port() -> tuple[socket.socket, int]:
    """A bound UDP socket nobody reads: RADIUS requests to it are never answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def script(port: int, extra: tuple[str, ...] = ()) -> list[str]:
    lines = ["l2tp dial-out connect-timeout 60", *extra]
    for vr in ("home", "other"):
        lines += [f"virtual-router {vr}",
                  " radius authentication server 127.0.0.1", f"  udp-port {port}", "  key k",
                  " exit",
                  " aaa authentication ppp default radius",
                  " profile dialout", "  ppp authentication chap", " exit",
                  f" l2tp dial-out target 10.10.0.0 255.255.0.0 domain {DOMAIN} profile dialout",
                  "!"]
    return lines


class Shell:
    def __init__(self, ctx: Context, executor: Executor) -> None:
        self.ctx, self.executor = ctx, executor

    async def run(self, line: str, *, ok: bool = True) -> list[str]:
        result = await self.executor.execute(line)
        out: list[str] = printed(self.ctx).take()
        assert result is ok, f"{line!r} -> {result}: {out}"
        return out

    def sessions(self) -> set[tuple[str, str, str]]:
        return {(s.vr, str(s.destination), str(s.state))
                for s in self.ctx.engine.snapshot().dialout.sessions}

    async def trigger(self, vr: str, dst: str) -> None:
        out = await self.run(f"ping virtual-router {vr} {dst} count 1 timeout 1", ok=False)
        assert "Success rate = 0% (0/1)" in out, out      # sent: nobody answers yet


async def four_sessions(sh: Shell) -> None:
    for vr in ("home", "other"):
        for dst in ("10.10.1.1", "10.10.1.2"):
            await sh.trigger(vr, dst)
    assert sh.sessions() == {(vr, dst, "authenticating") for vr in ("home", "other")
                             for dst in ("10.10.1.1", "10.10.1.2")}


async def test_clear_address_without_virtual_router_clears_only_that_address(shell: Shell):
    await four_sessions(shell)
    assert await shell.run("clear l2tp dial-out session 10.10.1.1") == [
        "2 dial-out session(s) cleared"]
    assert shell.sessions() == {("home", "10.10.1.2", "authenticating"),
                                ("other", "10.10.1.2", "authenticating")}


async def test_clear_every_selector(shell: Shell):
    await four_sessions(shell)
    assert await shell.run("clear l2tp dial-out session 10.10.9.9") == [
        "0 dial-out session(s) cleared"]
    assert len(shell.sessions()) == 4
    assert await shell.run("clear l2tp dial-out session virtual-router other 10.10.1.2") == [
        "1 dial-out session(s) cleared"]
    assert ("other", "10.10.1.2", "authenticating") not in shell.sessions()
    assert await shell.run("clear l2tp dial-out session virtual-router home") == [
        "2 dial-out session(s) cleared"]
    assert shell.sessions() == {("other", "10.10.1.1", "authenticating")}
    await shell.trigger("home", "10.10.1.3")
    assert await shell.run("clear l2tp dial-out session") == ["2 dial-out session(s) cleared"]
    assert shell.sessions() == set()


async def test_reset_every_selector(shell: Shell):
    await four_sessions(shell)
    eng = shell.ctx.engine
    svc = eng.dialout
    # put every session in inhibited: the AAA guard expires
    svc.handle_timer(now=eng.now() + 61)
    assert {st for _vr, _dst, st in shell.sessions()} == {"inhibited"}
    assert await shell.run("l2tp dial-out session reset 10.10.1.1") == [
        "2 dial-out session(s) reset"]
    assert shell.sessions() == {("home", "10.10.1.1", "dormant"),
                                ("other", "10.10.1.1", "dormant"),
                                ("home", "10.10.1.2", "inhibited"),
                                ("other", "10.10.1.2", "inhibited")}
    assert await shell.run("l2tp dial-out session reset virtual-router home 10.10.1.2") == [
        "1 dial-out session(s) reset"]
    assert ("home", "10.10.1.2", "dormant") in shell.sessions()
    assert await shell.run("l2tp dial-out session reset virtual-router other") == [
        "1 dial-out session(s) reset"]
    assert {st for _vr, _dst, st in shell.sessions()} == {"dormant"}
    assert await shell.run("l2tp dial-out session reset") == ["0 dial-out session(s) reset"]


def config_lines(sh: Shell) -> list[str]:
    from jcli.config.render import render_config
    return render_config(sh.ctx.config)


async def test_target_naming_a_missing_profile_is_refused(shell: Shell):
    await shell.run("configure terminal")
    before = config_lines(shell)
    out = await shell.run("l2tp dial-out target 10.20.0.0 255.255.0.0 domain d profile nosuch",
                          ok=False)
    assert out == ['% Profile "nosuch" does not exist']
    await shell.run("virtual-router home")
    out = await shell.run("no profile dialout", ok=False)
    assert out == ['% Profile "dialout" is used by dial-out target 10.10.0.0 255.255.0.0']
    assert config_lines(shell) == before


async def test_show_target_gives_the_peer_authentication_and_its_default(shell: Shell):
    await shell.run("configure terminal")
    await shell.run("virtual-router other")
    await shell.run("profile plain")
    await shell.run("exit")
    await shell.run(f"l2tp dial-out target 10.20.0.0 255.255.0.0 domain {DOMAIN} profile plain")
    out = await shell.run("show l2tp dial-out target")
    rows = {(ln.split()[0], ln.split()[1]): ln for ln in out if ln.startswith(("home ", "other "))}
    assert " chap " in rows[("home", "10.10.0.0/16")]
    assert " chap (default) " in rows[("other", "10.20.0.0/16")]
    assert out[-1].startswith("Peer auth: what the LNS requires of the CPE")
    assert "default chap" in out[-1]
    # the engine requires it of the CPE: the profile handed to PPP has the default
    vrc = shell.ctx.engine.engine.config.vr("other")
    assert vrc.profile("plain").ppp_authentication == ("chap",)


async def test_full_session_table_restricts_dial_out_configuration(shell: Shell):
    await shell.run("configure terminal")
    await shell.run("l2tp dial-out max-sessions 2")
    await shell.run("end")
    await shell.trigger("home", "10.10.1.1")
    await shell.trigger("home", "10.10.1.2")
    out = await shell.run("show l2tp dial-out")
    assert out[0] == "L2TP dial-out chassis state: restricted (max-sessions 2 reached)"
    await shell.run("configure terminal")
    before = config_lines(shell)
    refused = "% Dial-out service is restricted (max-sessions 2 reached): " \
              "dial-out configuration refused"
    for line in ("l2tp dial-out max-sessions 10", "no l2tp dial-out max-sessions",
                 "l2tp dial-out connect-timeout 90",
                 "virtual-router home", "l2tp dial-out max-buffered-triggers 3",
                 "no l2tp dial-out target 10.10.0.0 255.255.0.0",
                 f"l2tp dial-out target 10.30.0.0 255.255.0.0 domain {DOMAIN} profile dialout"):
        if line == "virtual-router home":
            await shell.run(line)
            continue
        assert await shell.run(line, ok=False) == [refused], line
    assert config_lines(shell) == before
    # other configuration goes on, and the engine takes it
    await shell.run("hostname h2")
    assert shell.ctx.engine.engine.config.hostname == "h2"
    # a third trigger is discarded, a session cleared frees the table
    await shell.run("end")
    await shell.trigger("home", "10.10.1.3")
    assert len(shell.sessions()) == 2
    await shell.run("clear l2tp dial-out session virtual-router home 10.10.1.1")
    out = await shell.run("show l2tp dial-out")
    assert out[0] == "L2TP dial-out chassis state: inService"
    await shell.run("configure terminal")
    await shell.run("l2tp dial-out max-sessions 10")
    assert shell.ctx.engine.engine.dialout.chassis_config.max_sessions == 10


async def test_lost_resources_restrict_without_an_uncaught_error(shell: Shell):
    eng = shell.ctx.engine
    eng.dialout.set_chassis_state("restricted", "out of memory", now=eng.now())
    await shell.run("configure terminal")
    before = config_lines(shell)
    out = await shell.run("l2tp dial-out connect-timeout 90", ok=False)
    assert out == ["% Dial-out service is restricted (out of memory): "
                   "dial-out configuration refused"]
    assert config_lines(shell) == before
    assert eng.dialout.chassis_config.connect_timeout == 60
    await shell.run("end")
    await shell.trigger("home", "10.10.1.1")
    assert shell.sessions() == set()
    assert eng.snapshot().dialout.chassis.counters.triggers_discarded == 1
    eng.dialout.set_chassis_state("inService", now=eng.now())
    await shell.run("configure terminal")
    await shell.run("l2tp dial-out connect-timeout 90")
    assert eng.dialout.chassis_config.connect_timeout == 90


async def test_target_down_while_its_vr_has_no_aaa(shell: Shell):
    await shell.run("configure terminal")
    for line in ("virtual-router bare", " profile dialout", " exit",
                 f" l2tp dial-out target 10.40.0.0 255.255.0.0 domain {DOMAIN} "
                 "profile dialout"):
        await shell.run(line.strip())
    out = await shell.run("show l2tp dial-out target virtual-router bare")
    assert "  bare 10.40.0.0/16: down (virtual router down)" in out
    await shell.run("end")
    await shell.trigger("bare", "10.40.0.1")
    assert shell.sessions() == set()
    [bare] = [v for v in shell.ctx.engine.snapshot().dialout.vrs if v.name == "bare"]
    assert (str(bare.state), bare.counters.triggers_discarded) == ("down", 1)


async def test_show_session_of_a_session_not_in_service(shell: Shell):
    await shell.trigger("home", "10.10.1.1")
    out = await shell.run("show l2tp dial-out session virtual-router home 10.10.1.1")
    row = out[2].split()
    assert row[3:] == ["authenticating", "-", "-", "-"]      # no tunnel, interface, up time
    assert f"  user name 10.10.1.1@{DOMAIN}" in out


def test_tunnel_session_column_never_prints_none():
    from jcli.commands.dialout import _tunnel_session
    assert _tunnel_session({"tunnel_id": 56222, "session_id": None}) == "56222/-"
    assert _tunnel_session({"tunnel_id": None, "session_id": None}) == "-"
    assert _tunnel_session({"tunnel_id": 1, "session_id": 2}) == "1/2"


async def test_vr_commands_while_restricted_keep_config_and_engine_together(shell: Shell):
    eng = shell.ctx.engine
    eng.dialout.set_chassis_state("restricted", "out of memory", now=eng.now())
    await shell.run("configure terminal")
    for line in ("virtual-router extra", "ip vrf v1", " rd 0.0.0.0:1", " exit",
                 "virtual-router default", "no virtual-router other"):
        await shell.run(line)
    names = {v.name for v in eng.snapshot().dialout.vrs}
    assert names == set(shell.ctx.config.virtual_routers)
    assert "other" not in names and "extra" in names
    assert eng.engine.config.vr("extra").route_distinguisher == "0.0.0.0:1"


async def test_debug_dial_out_lines_carry_milliseconds_since_the_trigger(shell: Shell):
    import re
    assert (await shell.run("debug l2tp dial-out"))[-1].endswith("on")
    out = await shell.run("ping virtual-router home 10.10.3.3 count 1 timeout 1", ok=False)
    session = [line for line in out if line.startswith("L2TP dial-out [home]")
               and "10.10.3.3" in line]
    assert len(session) >= 2, out
    stamps = []
    for line in session:
        m = re.match(r"L2TP dial-out \[home\] \+(\d+\.\d{3})ms: session home/10\.10\.3\.3", line)
        assert m, line
        stamps.append(float(m.group(1)))
    assert stamps[0] == 0.0 and stamps == sorted(stamps)
    await shell.run("no debug l2tp dial-out")


async def test_target_inhibited_while_its_domain_maps_to_a_missing_vr(shell: Shell):
    await shell.run("configure terminal")
    for line in ("virtual-router home", f"aaa domain-map {DOMAIN}", "router-name ghost",
                 "exit"):
        await shell.run(line)
    out = await shell.run("show l2tp dial-out target virtual-router home")
    assert (f'  home 10.10.0.0/16: inhibited (domain {DOMAIN} maps to virtual router '
            '"ghost", which does not exist)') in out, out
    await shell.run("end")
    await shell.trigger("home", "10.10.1.1")
    assert ("home", "10.10.1.1", "authenticating") not in shell.sessions()
    [home] = [t for t in shell.ctx.engine.snapshot().dialout.targets if t.vr == "home"]
    assert (str(home.state), home.counters.triggers_discarded) == ("inhibited", 1)
    # the virtual router appears: the target is back in service and takes triggers
    await shell.run("configure terminal")
    for line in ("virtual-router ghost", "radius authentication server 127.0.0.1",
                 "key k", "exit", "end"):
        await shell.run(line)
    out = await shell.run("show l2tp dial-out target virtual-router home")
    assert not any("inhibited" in line for line in out), out
    await shell.trigger("home", "10.10.1.1")
    assert ("home", "10.10.1.1", "authenticating") in shell.sessions()


async def test_chassis_init_incomplete_until_the_engine_has_started(tmp_path):
    from engine.aio.engine import Engine
    eng = Engine(output=lambda line: None)
    assert str(eng.snapshot().dialout.chassis.state) == "initIncomplete"
    await eng.start()
    try:
        assert str(eng.snapshot().dialout.chassis.state) == "inService"
    finally:
        await eng.stop()
