"""The LNS acceptance through the shell with the real engine: configured destination profile,
`show l2tp destination profile` counting its tunnels, refusals in `show l2tp statistics`."""
from __future__ import annotations

import asyncio
import os
import socket

import pytest

from engine.l2tp import L2tpConfig, TunnelDown, TunnelUp
from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.dialin.test_udp import sccrq
from tests.l2tp.aio import EngineSide

pytestmark = pytest.mark.timeout(60)


async def run(ctx: Context, ex: Executor, line: str) -> list[str]:
    ok = await ex.execute(line)
    assert isinstance(ctx.output, ListOutput)
    out = ctx.output.take()
    assert ok, (line, out)
    return out


async def test_destination_profile_through_the_shell(tmp_path) -> None:
    lac_ip = f"127.94.{os.getpid() % 250}.2"
    options = Options(startup=str(tmp_path / "none.scr"))
    ctx = Context(options=options, output=ListOutput())
    ex = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    await eng.start()
    ctx.engine = eng
    lac = None
    try:
        for line in ("configure terminal", "l2tp host-name lns-a",
                     f"l2tp destination profile lac-a ip address {lac_ip}", "remote host lac1",
                     "tunnel password pw-a", "local host-name edge-a", "end"):
            await run(ctx, ex, line)
        local = eng.engine.l2tp_local_addr
        target = ("127.0.0.1" if local[0] == "0.0.0.0" else local[0], local[1])
        lac = EngineSide(seed=9, host_name="lac1", config=L2tpConfig(), addr=(lac_ip, 0))
        lac.endpoint.open_tunnel(target, secret=b"pw-a", now=lac.now)
        lac.adapter.flush()
        await lac.wait_for(lambda: lac.of(TunnelUp), timeout=10)
        assert lac.of(TunnelUp)[0].peer_host_name == "edge-a"
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.bind(("127.0.0.1", 0))
        stranger.sendto(sccrq(4242), target)
        stranger.setblocking(False)
        answer = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(stranger, 2048), 5)
        stranger.close()
        assert answer[0] & 0x80                                # a control message: the StopCCN
        out = await run(ctx, ex, "show l2tp destination profile lac-a")
        assert "  Tunnels 1" in out and out[-2] == "1 L2TP host profile found"
        assert out[-1] == "Tunnels being opened: 0 (limit 1000, 32 per source)"
        stats = await run(ctx, ex, "show l2tp statistics | include SCCRQ refused")
        assert any(s.strip().startswith("SCCRQ refused: no destination profile") and s.endswith(" 1")
                   for s in stats), stats
        # the operator ends a dial-in tunnel like any other
        out = await run(ctx, ex, "clear l2tp tunnel all")
        assert out == ["1 tunnel(s) cleared"]
        await lac.wait_for(lambda: lac.of(TunnelDown), timeout=10)
        assert lac.of(TunnelDown)[0].by_peer
    finally:
        if lac is not None:
            lac.close()
        await eng.close()
