"""The shell on a pseudo-terminal: bracketed paste, long lines, Ctrl-C, a filter that would
backtrack, the history file."""
from __future__ import annotations

import os
import re
import sys

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def spawn(tmp_path, home=None, args=()):
    exe = os.path.join(ROOT, ".venv", "bin", "jcli")
    pre: list[str] = []
    if not os.path.exists(exe):
        exe, pre = sys.executable, ["-m", "jcli"]
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1",
               HOME=str(home if home is not None else tmp_path), PYTHONPATH=ROOT)
    return pexpect.spawn(exe, [*pre, "--startup", str(tmp_path / "startup.scr"), *args],
                         env=env, encoding="utf-8", timeout=30, dimensions=(40, 200),
                         cwd=str(tmp_path), codec_errors="replace")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def finish(p) -> None:
    p.send("\x15exit\r")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_bracketed_paste_runs_each_line_with_its_own_echo_and_error(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        p.send(PASTE_START + "configure terminal\rhostname pasted1\rbogus line\r"
               "profile pp\r ppp mru 1400\rend\r" + PASTE_END)
        p.expect(r"pasted1\(config\)#bogus line")
        p.expect(r"\^\r\n% Invalid input detected at '\^' marker\.\r\n")
        p.expect(r"pasted1\(config\)#profile pp")     # the next echo comes after the error
        p.expect(r"pasted1\(config-profile\)# ppp mru 1400")
        p.expect(r"pasted1\(config-profile\)#end")
        p.expect("pasted1#")
        p.send("show configuration | include mru\r")
        p.expect(" ppp mru 1400")
        p.expect("pasted1#")
        finish(p)
    finally:
        p.close(force=True)


def test_long_line_is_capped_and_memory_stays_small(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        chunk = "1" * 4000
        for _ in range(25):                       # 100 KB typed without bracketed paste
            p.send(chunk)
        p.send(PASTE_START + "2" * 200_000 + PASTE_END)
        p.send("\t?")
        p.send("\r")
        p.expect("% Invalid input detected|% Unrecognized command|% Line too long", timeout=60)
        p.expect("host1#", timeout=60)
        assert rss_mib(p.pid) < 200
        p.send("show version\r")
        p.expect("System running for")
        finish(p)
    finally:
        p.close(force=True)


def test_ctrl_c_at_the_prompt_keeps_the_session(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        p.send("conf t\r")
        p.expect(r"host1\(config\)#")
        p.send("hostname abandoned")
        p.send("\x03")
        p.expect(r"host1\(config\)#")
        p.send("\x03\x03")
        p.send("end\r")
        p.expect("host1#")
        p.send("show configuration | include hostname\r")
        p.expect("hostname host1")
        finish(p)
    finally:
        p.close(force=True)


def test_backtracking_filter_does_not_block_the_router(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        p.send("conf t\rhostname a" + "-" * 50 + "b\rend\r")
        p.expect("b#")
        p.send("show configuration | include (-|-|  )+z\r")
        p.expect("b#", timeout=10)
        p.send("show version | include (-|-)+|Release\r")
        p.expect("System Release")
        p.expect("b#")
        finish(p)
    finally:
        p.close(force=True)


def test_unwritable_home_falls_back_to_memory_history(tmp_path):
    p = spawn(tmp_path, home=tmp_path / "no" / "such" / "home")
    try:
        p.expect("Warning: cannot write .*jcli_history.*in memory only")
        p.expect("host1#")
        p.send("show version\r")
        p.expect("System running for")
        p.expect("host1#")
        assert "Press ENTER" not in p.before and "Traceback" not in p.before
        p.send("\x1b[A")                          # up-arrow recalls from memory
        p.expect("show version")
        finish(p)
    finally:
        p.close(force=True)


def test_secrets_never_reach_the_history_file(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        p.send("conf t\r")
        p.send("radius authentication server 10.1.1.1\r")
        p.expect(r"config-radius\)#")
        p.send("key Sup3rSecret\r")
        p.expect(r"config-radius\)#")
        p.send("k Sup3rSecret2\r")
        p.expect(r"config-radius\)#")
        p.send("end\r")
        p.expect("host1#")
        finish(p)
    finally:
        p.close(force=True)
    text = (tmp_path / ".jcli_history").read_text()
    assert "radius authentication server 10.1.1.1" in text
    assert not re.search("Sup3rSecret", text)


def test_ctrl_c_stops_a_running_command_not_the_router(tmp_path):
    p = spawn(tmp_path)
    try:
        p.expect("host1#")
        p.send("ping 192.0.2.1 count 1000 timeout 5\r")
        p.expect("Sending 1000")
        p.sendintr()
        p.expect("% Interrupted")
        p.expect("host1#")
        p.send("show version\r")
        p.expect("System running for")
        finish(p)
    finally:
        p.close(force=True)
