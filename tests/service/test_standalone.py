"""The stand-alone router (`jcli` on a terminal or with a script on stdin): Ctrl-C stops only
the running command; a closed terminal, SIGTERM and SIGINT to a script run shut it down
gracefully (exit 0); stdin from a fifo is handled as it arrives."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pexpect
import pytest

from tests.dialout_e2e.helpers import free_udp_ports, lac_addresses, standard_lab
from tests.dialout_e2e.test_shell import router_script

pytestmark = pytest.mark.timeout(120)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def env(tmp_path) -> dict[str, str]:
    return dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", HOME=str(tmp_path),
                PYTHONPATH=ROOT)


def test_ctrl_c_interrupts_ping_only(tmp_path):
    home, lns = free_udp_ports(2)
    (tmp_path / "lab.toml").write_text(standard_lab(lac_addresses(2)).text(home, lns))
    (tmp_path / "router.scr").write_text("\n".join(router_script(home, lns)) + "\n")
    p = pexpect.spawn(sys.executable, ["-m", "jcli", "--lab", str(tmp_path / "lab.toml"),
                                       "--config", str(tmp_path / "router.scr"),
                                       "--startup", str(tmp_path / "none.scr")],
                      env=env(tmp_path), encoding="utf-8", timeout=30, dimensions=(40, 120),
                      cwd=str(tmp_path))
    try:
        p.expect("host1#")
        p.sendline("ping virtual-router home 10.10.1.1 count 2 timeout 10")
        p.expect(r"Success rate = 100% \(2/2\)")  # the session is up and answering
        p.expect("host1#")
        p.sendline("ping virtual-router home 10.10.1.1 count 100000 timeout 2")
        p.expect("Sending 100000")
        time.sleep(1.5)
        p.sendintr()
        p.expect("% Interrupted")
        p.expect("host1#")
        assert p.isalive()
        p.sendline("show l2tp dial-out session brief")
        p.expect("inService")
        p.expect("host1#")
        os.kill(p.pid, signal.SIGHUP)            # the terminal went away: a graceful stop
        p.expect(pexpect.EOF, timeout=10)
        p.close()
        assert p.exitstatus == 0, (p.exitstatus, p.signalstatus)
    finally:
        if p.isalive():
            p.terminate(force=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_fifo_stdin_is_not_waited_for_and_signals_stop_gracefully(tmp_path, sig):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "jcli", "--startup", str(tmp_path / "n.scr")],
                            stdin=os.open(fifo, os.O_RDONLY | os.O_NONBLOCK),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env=env(tmp_path))
    w = open(fifo, "w")
    try:
        w.write("show version\n")
        w.flush()
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        seen = b""
        while b"Juniper Edge Routing Switch" not in seen:       # before any EOF
            assert time.monotonic() < deadline, seen
            r, _, _ = select.select([proc.stdout], [], [], 1)
            if r:
                seen += os.read(proc.stdout.fileno(), 4096)
        t0 = time.monotonic()
        proc.send_signal(sig)
        rc = proc.wait(10)
        assert rc == 0, proc.stderr.read() if proc.stderr else rc
        assert time.monotonic() - t0 <= 5
    finally:
        w.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
