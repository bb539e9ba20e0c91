"""Batch mode, startup/save, engine hook, async handlers, extension registry, paging."""
import asyncio
import os
import subprocess
import sys

import pytest

import jcli.app as app_mod
from jcli.app import ShellOutput, build_shell
from jcli.config import store
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from jcli.registry import CliError, Registry
from jcli.views import ShowResult
from tests.output import printed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable


def run_jcli(args, tmp_path, stdin=None):
    return subprocess.run([PY, "-m", "jcli", "--startup", str(tmp_path / "startup.scr"), *args],
                          cwd=str(tmp_path), input=stdin, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))


def test_batch_commands_ok(tmp_path):
    r = run_jcli(["-c", "configure terminal", "-c", "hostname r9", "-c", "end",
                  "-c", "show configuration | include hostname"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["hostname r9"]


def test_batch_failure_exit_code_and_caret(tmp_path):
    r = run_jcli(["-c", "show version", "-c", "show zzz", "-c", "show configuration | count"],
                 tmp_path)
    assert r.returncode == 1
    err = r.stderr.splitlines()                 # errors go to stderr and name the line
    i = err.index("show zzz")
    assert err[i + 1] == "     ^"
    assert err[i - 1] == "-c:2: % Invalid input detected at '^' marker."
    assert r.stdout.splitlines()[-1].startswith("Count: ")


def test_stdin_lines(tmp_path):
    r = run_jcli([], tmp_path, stdin="configure terminal\nprofile p\nppp mru 1500\nend\n"
                                     "show profile p\n")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["profile p", " ppp mru 1500"]


def test_config_file_with_errors(tmp_path):
    f = tmp_path / "c.scr"
    f.write_text("hostname ok1\nbogus\n")
    r = run_jcli(["--config", str(f), "-c", "show configuration | include hostname"], tmp_path)
    assert r.returncode == 1
    assert "c.scr:2: % Invalid input detected at '^' marker." in r.stderr
    assert "hostname ok1" in r.stdout


def test_write_memory_then_startup_is_loaded(tmp_path):
    r = run_jcli(["-c", "conf t", "-c", "hostname saved1", "-c", "end", "-c", "write memory"],
                 tmp_path)
    assert r.returncode == 0, r.stdout
    text = (tmp_path / "startup.scr").read_text()
    assert "hostname saved1" in text and text.rstrip().endswith("! end of configuration script")
    r = run_jcli(["-c", "show configuration | include hostname"], tmp_path)
    assert r.stdout.splitlines() == ["hostname saved1"]
    r = run_jcli(["-c", "conf t", "-c", "hostname saved2", "-c", "end",
                  "-c", "copy running-configuration startup-configuration"], tmp_path)
    assert r.returncode == 0
    assert "hostname saved2" in (tmp_path / "startup.scr").read_text()
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []


def test_options_parsed():
    from jcli.__main__ import parse_args
    o = parse_args(["--lab", "l.toml", "--dataplane", "linux", "--keep-namespaces",
                    "--startup", "s.scr", "--config", "a.scr", "-c", "x", "-c", "y"])
    assert (o.lab, o.dataplane, o.keep_namespaces, o.startup) == ("l.toml", "linux", True, "s.scr")
    assert o.config == ["a.scr"] and o.commands == ["x", "y"]
    assert parse_args([]).dataplane == "sim"


# ------------------------------------------------------------------ atomic save
async def _session(tmp_path, engine=None):
    ctx = Context(output=ListOutput(), options=Options(startup=str(tmp_path / "startup.scr")),
                  engine=engine)
    return ctx, Executor(ctx)


async def test_failed_save_keeps_previous_startup(tmp_path, monkeypatch):
    ctx, ex = await _session(tmp_path)
    assert await ex.execute("write memory")
    before = (tmp_path / "startup.scr").read_text()
    for line in ("conf t", "hostname changed", "end"):
        assert await ex.execute(line)

    def boom(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(store.os, "fsync", boom)
    assert not await ex.execute("write memory")
    assert printed(ctx).lines[-1].startswith("% Cannot save the configuration")
    assert (tmp_path / "startup.scr").read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["startup.scr"]


async def test_save_into_missing_directory_fails_cleanly(tmp_path):
    ctx = Context(output=ListOutput(),
                  options=Options(startup=str(tmp_path / "nodir" / "startup.scr")))
    ex = Executor(ctx)
    assert not await ex.execute("copy running-configuration startup-configuration")
    assert "% Cannot save" in printed(ctx).lines[-1]


def test_atomic_write_exception_during_write(tmp_path, monkeypatch):
    p = tmp_path / "startup.scr"
    p.write_text("old\n")

    class Boom(Exception):
        pass

    def bad_replace(a, b):
        raise Boom()
    monkeypatch.setattr(store.os, "replace", bad_replace)
    with pytest.raises(Boom):
        store.atomic_write(str(p), "new\n")
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["startup.scr"]


# ------------------------------------------------------------------ engine hook
class FakeEngine:
    def __init__(self):
        self.applied = 0

    def apply_config(self, model):
        self.applied += 1
        self.model = model

    def snapshot(self):
        class S:
            vr_states = {"default": "inService"}
        return S()


async def test_engine_apply_config_after_each_change(tmp_path):
    eng = FakeEngine()
    ctx, ex = await _session(tmp_path, eng)
    await ex.execute("configure terminal")
    assert eng.applied == 0
    await ex.execute("hostname a")
    await ex.execute("profile p")
    await ex.execute("ppp mru 1500")
    assert eng.applied == 3 and eng.model is ctx.config
    await ex.execute("ppp mru 1")          # fails: no apply
    await ex.execute("exit")               # navigation: no apply
    assert eng.applied == 3
    await ex.run_script(["hostname b", "profile q", " ppp mru 1400"], "s.scr")
    assert eng.applied == 4                # once per script
    await ex.execute("show virtual-router")
    assert "inService" in printed(ctx).lines[-2]


async def test_build_shell_with_engine_factory(tmp_path):
    started: list[bool] = []

    class StartedEngine(FakeEngine):
        async def start(self) -> None:
            started.append(True)
    eng = StartedEngine()
    shell = await build_shell(Options(startup=str(tmp_path / "none.scr"),
                                      config=[os.path.join(ROOT, "sample-configs", "basic.scr")]),
                              lambda ctx: eng, output=ListOutput())
    assert started == [True]
    assert shell.ctx.engine is eng
    assert await shell.load_startup()
    assert eng.applied == 1
    assert await shell.run_lines(["show version"]) == 0


# ------------------------------------------------------------------ extension API
async def test_extension_registry_async_handler_and_show_json():
    reg = Registry()
    calls = []

    @reg.command("exec*", "ping A.B.C.D$addr [count <1-100>$count]",
                 ["Send echo messages", "Destination", "Number of echos", "Count"])
    async def ping(ctx, addr, count):
        for _ in range(count or 5):
            await asyncio.sleep(0)
            ctx.write("!")
        calls.append((addr, count))
        return True

    @reg.command("*", "show thing", ["Show", "A thing"])
    def show_thing(ctx):
        return ShowResult({"a": 1, "b": [1, 2]}, lambda d: [f"a is {d['a']}", "b"])

    @reg.command("exec", "fail now", ["Fail", "Now"])
    async def fail(ctx):
        raise CliError("It failed")

    ctx = Context(output=ListOutput())
    ex = Executor(ctx, registry=reg)
    assert await ex.execute("ping 10.0.0.1 count 3")
    assert calls == [("10.0.0.1", 3)] and printed(ctx).take() == ["!", "!", "!"]
    assert await ex.execute("sh th | json")
    assert "".join(printed(ctx).take()).replace(" ", "") == '{"a":1,"b":[1,2]}'
    assert await ex.execute("sh th | inc a")
    assert printed(ctx).take() == ["a is 1"]
    assert not await ex.execute("fail now")
    assert printed(ctx).take() == ["% It failed"]


# ------------------------------------------------------------------ paging
async def test_paging(monkeypatch):
    keys = iter([" ", "\r", "q"])

    async def fake_key():
        return next(keys)
    monkeypatch.setattr(app_mod, "_more_key", fake_key)
    out = ListOutput()
    ctx = Context(output=out, interactive=True)
    shell = app_mod.Shell(ctx, Executor(ctx))
    ctx.terminal_length = 4
    await shell.page([str(i) for i in range(20)])
    # 3 lines, space -> 3 more, enter -> 1 more, q -> stop
    assert out.lines == [str(i) for i in range(7)]
    out.lines.clear()
    ctx.terminal_length = 0
    await shell.page([str(i) for i in range(20)])
    assert len(out.lines) == 20


def test_shell_output_buffers_show():
    o = ShellOutput(stream=open(os.devnull, "w"))
    o.show(["a", "b"])
    assert o.take() == ["a", "b"] and o.take() == []


async def test_completer_caps_menu_but_keeps_common_prefix():
    from prompt_toolkit.document import Document

    from jcli.completion import CliCompleter
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    await ex.run_script([f"profile prof{i:05d}" for i in range(2000)], "gen")
    ctx.enter("config")
    comps = list(CliCompleter(ex, max_menu=100).get_completions(Document("profile pr"), None))
    assert len(comps) == 100
    texts = [c.text for c in comps]
    assert os.path.commonprefix(texts) == "prof0"
    assert comps[0].display_meta_text == "Profile name"
    assert ex.complete("profile pr") == "profile prof0"
    assert ex.complete("profile prof01999") == "profile prof01999 "
    assert len(ex.describe("profile ")) == 2001


async def test_configure_file_command(tmp_path):
    f = tmp_path / "part.scr"
    f.write_text("profile p\n ppp mru 1500\n exit\nnonsense here\nl2tp checksum\n")
    ctx, ex = await _session(tmp_path)
    assert not await ex.execute(f"configure file {f}")
    assert "part.scr:4: % Invalid input detected at '^' marker." in printed(ctx).lines
    assert ctx.config.l2tp.checksum and ctx.config.vr("default").profiles["p"].ppp_mru == 1500
    assert ctx.mode == "exec"
    assert not await ex.execute(f"configure file {tmp_path / 'missing.scr'}")
    assert printed(ctx).lines[-1].startswith("% Cannot read")


def test_version_command_uses_package_version():
    import jcli
    assert jcli.__version__


async def test_handler_bug_does_not_end_the_session():
    reg = Registry()

    @reg.command("exec", "crash", ["Crash"])
    def crash(ctx):
        raise ZeroDivisionError("boom")

    @reg.command("exec", "crash async", ["Crash", "Async"])
    async def crash_async(ctx):
        raise KeyError("k")
    ctx = Context(output=ListOutput())
    ex = Executor(ctx, registry=reg)
    assert not await ex.execute("crash")
    assert not await ex.execute("crash async")
    assert printed(ctx).lines == ["% Internal error: ZeroDivisionError: boom",
                                "% Internal error: KeyError: 'k'"]


async def test_close_shell_prefers_close(tmp_path):
    from jcli.app import close_shell
    calls = []

    class Eng(FakeEngine):
        async def close(self):
            calls.append("close")

        def stop(self):
            calls.append("stop")
    shell = await build_shell(Options(startup=str(tmp_path / "none.scr")), lambda ctx: Eng(),
                              output=ListOutput())
    await close_shell(shell)
    assert calls == ["close"]


def test_batch_question_mark_prints_help(tmp_path):
    r = run_jcli(["-c", "show vers?", "-c", "write ?"], tmp_path)
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["  version  System software version",
                                     "  memory  To the startup file", "  <cr>"]
