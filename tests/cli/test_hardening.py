"""Operator input that must not hurt the router: values, long lines, filters, script files,
the startup file, batch mode."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from jcli.app import build_shell
from jcli.config import store
from jcli.context import Context, ListOutput, Options
from jcli.executor import LINE_MAX, Executor
from jcli.registry import Registry
from tests.cli.fuzzlines import check_model, generate, run_all_modes
from tests.output import printed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_jcli(args, tmp_path, stdin=None, startup="startup.scr"):
    return subprocess.run([sys.executable, "-m", "jcli", "--startup", str(tmp_path / startup),
                           *args], cwd=str(tmp_path), input=stdin, capture_output=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))


def session(tmp_path, mode: str = "config") -> tuple[Context, Executor]:
    ctx = Context(output=ListOutput(), options=Options(startup=str(tmp_path / "s.scr")))
    ex = Executor(ctx)
    ctx.enter(mode)
    return ctx, ex


async def rejected(ex: Executor, ctx: Context, line: str) -> list[str]:
    assert not await ex.execute(line), line
    out = printed(ctx).take()
    assert any(ln.startswith("%") or ": % " in ln for ln in out), out
    return out


# ------------------------------------------------------------------ fuzz
def test_fuzz_every_mode_no_traceback_and_every_rejection_has_a_message(tmp_path):
    r = run_all_modes(2600, str(tmp_path / "s.scr"))
    assert r.lines >= 20_000
    assert r.tracebacks == 0, r.crashes[:10]
    assert r.silent_rejections == [], r.silent_rejections[:10]
    assert 0 < r.rejected < r.lines


async def test_fuzz_as_script_every_failed_line_is_numbered(tmp_path):
    ctx, ex = session(tmp_path)
    lines = [ln for ln in generate(3000, seed=7) if not ln.endswith("?")]
    await ex.run_script(lines, "fz.scr", max_errors=10**9)
    check_model(ctx.config)
    assert ex.internal_errors == 0
    numbered = {e.split(":", 2)[1] for e in ex.errors}
    assert len(numbered) == len(ex.errors) > 0
    assert all(e.split(": ", 1)[1].startswith("%") for e in ex.errors)


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("mode,line", [
    ("config", "ip route 10.0.0.0 255.0.0.0 \u0661.1.1.1"),
    ("config", "ip route \u0661\u0660.0.0.0 255.0.0.0 1.1.1.1"),
    ("config-if", "ip address \u0661.1.1.1 255.255.255.255"),
    ("config", "l2tp dial-out dormant-timeout \u0661\u0662"),
    ("config", "l2tp retransmission \uff13"),
    ("config", "hostname r\udcff"),
    ("config", "hostname r\x1b[2J"),
    ("config-radius", "key s\udcffcret"),
    ("config", "aaa domain-map \u00e9t\u00e9"),
    ("config", "hostname a:b"),
    ("config", "hostname " + "a" * 65),
    ("config", "aaa domain-map " + "d" * 70),
    ("config", "l2tp dial-out target 10.0.0.0 255.0.0.0 domain " + "d" * 70 + " profile p"),
])
async def test_values_are_ascii_and_valid_before_the_model(tmp_path, mode, line):
    ctx, ex = session(tmp_path, "config")
    if mode == "config-if":
        await ex.execute("interface loopback 1")
    if mode == "config-radius":
        await ex.execute("radius authentication server 10.1.1.1")
    printed(ctx).take()
    await rejected(ex, ctx, line)
    check_model(ctx.config)
    assert ctx.config.hostname == "host1"


async def test_keywords_in_any_case(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    assert await ex.execute("SHOW VERSION")
    assert await ex.execute("Show Ver")
    assert await ex.execute("CONF T")
    assert await ex.execute("HOSTNAME Big1")
    assert ctx.config.hostname == "Big1"          # values keep their case


def test_question_mark_in_the_middle_of_a_value(tmp_path):
    ctx, ex = session(tmp_path)
    assert ex.describe("ip route 10.") == ["  A.B.C.D  Destination prefix"]
    assert ex.describe("ip route 10.0.0.0 255.255.255.0 10.1.1.1 2")[0].startswith("  <1-255>")
    assert ex.describe("l2tp retransmission 3") == ["  <2-7>  Retries"]


async def test_long_line_is_refused_before_any_parsing(tmp_path):
    ctx, ex = session(tmp_path)
    line = "ip route " + "1" * (LINE_MAX * 50)
    out = await rejected(ex, ctx, line)
    assert out == ["% Line too long (at most 4096 characters)"]
    assert ex.describe(line) == ["% Line too long (at most 4096 characters)"]
    assert ex.completions(line) == ("", [])
    assert ex.complete(line) == line


async def test_filter_regex_cannot_backtrack(tmp_path):
    ctx, ex = session(tmp_path)
    await ex.execute("hostname a" + "-" * 40 + "b")
    ctx.enter("exec")
    printed(ctx).take()
    assert await ex.execute("show configuration | include (-|-|  )+z")
    assert printed(ctx).take() == []
    assert await ex.execute("show configuration | include (-|-)+b")
    assert printed(ctx).take()[0].startswith("hostname a--")


# ------------------------------------------------------------------ configure file
async def test_configure_file_refuses_bad_paths_and_files(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    out = await rejected(ex, ctx, "configure file a\x00b")      # not a WORD: never opened
    assert out[-1] == "% Invalid input detected at '^' marker."
    with pytest.raises(store.ScriptError, match="NUL"):
        store.read_script("a\x00b")
    out = await rejected(ex, ctx, "configure file /dev/zero")
    assert out[-1] == "% Cannot read /dev/zero: not a regular file"
    out = await rejected(ex, ctx, f"configure file {tmp_path}")
    assert out[-1].endswith("a directory")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    out = await rejected(ex, ctx, f"configure file {fifo}")   # returns at once, never blocks
    assert out[-1].endswith("a FIFO")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    out = await rejected(ex, ctx, f"configure file {tmp_path / 'dangling'}")
    assert out[-1].endswith("dangling symbolic link")


def test_read_script_size_limit(tmp_path):
    f = tmp_path / "big.scr"
    f.write_text("hostname a\n" * 10)
    with pytest.raises(store.ScriptError, match="larger than 50 bytes"):
        store.read_script(str(f), limit=50)
    assert len(store.read_script(str(f))) == 10


async def test_configure_file_that_includes_itself(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    f = tmp_path / "self.scr"
    f.write_text(f"hostname r1\nconfigure file {f}\n")
    out = await rejected(ex, ctx, f"configure file {f}")
    assert "self.scr:2: % Exec commands are not allowed in a configuration script" in out
    assert ctx.config.hostname == "r1"
    # nested reading guards itself too
    ex._files.append(os.path.realpath(f))
    out = await rejected(ex, ctx, f"configure file {f}")
    assert "already being read" in out[-1]


async def test_exec_commands_in_a_script_are_refused_with_line_number(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    f = tmp_path / "x.scr"
    f.write_text("! a script\nhostname r2\nwrite memory\nclear radius statistics\n")
    out = await rejected(ex, ctx, f"configure file {f}")
    assert "x.scr:3: % Exec commands are not allowed in a configuration script" in out
    assert "x.scr:4: % Exec commands are not allowed in a configuration script" in out
    assert not os.path.exists(tmp_path / "s.scr")
    assert ctx.config.hostname == "r2"


async def test_file_that_is_not_a_script_is_never_echoed(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    f = tmp_path / "shadow"
    f.write_text("".join(f"user{i}:$6$secrethash{i}:19000:0:99999:7:::\n" for i in range(40)))
    out = await rejected(ex, ctx, f"configure file {f}")
    assert not any("secrethash" in ln for ln in out)
    assert out[0] == "shadow:1: % Invalid input detected at '^' marker."
    assert len([ln for ln in out if ": %" in ln]) == 21      # 20 errors, then it stops
    assert out[-1].endswith("% Too many errors (20): rest of shadow not read")


async def test_script_stops_after_too_many_errors(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    f = tmp_path / "bad.scr"
    f.write_text("! generated\n" + "bogus\n" * 100)
    out = await rejected(ex, ctx, f"configure file {f}")
    assert "bogus" in out                    # a real script's lines are echoed
    assert out[-1] == "bad.scr:21: % Too many errors (20): rest of bad.scr not read"


# ------------------------------------------------------------------ startup file
def _broken_startups(tmp_path):
    (tmp_path / "nonutf8.scr").write_bytes(b"! caf\xe9\nhostname x\n")
    (tmp_path / "dir.scr").mkdir()
    os.mkfifo(tmp_path / "fifo.scr")
    os.symlink(tmp_path / "nowhere.scr", tmp_path / "dangling.scr")
    (tmp_path / "trunc.scr").write_text(
        "! Configuration script being generated on WED DEC 02 2026 10:00:00 UTC\n"
        "hostname half\nprofile p\n ppp mru 15")
    return {"nonutf8.scr": "line 1: not valid UTF-8 (byte 0xe9)", "dir.scr": "a directory",
            "fifo.scr": "a FIFO", "dangling.scr": "dangling symbolic link",
            "trunc.scr": 'truncated (no "! end of configuration script" line)'}


def test_startup_file_problems_are_one_line_and_the_router_starts(tmp_path):
    for name, reason in _broken_startups(tmp_path).items():
        r = run_jcli(["-c", "show configuration | include hostname"], tmp_path, startup=name)
        err = r.stderr.decode().splitlines()
        assert err[0].startswith("% Cannot ") and name in err[0] and err[0].endswith(reason), err
        assert err[1] == "% Starting with an empty configuration"
        assert "Traceback" not in r.stderr.decode()
        assert r.stdout.decode().splitlines() == ["hostname host1"], name
        assert r.returncode == 1
        r = run_jcli(["--strict-startup", "-c", "show version"], tmp_path, startup=name)
        assert r.returncode == 2 and r.stdout == b""


def test_startup_file_with_bad_lines_exits_non_zero_in_batch(tmp_path):
    (tmp_path / "startup.scr").write_text("hostname ok\nbogus\nwrite memory\n")
    r = run_jcli(["-c", "show configuration | include hostname"], tmp_path)
    assert r.returncode == 1
    assert r.stdout.decode().splitlines() == ["hostname ok"]
    err = r.stderr.decode()
    assert "startup.scr:2: % Invalid input" in err
    assert "startup.scr:3: % Exec commands are not allowed in a configuration script" in err


def test_orphaned_temp_files_are_removed_at_start(tmp_path):
    (tmp_path / ".jcli-abc123.tmp").write_text("hostname half")
    (tmp_path / "keep.tmp").write_text("x")
    r = run_jcli(["-c", "show version"], tmp_path)
    assert r.returncode == 0
    assert sorted(os.listdir(tmp_path)) == ["keep.tmp"]


# ------------------------------------------------------------------ batch mode
def test_stdin_errors_go_to_stderr_with_line_numbers(tmp_path):
    r = run_jcli([], tmp_path, stdin=b"conf t\nhostname ok\nbogus line\nhostname \xff\xfe\nend\n")
    assert r.returncode == 1
    err = r.stderr.decode().splitlines()
    assert err[0] == "stdin:3: % Invalid input detected at '^' marker."
    assert "stdin:4: % Invalid input detected at '^' marker." in err
    assert r.stdout == b""
    assert "Traceback" not in r.stderr.decode()


def test_exit_then_more_lines_is_reported(tmp_path):
    r = run_jcli([], tmp_path, stdin=b"show version\nexit\nshow version\n")
    assert r.returncode == 1
    assert r.stderr.decode().splitlines() == [
        "stdin:3: % Input continues after 'exit'; the rest is not run"]
    r = run_jcli([], tmp_path, stdin=b"show version\nexit\n! done\n")
    assert r.returncode == 0, r.stderr


async def test_internal_error_has_its_own_exit_status(tmp_path):
    reg = Registry()

    @reg.command("exec", "crash", ["Crash"])
    def crash(ctx):
        raise ZeroDivisionError("boom")

    @reg.command("exec", "fail", ["Fail"])
    def fail(ctx):
        return False
    shell = await build_shell(Options(startup=str(tmp_path / "s.scr")), output=ListOutput())
    shell.executor.registry = reg
    assert await shell.run_lines(["fail"]) == 1
    assert await shell.run_lines(["crash", "fail"]) == 3


def test_broken_pipe_in_batch_mode(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "jcli", "--startup", str(tmp_path / "s.scr")],
                         cwd=str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.stdin is not None and p.stdout is not None and p.stderr is not None
    p.stdin.write(b"show version\n" * 20000)
    p.stdin.close()
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_lab_start_error_is_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text("this is [not toml\n")
    for lab in ("missing.toml", "bad.toml"):
        r = run_jcli(["--lab", lab, "-c", "show version"], tmp_path)
        err = r.stderr.decode().strip().splitlines()
        assert r.returncode == 2
        assert len(err) == 1 and err[0].startswith("% Cannot start: "), err


async def test_configuration_lines_reach_the_engine_once_per_batch(tmp_path):
    class Eng:
        applied = 0

        def apply_config(self, model):
            Eng.applied += 1

        def snapshot(self):
            return None
    shell = await build_shell(Options(startup=str(tmp_path / "s.scr")), lambda ctx: Eng(),
                              output=ListOutput())
    lines = ["configure terminal"] + [f"ip route 10.{i // 256}.{i % 256}.0 255.255.255.0 "
                                      f"192.168.0.1" for i in range(500)] + ["end"]
    assert await shell.run_lines(lines) == 0
    assert Eng.applied == 1
    assert await shell.run_lines(["conf t", "hostname a", "end", "show version",
                                  "conf t", "hostname b"]) == 0
    assert Eng.applied == 3           # before `show version`, and at the end


# ------------------------------------------------------------------ commands every operator types
async def test_no_hostname_write_terminal_width(tmp_path):
    ctx, ex = session(tmp_path)
    assert await ex.execute("hostname r7")
    assert await ex.execute("no hostname")
    assert ctx.config.hostname == "host1"
    assert await ex.execute("end")
    assert await ex.execute("terminal width 132")
    assert ctx.terminal_width == 132
    assert await ex.execute("terminal length 0")
    await rejected(ex, ctx, "terminal width 513")
    assert await ex.execute("write")
    assert os.path.exists(tmp_path / "s.scr")


async def test_show_version_layout(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    assert await ex.execute("show version")
    out = printed(ctx).take()
    assert out[0] == "Juniper Edge Routing Switch jcli"
    assert out[1].startswith("Copyright (c) ") and out[1].endswith("All rights reserved.")
    assert out[2] == "System Release: jcli_0-1-0.rel"
    assert out[3].startswith("\tVersion: 0.1.0 ")
    assert out[4].startswith("System running for: 0 days, 0 hours, 0 minutes, ")
    assert out[5].startswith("\t(since ") and out[6] == ""
    assert out[7] == "slot state     type     admin  spare  running release    slot uptime"
    assert out[8] == "---- ------ ---------- ------- ----- ----------------- ---------------"
    assert out[9].startswith("0    online jcli       enabled  ---  jcli_0-1-0.rel    0d00h:00m:")


def test_stdin_overlong_line_is_refused_without_keeping_it(tmp_path):
    r = run_jcli([], tmp_path, stdin=b"show version\n" + b"x" * (8 << 20) + b"\nshow bogus\n")
    assert r.returncode == 1
    err = r.stderr.decode().splitlines()
    assert err[0] == "stdin:2: % Line too long (at most 4096 characters)"
    assert err[1] == "stdin:3: % Invalid input detected at '^' marker."


def test_read_stdin_keeps_line_numbers():
    import io

    from jcli.__main__ import _read_stdin
    data = b"a\r\nb\n" + b"y" * 20000 + b"\n\xff\nlast"
    lines = _read_stdin(io.BytesIO(data))
    assert lines[:2] == ["a", "b"] and len(lines[2]) > LINE_MAX
    assert lines[3] == "\udcff" and lines[4] == "last"


async def test_exit_at_the_top_of_a_script_does_not_end_the_session(tmp_path):
    ctx, ex = session(tmp_path, "exec")
    f = tmp_path / "e.scr"
    f.write_text("hostname e1\nexit\nexit\n! trailing comment\n")
    assert await ex.execute(f"configure file {f}")
    assert not ctx.quit and ctx.config.hostname == "e1"
    f.write_text("hostname e2\nexit\nexit\nhostname e3\n")
    out = await rejected(ex, ctx, f"configure file {f}")
    assert out == ["e.scr:4: % Input continues after 'exit'; the rest is not run"]
    assert not ctx.quit and ctx.config.hostname == "e2"


async def test_fuzz_through_batch_mode(tmp_path):
    shell = await build_shell(Options(startup=str(tmp_path / "s.scr")), output=ListOutput())
    lines = [ln for ln in generate(4000, seed=11)          # keep the session to the end
             if not (ln.split()[:1] and ln.split()[0].lower().startswith(("ex", "en", "e")))]
    status = await shell.run_lines(lines, "stdin")
    assert not shell.ctx.quit
    assert status == 1                       # some lines fail, none is an internal error
    assert shell.executor.internal_errors == 0
    check_model(shell.ctx.config)


async def test_a_change_reconciles_only_its_virtual_router(tmp_path):
    from jcli.__main__ import engine_factory
    from jcli.app import close_shell
    opts = Options(startup=str(tmp_path / "s.scr"))
    shell = await build_shell(opts, engine_factory(opts), output=ListOutput())
    try:
        lines = ["configure terminal"]
        for v in ("vr1", "vr2", "vr3"):
            lines += [f"virtual-router {v}"] + [f" ip route 10.{i}.0.0 255.255.0.0 192.0.2.1"
                                                 for i in range(50)]
        assert await shell.run_lines(lines) == 0
        eng = shell.ctx.engine.engine
        calls: list[str] = []
        real = eng.dataplane.apply_static

        def apply_static(v: Any) -> Any:
            calls.append(v.name)
            return real(v)
        eng.dataplane.apply_static = apply_static
        assert await shell.run_typed("virtual-router vr2")
        assert await shell.run_typed("ip route 10.200.0.0 255.255.0.0 192.0.2.1")
        assert calls == ["vr2"]
        routes = {str(r.prefix) for r in eng.dp.routes("vr2")}
        assert "10.200.0.0/16" in routes
    finally:
        await close_shell(shell)


def test_log_lines_on_the_terminal_are_escaped():
    import logging

    from jcli.views import SafeFormatter
    rec = logging.LogRecord("engine", logging.WARNING, __file__, 1,
                            "peer %s said %s", ("lac\x1b[2J", "a\nb\x07"), None)
    assert SafeFormatter("%(message)s").format(rec) == "peer lac\\x1b[2J said a\\x0ab\\x07"
