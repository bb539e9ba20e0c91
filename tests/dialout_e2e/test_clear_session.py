"""``clear l2tp session`` (spec/cli.md): one call by its local ids, or every call, through the
shell; the CDN says it was the operator and the dial-out session goes dormant."""
from __future__ import annotations

import pytest

from jcli.context import Options
from tests.output import printed
from tests.present import present
from tests.router_shell import router_shell

from .helpers import lac_addresses, standard_lab, wait_for
from .test_shell import Shell, router_script

pytestmark = pytest.mark.timeout(60)


async def test_clear_l2tp_session(tmp_path):
    lab = tmp_path / "lab.toml"
    lab.write_text(standard_lab(lac_addresses(2)).text())
    options = Options(lab=str(lab), startup=str(tmp_path / "none.scr"))
    async with router_shell(options) as (ctx, executor, eng):
        sh = Shell(ctx, executor)
        ports = {s.spec.name: s.address[1] for s in present(eng.lab).radius}
        assert await executor.run_script(router_script(ports["home"], ports["lns"]))
        printed(ctx).take()
        for dst in ("10.10.1.1", "10.10.2.1"):
            out = await sh.run(f"ping virtual-router home {dst} count 1 timeout 10")
            assert "Success rate = 100% (1/1)" in out[-1], out
        calls = sorted((s.tunnel_id, s.session_id) for s in eng.snapshot().dialout.sessions)
        assert len(calls) == 2
        out = await sh.run("clear l2tp session 65535 65535", ok=False)
        assert out == ["% Session 65535/65535 does not exist"]
        tid, sid = calls[0]
        assert await sh.run(f"clear l2tp session {tid} {sid}") == ["1 session(s) cleared"]
        await wait_for(lambda: sorted(str(s.state) for s in eng.snapshot().dialout.sessions)
                       == ["dormant", "inService"], 10)
        [gone] = [s for s in eng.snapshot().dialout.sessions if str(s.state) == "dormant"]
        assert gone.failure_reason == "cleared by operator"
        lac = present(eng.lab).lacs[0]
        assert await sh.run("clear l2tp session all") == ["1 session(s) cleared"]
        await wait_for(lambda: all(str(s.state) == "dormant"
                                   for s in eng.snapshot().dialout.sessions), 10)
        await wait_for(lambda: not lac.parties, 10, lambda: f"{lac.parties}")
