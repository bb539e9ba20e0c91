"""Through the shell: a next-hop route is listed inactive until a connected network covers its
next hop, then active; the virtual router's dial-out target stays throughout."""
from __future__ import annotations

import pytest

from jcli.context import Context, Options
from jcli.executor import Executor
from tests.output import printed
from tests.router_shell import router_shell

pytestmark = pytest.mark.timeout(60)

SCRIPT = """
virtual-router home
 ip route 10.9.0.0 255.255.0.0 10.1.1.2
 profile dialout
 exit
 l2tp dial-out target 10.10.0.0 255.255.0.0 domain example.net profile dialout
""".splitlines()


async def run(ctx: Context, executor: Executor, line: str) -> list[str]:
    assert await executor.execute(line), printed(ctx).take()
    return printed(ctx).take()


def route_line(lines: list[str], prefix: str) -> list[str]:
    return [ln.split() for ln in lines if ln.strip().startswith(prefix)][0]


async def test_next_hop_route_inactive_then_active(tmp_path):
    options = Options(startup=str(tmp_path / "none.scr"))
    async with router_shell(options) as (ctx, executor, eng):
        assert await executor.run_script(SCRIPT), printed(ctx).take()
        printed(ctx).take()
        out = await run(ctx, executor, "show ip route virtual-router home")
        assert route_line(out, "10.9.0.0/16") == ["10.9.0.0/16", "10.1.1.2", "-", "static",
                                                  "(inactive)", "1", "0"]
        assert any("10.10.0.0/16" in ln for ln in
                   await run(ctx, executor, "show l2tp dial-out target"))
        assert await executor.run_script(["virtual-router home", " interface loopback 0",
                                          "  ip address 10.1.1.1 255.255.255.0"]), \
            printed(ctx).take()
        printed(ctx).take()
        out = await run(ctx, executor, "show ip route virtual-router home")
        assert route_line(out, "10.9.0.0/16") == ["10.9.0.0/16", "10.1.1.2", "loopback0",
                                                  "static", "1", "0"]
        assert any("10.10.0.0/16" in ln for ln in
                   await run(ctx, executor, "show l2tp dial-out target"))
