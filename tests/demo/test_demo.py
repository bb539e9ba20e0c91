"""`make demo` as a user runs it: the real jcli binary on a pseudo-terminal with the shipped lab."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "sample-configs" / "lab.toml"
SCR = ROOT / "sample-configs" / "lab.scr"


def _ports_free() -> bool:
    import socket
    for port in (18121, 18122):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


@pytest.fixture
def shell(tmp_path):
    if not _ports_free():
        pytest.skip("the demo lab's RADIUS ports 18121/18122 are in use on this machine")
    child = pexpect.spawn(sys.executable, ["-m", "jcli", "--lab", str(LAB), "--config", str(SCR),
                                           "--startup", str(tmp_path / "startup.scr")],
                          cwd=str(tmp_path), env={**os.environ, "TERM": "dumb", "COLUMNS": "160",
                                                  "PYTHONPATH": str(ROOT)},
                          encoding="utf-8", timeout=30, dimensions=(50, 160))
    try:
        child.expect_exact("host1#")
        yield child
    finally:
        if child.isalive():
            child.sendline("exit")
            child.expect(pexpect.EOF, timeout=10)
        child.close(force=True)


def run(child, line: str, last: str) -> str:
    """Send a line and return the screen up to ``last`` (the line that ends its output).

    Command output reaches the terminal through prompt_toolkit's stdout proxy, which may
    draw the next prompt before the last lines; so wait for the content, not for a prompt."""
    child.sendline(line)
    child.expect_exact(line)
    child.expect_exact(last)
    return child.before + last


def test_demo_ping_dials_out_and_session_is_in_service(shell):
    run(shell, "terminal length 0", "host1#")
    out = run(shell, "ping virtual-router home 10.10.1.1", "ms")
    assert "Success rate = 100% (5/5)" in out
    out = run(shell, "show l2tp dial-out session", "found")
    assert "home" in out and "10.10.1.1" in out and "inService" in out and "ppp1" in out
    assert "1 dial-out session found" in out
    out = run(shell, "sh ip ro virtual-router home | include access", "ppp1")
    assert "10.10.1.0/24" in out
    out = run(shell, "ping virtual-router home 10.10.2.1 count 2", "ms")
    assert "Success rate = 100% (2/2)" in out
    out = run(shell, "show l2tp dial-out session brief | count", "Count")
    shell.expect(r"\d+")
    assert shell.after == "5"          # header, dashes, two sessions, summary


def test_backtracking_filter_while_the_lab_dials(shell):
    """A filter that backtracks exponentially in a backtracking engine returns at once; the
    data plane and the tunnel keep working meanwhile."""
    run(shell, "terminal length 0", "host1#")
    out = run(shell, "ping virtual-router home 10.10.1.1", "ms")
    assert "Success rate = 100% (5/5)" in out
    shell.sendline("show l2tp dial-out session | include (-|-|  |-----)+z")
    out = run(shell, "ping virtual-router home 10.10.1.1 count 3", "ms")
    assert "Success rate = 100% (3/3)" in out
    out = run(shell, "show l2tp dial-out session | include (-|-)+|inService", "inService")
    assert "10.10.1.1" in out
