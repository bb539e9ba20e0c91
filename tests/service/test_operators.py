"""Operator accounts and sessions without the network: hashes, configuration round trip,
user exec, one save at a time, debug output only where it was asked for."""
from __future__ import annotations

import asyncio

import pytest

from jcli.auth import Authenticator, hash_secret, is_hash, verify_secret
from jcli.config.model import RouterConfig
from jcli.config.render import render_config
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from jcli.service.sessions import SessionTable, debug_kind
from tests.present import present


def session(config: RouterConfig | None = None, tmp_path=None) -> Context:
    opts = Options(startup=str(tmp_path / "startup.scr")) if tmp_path is not None else Options()
    ctx = Context(config if config is not None else RouterConfig(), options=opts)
    Executor(ctx)
    ctx.mode = "config"
    return ctx


async def run(ctx: Context, line: str) -> tuple[bool, list[str]]:
    ok = await present(ctx.executor).execute(line)
    out = ctx.output
    assert isinstance(out, ListOutput)
    return ok, out.take()


def test_hash_is_salted_and_checked():
    a, b = hash_secret("s3cret"), hash_secret("s3cret")
    assert a != b and a.startswith("$scrypt$") and is_hash(a)
    assert verify_secret("s3cret", a) and not verify_secret("s3cre", a)
    for bad in ("", "$scrypt$", "$scrypt$999999999$8$1$AAAAAAAA$AAAAAAAAAAAAAAAAAAAA",
                a.replace("$8$", "$99$"), a[:-4], None):
        assert not verify_secret("s3cret", bad)


async def test_accounts_render_as_hashes_and_parse_back():
    ctx = session()
    for line in ("username alice privilege 15 secret wonderland", "username bob secret builder",
                 "enable secret sesame", "aaa authentication login default radius local"):
        ok, out = await run(ctx, line)
        assert ok, out
    text = render_config(ctx.config)
    body = "\n".join(text)
    for word in ("wonderland", "builder", "sesame"):
        assert word not in body
    assert "username alice privilege 15 secret 5 $scrypt$" in body
    assert "enable secret 5 $scrypt$" in body
    assert "aaa authentication login default radius local" in body
    again = session()
    assert await present(again.executor).run_script(text, "rendered")
    assert render_config(again.config)[1:] == text[1:]
    assert verify_secret("wonderland", again.config.operators.users["alice"].secret)
    ok, out = await run(ctx, "username carol secret 5 notahash")
    assert not ok and out[0].startswith("% Invalid secret")
    ok, out = await run(ctx, "username bad/name secret x")
    assert not ok and out[0].startswith("% Invalid user name")


async def test_local_login_counts_and_delays(monkeypatch):
    import jcli.auth as auth
    monkeypatch.setattr(auth, "FAIL_DELAY", 0.05)
    ctx = session()
    await run(ctx, "username alice secret wonderland")
    a = Authenticator(ctx.config)
    ok = await a.login("alice", "wonderland", "test")
    assert ok is not None and ok.user == "alice"
    assert await a.login("alice", "nope", "test") is None
    assert await a.login("mallory", "wonderland", "test") is None
    assert a.failures == 2


async def test_radius_login_falls_back_to_local_when_unreachable(monkeypatch):
    import jcli.auth as auth
    monkeypatch.setattr(auth, "FAIL_DELAY", 0.0)
    ctx = session()
    await run(ctx, "username alice secret wonderland")
    await run(ctx, "aaa authentication login default radius local")
    a = Authenticator(ctx.config, engine=None)          # no RADIUS server reachable
    assert (await a.login("alice", "wonderland", "test")) is not None
    await run(ctx, "aaa authentication login default radius")
    assert await a.login("alice", "wonderland", "test") is None


async def test_user_exec_hides_sensitive_commands():
    ctx = session()
    ctx.mode = "user"
    for line in ("show configuration", "show running-configuration", "configure terminal",
                 "clear line 1", "debug l2tp", "write memory", "show logging",
                 "configure file x.scr"):
        ok, out = await run(ctx, line)
        assert not ok and "% Invalid input detected at '^' marker." in out, (line, out)
    assert "configuration" not in " ".join(present(ctx.executor).describe("show "))
    ok, out = await run(ctx, "show version")
    assert ok


async def test_write_memory_while_another_session_saves(tmp_path):
    cfg = RouterConfig()
    a, b = session(cfg, tmp_path), session(cfg, tmp_path)
    a.mode = b.mode = "exec"
    (ra, oa), (rb, ob) = await asyncio.gather(run(a, "write memory"), run(b, "write memory"))
    assert sorted([ra, rb]) == [False, True]
    assert "% Non-Volatile memory is in use" in oa + ob
    ok, _ = await run(b, "write memory")                 # free again afterwards
    assert ok and (tmp_path / "startup.scr").exists()


class _FakeEngine:
    def __init__(self) -> None:
        class E:
            debug: frozenset[str] = frozenset()
        self.engine = E()


def test_debug_output_only_to_sessions_that_asked():
    eng = _FakeEngine()
    table = SessionTable(RouterConfig(), eng, Options(), None)
    s1 = table.open("telnet", "a", "x", ListOutput(), trusted=False, privilege=15, interactive=False)
    s2 = table.open("telnet", "b", "y", ListOutput(), trusted=False, privilege=15, interactive=False)
    got: dict[int, list[str]] = {s1.line: [], s2.line: []}
    s1.notify = got[s1.line].append
    s2.notify = got[s2.line].append
    s1.ctx.engine.set_debug("radius", True)
    assert eng.engine.debug == {"radius"}
    table.route_output("RADIUS [home]: RADIUS sent Access-Request id 1")
    table.route_output("L2TP: tunnel 1 up")
    assert got == {s1.line: ["RADIUS [home]: RADIUS sent Access-Request id 1"], s2.line: []}
    assert [s2.ctx.mode, s1.line != s2.line] == ["exec", True]
    table.remove(s1)
    assert eng.engine.debug == set()
    assert debug_kind("%PPP: ppp1: x") == "ppp" and debug_kind("% Cannot add route") is None


@pytest.mark.parametrize("privilege,mode", [(1, "user"), (15, "exec")])
def test_login_lands_in_the_accounts_mode(privilege, mode):
    table = SessionTable(RouterConfig(), None, Options(), None)
    s = table.open("ssh", "u", "z", ListOutput(), trusted=False, privilege=privilege,
                   interactive=True)
    assert s.ctx.mode == mode


async def test_radius_login_through_the_default_virtual_router(tmp_path, monkeypatch):
    """`aaa authentication login default radius local`: the lab RADIUS server of the default
    VR decides; when it does not answer, the local accounts do."""
    import jcli.auth as auth
    from engine.lab.labfile import load_labfile
    from engine.lab.runner import start_lab
    from jcli.bridge import RouterEngine
    from tests.dialout_e2e.helpers import free_udp_ports
    monkeypatch.setattr(auth, "FAIL_DELAY", 0.0)
    [port] = free_udp_ports(1)
    (tmp_path / "lab.toml").write_text(
        f'[[radius]]\nname = "ops"\nlisten = "127.0.0.1:{port}"\nsecret = "ops-secret"\n'
        '[radius.users.noc]\npassword = "noc-pass"\n'
        'reply = { "Service-Type" = "Administrative-User" }\n')
    lab = await start_lab(load_labfile(tmp_path / "lab.toml"))
    ctx = session(tmp_path=tmp_path)
    router = RouterEngine(ctx.options, output=lambda line: None, model=ctx.config)
    try:
        await router.start()
        ctx.engine = router
        for line in ("username alice secret wonderland",
                     "aaa authentication login default radius local",
                     "radius authentication server 127.0.0.1", "udp-port " + str(port),
                     "key ops-secret", "timeout 1", "retransmit 0", "exit"):
            ok, out = await run(ctx, line)
            assert ok, (line, out)
        a = Authenticator(ctx.config, router)
        got = await a.login("noc", "noc-pass", "test")
        assert got is not None and got.user == "noc"
        assert await a.login("noc", "wrong", "test") is None           # rejected: no fallback
        assert await a.login("alice", "wonderland", "test") is None    # RADIUS said no
        await lab.close()
        got = await a.login("alice", "wonderland", "test")             # unreachable: local
        assert got is not None and got.user == "alice"
    finally:
        await router.close()
        await lab.close()
