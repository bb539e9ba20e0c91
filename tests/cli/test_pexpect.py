"""Smoke test of the real binary on a pseudo-terminal: ?, TAB, caret error, exit."""
import os
import sys

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _jcli():
    exe = os.path.join(ROOT, ".venv", "bin", "jcli")
    if os.path.exists(exe):
        return exe, []
    return sys.executable, ["-m", "jcli"]


def test_interactive_session(tmp_path):
    exe, pre = _jcli()
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", HOME=str(tmp_path),
               PYTHONPATH=ROOT)
    p = pexpect.spawn(exe, [*pre, "--startup", str(tmp_path / "startup.scr")], env=env,
                      encoding="utf-8", timeout=30, dimensions=(40, 120), cwd=str(tmp_path))
    try:
        p.expect("host1#")
        p.send("show ?")
        p.expect("System software version")
        p.send("\x15")                       # Ctrl-U clears the kept line
        p.send("sh conf\t")
        p.expect("configuration")
        p.send("\r")
        p.expect("end of configuration script")
        p.send("sh xyz\r")
        p.expect(r"\^")
        p.expect("Invalid input detected")
        p.send("conf t\r")
        p.expect(r"host1\(config\)#")
        p.send("\x03")                       # Ctrl-C abandons the line
        p.send("end\r")
        p.send("exit\r")
        p.expect(pexpect.EOF)
    finally:
        p.close(force=True)
    assert p.exitstatus == 0
    assert os.path.exists(tmp_path / ".jcli_history")


def test_paging_and_ctrl_z(tmp_path):
    exe, pre = _jcli()
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", HOME=str(tmp_path),
               PYTHONPATH=ROOT)
    p = pexpect.spawn(exe, [*pre, "--startup", str(tmp_path / "startup.scr"), "--config",
                            os.path.join(ROOT, "sample-configs", "basic.scr")],
                      env=env, encoding="utf-8", timeout=30, dimensions=(40, 120),
                      cwd=str(tmp_path))
    try:
        p.expect("host1#")
        p.send("terminal length 6\r")
        p.expect("host1#")
        p.send("show configuration\r")
        p.expect("l2tp dial-out max-sessions 32000")
        p.expect("--More--")
        p.send(" ")
        p.expect("l2tp retransmission 4")
        p.expect("--More--")
        p.send("q")
        p.expect("host1#")
        p.send("configure terminal\r")
        p.expect(r"host1\(config\)#")
        p.send("profile x\r")
        p.expect(r"host1\(config-profile\)#")
        p.send("\x1a")                       # Ctrl-Z: back to privileged exec
        p.expect(r"host1#")
        p.send("show profile x\r")
        p.expect("profile x")
        p.send("exit\r")
        p.expect(pexpect.EOF)
    finally:
        p.close(force=True)
    assert p.exitstatus == 0
