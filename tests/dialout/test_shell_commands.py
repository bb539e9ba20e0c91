"""Dial-out operational commands through the shell, with the engine on the sim dataplane and
no lab: the RADIUS servers are silent loopback ports, so every session stays authenticating
(its AAA guard is the 60 s connect-timeout) until a command ends it."""
from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor

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
        out: list[str] = self.ctx.output.take()
        assert result is ok, f"{line!r} -> {result}: {out}"
        return out

    def sessions(self) -> set[tuple[str, str, str]]:
        return {(s.vr, str(s.destination), str(s.state))
                for s in self.ctx.engine.snapshot().dialout.sessions}

    async def trigger(self, vr: str, dst: str) -> None:
        await self.run(f"ping virtual-router {vr} {dst} count 1 timeout 1", ok=False)


@pytest.fixture
async def shell(tmp_path) -> AsyncIterator[Shell]:
    sock, port = silent_port()
    options = Options(startup=str(tmp_path / "none.scr"))
    ctx = Context(options=options, output=ListOutput())
    executor = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    await eng.start()
    ctx.engine = eng
    sh = Shell(ctx, executor)
    try:
        assert await executor.run_script(script(port)), ctx.output.take()
        ctx.output.take()
        yield sh
    finally:
        await eng.close()
        sock.close()


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
