"""`show l2tp statistics` and `l2tp udp-port` / `l2tp checksum` through the shell's executor,
with the real engine (simulated dataplane, no traffic but on loopback)."""
from __future__ import annotations

import socket

import pytest

from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.output import printed
from tests.present import present

pytestmark = pytest.mark.timeout(60)


async def run(ctx: Context, ex: Executor, line: str) -> list[str]:
    ok = await ex.execute(line)
    out = printed(ctx).take()
    assert ok, (line, out)
    return out


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_statistics_and_udp_port(tmp_path):
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("0.0.0.0", 0))
    options = Options(startup=str(tmp_path / "none.scr"))
    ctx = Context(options=options, output=ListOutput())
    ex = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    await eng.start()
    ctx.engine = eng
    try:
        await run(ctx, ex, "configure terminal")
        port = free_port()
        await run(ctx, ex, f"l2tp udp-port {port}")
        assert eng.engine.l2tp_local_addr[1] == port
        out = await run(ctx, ex, "show l2tp statistics")
        assert out[0] == "L2TP statistics:"
        assert out[1] == f"  Local UDP address: 0.0.0.0:{port}"
        errors = out[out.index("  Errors:") + 1:]
        assert [ln.split()[-1] for ln in errors] == ["0"] * 18      # 12 + 6 refusal counters
        assert any(e.strip().startswith("SCCRQ refused: no destination profile") for e in errors)
        assert any(ln.strip().startswith("Wrong source address/port") for ln in errors)
        assert any(ln.strip().startswith("Tunnels refused by peer") for ln in errors)
        # garbage at the port is counted as malformed
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"\x00\x01junk", ("127.0.0.1", port))
        s.close()
        for _ in range(50):
            if eng.engine.l2tp.counters["malformed"]:
                break
            import asyncio
            await asyncio.sleep(0.02)
        out = await run(ctx, ex, "show l2tp statistics")
        assert [ln for ln in out if ln.strip().startswith("Malformed packets")][0].split()[-1] == "1"
        # a busy port: the current one stays and the reason is shown
        await run(ctx, ex, f"l2tp udp-port {busy.getsockname()[1]}")
        assert eng.engine.l2tp_local_addr[1] == port
        out = await run(ctx, ex, "show l2tp statistics")
        assert out[1] == f"  Local UDP address: 0.0.0.0:{port}"
        assert out[2].startswith(f"    configured port not bound (port {busy.getsockname()[1]}:")
        out = await run(ctx, ex, "show running-configuration")
        assert f"l2tp udp-port {busy.getsockname()[1]}" in out
        # l2tp checksum switches UDP checksums on data messages on
        assert present(eng.engine.l2tp_adapter).data_checksums is False
        await run(ctx, ex, "l2tp checksum")
        assert present(eng.engine.l2tp_adapter).data_checksums is True
        await run(ctx, ex, "no l2tp checksum")
        assert present(eng.engine.l2tp_adapter).data_checksums is False
    finally:
        busy.close()
        await eng.close()
