"""A virtual router the dataplane cannot create is ``initFailed`` with the kernel's reason,
through the shell; nothing of it is installed, and the next configuration change retries it."""
from __future__ import annotations

import os
import shutil

from engine.aio.engine import Engine
from engine.dataplane import netns_helpers as nsh
from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.output import printed

from .conftest import needs_root


async def run(executor: Executor, ctx: Context, line: str) -> list[str]:
    assert await executor.execute(line), printed(ctx).take()
    return printed(ctx).take()


def vr_row(lines: list[str], name: str) -> str:
    rows = [line for line in lines if line.startswith(f"Virtual router {name}: ")]
    assert len(rows) == 1, lines
    return rows[0]


@needs_root
async def test_vr_the_dataplane_cannot_create_is_init_failed_then_retried(tmp_path, ns_prefix):
    options = Options(startup=str(tmp_path / "none.scr"))
    ctx = Context(options=options, output=ListOutput())
    executor = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    eng.engine = Engine(dataplane="linux", netns_prefix=ns_prefix, output=ctx.output.write)
    # the namespace's mount point is taken by a directory with something in it: the
    # kernel's `ip netns add` fails for this VR only
    blocker = nsh.netns_path(f"{ns_prefix}blocked")
    os.makedirs(os.path.join(blocker, "held"))
    try:
        await eng.start()
        ctx.engine = eng
        assert await executor.run_script([
            "virtual-router blocked", " interface loopback 0",
            "  ip address 192.168.9.1 255.255.255.255", " exit", "!", "virtual-router fine"])
        out = printed(ctx).take()
        assert sum(line.startswith("% virtual-router blocked: cannot be created: ")
                   for line in out) == 1, out
        out = await run(executor, ctx, "show l2tp dial-out virtual-router")
        row = vr_row(out, "blocked")
        assert row.startswith("Virtual router blocked: initFailed (ip netns add "), row
        assert row.endswith("File exists)"), row
        assert vr_row(out, "fine") == "Virtual router fine: inService"
        out = await run(executor, ctx, "show ip route virtual-router blocked")
        assert not any("192.168.9.1" in line for line in out), out
        # the resource comes back: the next configuration change creates the VR
        shutil.rmtree(blocker)
        assert await executor.run_script(["virtual-router blocked",
                                          " interface loopback 1",
                                          "  ip address 192.168.9.2 255.255.255.255"])
        assert printed(ctx).take() == []
        out = await run(executor, ctx, "show l2tp dial-out virtual-router")
        assert vr_row(out, "blocked") == "Virtual router blocked: inService"
        assert not any("File exists" in line for line in out), out
        out = await run(executor, ctx, "show ip route virtual-router blocked")
        assert any("192.168.9.1" in line for line in out), out
    finally:
        shutil.rmtree(blocker, ignore_errors=True)
        await eng.close()
