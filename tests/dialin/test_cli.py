"""LNS configuration commands: destination profiles, remote hosts, half-open caps, their show
command and rendering; the model becomes the engine's acceptance policy."""
from __future__ import annotations

import os

from jcli.bridge import engine_config
from jcli.config.render import render_config
from jcli.context import Context, ListOutput
from jcli.executor import Executor
from tests.cli.transcript import matches, play

HERE = os.path.dirname(__file__)


def session() -> tuple[Context, Executor]:
    ctx = Context(output=ListOutput(), interactive=True)
    ctx.terminal_length = 0
    return ctx, Executor(ctx)


async def test_lns_transcript() -> None:
    with open(os.path.join(HERE, "transcripts", "lns.txt"), encoding="utf-8") as f:
        text = f.read()
    ctx, ex = session()
    screen = await play(ctx, ex, text)
    expected = text.splitlines()
    for i, (e, a) in enumerate(zip(expected, screen, strict=False), 1):
        assert matches(e, a), f"lns.txt:{i}: expected {e!r}, got {a!r}"
    assert len(screen) == len(expected)


SCRIPT = """l2tp max-half-open-tunnels 300
l2tp max-half-open-tunnels per-source 6
l2tp destination profile berlin ip address 192.0.2.10
 remote host lac1
  tunnel password pw1
  local host-name edge
  max-sessions 10
  enable-receive-window-size 8
  exit
 remote host default
  exit
 exit
l2tp destination profile open ip address 192.0.2.20 virtual-router default
""".splitlines()


async def test_render_round_trip_and_acceptance_policy() -> None:
    ctx, ex = session()
    assert await ex.run_script(SCRIPT, "x.scr"), ex.errors
    r1 = render_config(ctx.config)
    ctx2, ex2 = session()
    assert await ex2.run_script(r1, "y.scr"), ex2.errors
    assert ctx2.config == ctx.config and render_config(ctx2.config)[1:] == r1[1:]
    pol = engine_config(ctx.config).l2tp_acceptance
    assert (pol.max_half_open, pol.max_half_open_per_source) == (300, 6)
    berlin = pol.peer("192.0.2.10")
    assert berlin is not None and berlin.name == "berlin"
    h = berlin.host("lac1")
    assert h is not None and h.secret == b"pw1" and h.local_host_name == "edge"
    assert (h.max_sessions, h.receive_window, h.profile) == (10, 8, None)
    other = berlin.host("someone-else")
    assert other is not None and other.host_name is None and other.secret is None
    open_ = pol.peer("192.0.2.20")
    assert open_ is not None and open_.host("x") is None      # no remote host: nobody
    assert pol.peer("192.0.2.99") is None
    assert "pw1" not in repr(pol)


async def test_no_forms_restore_defaults() -> None:
    ctx, ex = session()
    assert await ex.run_script(SCRIPT + [
        "no l2tp max-half-open-tunnels", "no l2tp max-half-open-tunnels per-source",
        "l2tp destination profile berlin ip address 192.0.2.10", "remote host lac1",
        "no tunnel password", "no max-sessions", "exit", "no remote host default", "exit",
        "no l2tp destination profile open"], "x.scr"), ex.errors
    pol = engine_config(ctx.config).l2tp_acceptance
    assert (pol.max_half_open, pol.max_half_open_per_source) == (1000, 32)
    berlin = pol.peer("192.0.2.10")
    assert berlin is not None and [h.host_name for h in berlin.hosts] == ["lac1"]
    assert berlin.hosts[0].secret is None and berlin.hosts[0].max_sessions == 0
    assert pol.peer("192.0.2.20") is None


async def test_dialin_transcript_and_engine_config() -> None:
    with open(os.path.join(HERE, "transcripts", "dialin.txt"), encoding="utf-8") as f:
        text = f.read()
    ctx, ex = session()
    screen = await play(ctx, ex, text)
    expected = text.splitlines()
    for i, (e, a) in enumerate(zip(expected, screen, strict=False), 1):
        assert matches(e, a), f"dialin.txt:{i}: expected {e!r}, got {a!r}"
    assert len(screen) == len(expected)
    cfg = engine_config(ctx.config)
    vr = cfg.vr("default")
    assert vr is not None and [(n, str(a), str(b)) for n, a, b in vr.local_pools] == [
        ("subs", "10.70.0.1", "10.70.0.254")]
    prof = vr.profile("dialin")
    assert prof is not None and prof.ip_address_pool == "subs"
    peer = cfg.l2tp_acceptance.peer("192.0.2.10")
    assert peer is not None and peer.hosts[0].profile == "dialin"
    # the rendered configuration reads back to the same engine configuration
    ctx2, ex2 = session()
    lines = [ln for ln in render_config(ctx.config) if not ln.startswith("!")]
    assert await ex2.run_script(lines, "round.scr"), ex2.errors
    assert engine_config(ctx2.config) == cfg
