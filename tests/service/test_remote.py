"""Operators on the running router through real clients on loopback: OpenSSH (sshpass),
telnet (pexpect), netmiko, and the local socket."""
from __future__ import annotations

import os
import pwd
import signal
import sys
import time

import pexpect
import pytest

from tests.service.router import SSH_OPTS, Router

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def router(tmp_path):
    r = Router(tmp_path)
    try:
        yield r
    finally:
        r.stop()


def telnet_login(r: Router, user: str, password: str) -> pexpect.spawn:
    t = pexpect.spawn("telnet", ["127.0.0.1", str(r.telnet_port)], encoding="utf-8", timeout=15)
    t.expect("User:")
    t.sendline(user)
    t.expect("Password:")
    t.sendline(password)
    return t


def close(child: pexpect.spawn) -> None:
    if child.isalive():
        child.terminate(force=True)


@pytest.mark.tools("ssh", "sshpass")
def test_ssh_password_login_runs_commands(router):
    out = router.ssh("alice", "wonderland", "show version")
    assert out.returncode == 0, out.stderr
    assert "Juniper Edge Routing Switch" in out.stdout
    # a privilege-1 account is in user exec: the configuration is not for it
    out = router.ssh("bob", "builder", "show configuration")
    assert out.returncode == 1
    assert "% Invalid input detected at '^' marker." in out.stderr
    assert "secret" not in out.stdout
    # a wrong password is refused, without saying which part was wrong
    t0 = time.monotonic()
    out = router.ssh("alice", "nope", "show version")
    assert out.returncode != 0 and "Juniper" not in out.stdout
    assert time.monotonic() - t0 >= 1.0              # refusals are delayed
    # the interactive shell over SSH
    c = pexpect.spawn("sshpass", ["-p", "wonderland", "ssh", *SSH_OPTS, "-p",
                                  str(router.ssh_port), "alice@127.0.0.1"],
                      encoding="utf-8", timeout=15)
    try:
        c.expect("host1#")
        c.sendline("ping 10.99.0.1 count 100 timeout 1")
        c.expect("Sending 100")
        time.sleep(0.5)
        c.send("\x03")
        c.expect("% Interrupted")
        c.expect("host1#")
        c.sendline("show users")
        c.expect("ssh +alice +127.0.0.1")
        c.expect("host1#")
        c.sendline("exit")                           # JunOSe: the first exit drops to >
        c.expect("host1>")
        c.sendline("exit")
        c.expect(pexpect.EOF)
    finally:
        close(c)
    assert "login refused for 'alice'" in router.errors()
    # the host key was generated once, beside the startup file, readable by the owner only
    key = router.tmp / "ssh_host_ed25519_key"
    assert os.stat(key).st_mode & 0o777 == 0o600
    first = key.read_bytes()
    router.stop()
    again = Router(router.tmp)
    try:
        assert again.ssh("alice", "wonderland", "show version").returncode == 0
        assert key.read_bytes() == first
    finally:
        again.stop()


@pytest.mark.tools("telnet")
def test_telnet_login_and_user_exec(router):
    t = telnet_login(router, "bob", "wrong")
    try:
        t0 = time.monotonic()
        t.expect("% Login invalid")
        assert time.monotonic() - t0 >= 1.0
        t.expect("User:")
        t.sendline("alice")                     # a known user with a wrong password: same answer
        t.expect("Password:")
        t.sendline("builder")
        t.expect("% Login invalid")
        t.expect("User:")
        t.sendline("bob")
        t.expect("Password:")
        t.sendline("builder")
        t.expect("host1>")
        for line in ("show configuration", "configure terminal", "configure file x.scr",
                     "clear line 1", "debug l2tp", "write memory", "show logging"):
            t.sendline(line)
            t.expect(r"% Invalid input detected at '\^' marker\.")
            t.expect("host1>")
        t.sendline("show version")
        t.expect("Juniper Edge Routing Switch")
        t.expect("host1>")
        t.sendline("ping 10.99.0.1 count 100 timeout 1")     # Ctrl-C stops only the command
        t.expect("Sending 100")
        time.sleep(0.5)
        t.send("\x03")
        t.expect("% Interrupted")
        t.expect("host1>")
        t.sendline("enable")                    # no enable secret: a privilege-1 line cannot
        t.expect("% No password set")
        t.expect("host1>")
        t.sendline("exit")
        t.expect(pexpect.EOF)
    finally:
        close(t)


@pytest.mark.tools("telnet")
def test_enable_secret_asks_password(tmp_path):
    from tests.service.router import ACCOUNTS
    r = Router(tmp_path, ACCOUNTS + "enable secret sesame\n", ssh=False)
    t = None
    try:
        t = telnet_login(r, "bob", "builder")
        t.expect("host1>")
        t.sendline("enable")
        t.expect("Password:")
        t.sendline("wrong")
        t.expect("% Access denied")
        t.expect("host1>")
        t.sendline("enable")
        t.expect("Password:")
        t.sendline("sesame")
        t.expect("host1#")
        t.sendline("show configuration")
        t.expect(r"enable secret 5 \$scrypt\$")
        t.expect("host1#")
        t.sendline("disable")
        t.expect("host1>")
        t.sendline("exit")
        t.expect(pexpect.EOF)
    finally:
        if t is not None:
            close(t)
        r.stop()
    assert "sesame" not in (tmp_path / "stderr.log").read_text()


@pytest.mark.tools("telnet", "ssh", "sshpass")
def test_two_sessions_config_and_shows(router):
    t = telnet_login(router, "alice", "wonderland")
    try:
        t.expect("host1#")
        t.sendline("configure terminal")
        t.expect(r"host1\(config\)#")
        t.sendline("hostname edge7")
        t.expect(r"edge7\(config\)#")
        # the change is in force for every other session at once
        out = router.ssh("alice", "wonderland", "show users\nshow configuration")
        assert out.returncode == 0, out.stderr
        assert "hostname edge7" in out.stdout
        users = [ln for ln in out.stdout.splitlines() if "alice" in ln]
        assert any(" telnet " in f" {ln} " for ln in users), out.stdout
        assert any(ln.startswith("*") and " ssh " in ln for ln in users), out.stdout
        # each session has its own mode: the socket session is in privileged exec
        out = router.run("show users")
        assert out.returncode == 0
        assert "privileged" in out.stdout and "telnet" in out.stdout
        # clear line ends another operator's session
        line = next(ln.split()[0] for ln in out.stdout.splitlines() if " telnet " in ln)
        out = router.run(f"clear line {line}")
        assert out.returncode == 0 and f"Line {line} cleared" in out.stdout
        t.expect("Session closed")
        t.expect(pexpect.EOF)
    finally:
        close(t)


@pytest.mark.tools("ssh")
def test_netmiko_collects_configuration(router):
    netmiko = pytest.importorskip("netmiko")
    conn = netmiko.ConnectHandler(device_type="generic", host="127.0.0.1", port=router.ssh_port,
                                  username="alice", password="wonderland", fast_cli=False,
                                  timeout=20, session_log=None)
    try:
        conn.set_base_prompt(pri_prompt_terminator="#", alt_prompt_terminator=">")
        conn.send_command("terminal length 0", expect_string=r"host1#")
        text = conn.send_command("show configuration", expect_string=r"host1#", read_timeout=20)
    finally:
        conn.disconnect()
    assert "hostname host1" in text
    assert "username alice privilege 15 secret 5 $scrypt$" in text
    assert "wonderland" not in text


def test_socket_batch_exit_codes(router):
    ok = router.run("show version")
    assert ok.returncode == 0 and "Juniper" in ok.stdout
    bad = router.run("show nonsense")
    assert bad.returncode == 1
    assert bad.stderr.startswith("-c:1: % Invalid input")
    script = router.run(stdin="configure terminal\nhostname viastdin\nend\nshow configuration\n")
    assert script.returncode == 0, script.stderr
    assert "hostname viastdin" in script.stdout
    missing = __import__("subprocess").run(
        [sys.executable, "-m", "jcli", "--socket", str(router.tmp / "nope.sock"), "-c", "show version"],
        capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "Cannot reach the router" in missing.stderr


@pytest.mark.tools("telnet", "ssh", "sshpass")
def test_remote_login_refused_without_accounts(tmp_path):
    r = Router(tmp_path, "hostname host1\n")
    t = None
    try:
        t = pexpect.spawn("telnet", ["127.0.0.1", str(r.telnet_port)], encoding="utf-8", timeout=15)
        t.expect("Remote login refused: no operator account is configured")
        t.expect(pexpect.EOF)
        import subprocess
        opts = [o if o != "LogLevel=ERROR" else "LogLevel=INFO" for o in SSH_OPTS]   # banners
        out = subprocess.run(["sshpass", "-p", "anything", "ssh", *opts, "-p", str(r.ssh_port),
                              "root@127.0.0.1", "show version"], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
        assert out.returncode != 0 and "Juniper" not in out.stdout
        assert "no operator account is configured" in out.stderr
        local = r.run("show version")                 # the local socket stays usable
        assert local.returncode == 0 and "Juniper" in local.stdout
    finally:
        if t is not None:
            close(t)
        r.stop()


def test_sighup_reopens_log_and_sigterm_exits_0(tmp_path):
    r = Router(tmp_path, telnet=False, ssh=False, log=True)
    try:
        assert r.log_path is not None
        for _ in range(100):
            if r.log_path.exists() and "running" in r.log_path.read_text():
                break
            time.sleep(0.05)
        rotated = tmp_path / "router.log.1"
        r.log_path.rename(rotated)
        r.signal(signal.SIGHUP)
        for _ in range(100):
            if r.log_path.exists():
                break
            time.sleep(0.05)
        assert r.proc.poll() is None
        r.run("show version")
        r.signal(signal.SIGTERM)
        assert r.wait(10) == 0
        text = r.log_path.read_text()
        assert "SIGHUP: log reopened" in text and "stopped" in text
        assert all(len(ln.split(" ", 3)) == 4 for ln in text.splitlines())   # date time LEVEL text
    finally:
        r.stop()


def test_attach_gives_the_interactive_shell(router):
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    a = pexpect.spawn(sys.executable, ["-m", "jcli", "attach", "--socket", router.socket],
                      env=env, encoding="utf-8", timeout=15, dimensions=(40, 120))
    try:
        a.expect("host1#")
        a.send("show ?")
        a.expect("System software version")
        a.send("\x15")                       # Ctrl-U clears the kept line
        a.send("sh vers\t")
        a.expect("version")
        a.send("\r")
        a.expect("Juniper Edge Routing Switch")
        a.expect("host1#")
        a.sendline("show logging | include line 0")
        me = pwd.getpwuid(os.getuid()).pw_name      # the attaching user, by SO_PEERCRED
        a.expect(f"line 0: con {me} from local attach")
        a.expect("host1#")
        a.sendline("ping 10.99.0.1 count 100 timeout 1")
        a.expect("Sending 100")
        time.sleep(0.5)
        a.send("\x03")
        a.expect("% Interrupted")
        a.expect("host1#")
        a.sendline("terminal length 5")
        a.expect("host1#")
        a.sendline("show configuration")     # paged: --More--, q ends it
        a.expect("--More--")
        a.send("q")
        a.expect("host1#")
        a.sendline("exit")
        a.expect("host1>")
        a.sendline("exit")
        a.expect(pexpect.EOF)
    finally:
        close(a)
    assert router.proc.poll() is None            # the router runs on


@pytest.mark.tools("telnet", "ssh", "sshpass")
def test_sigterm_ends_operator_lines_and_exits_0(router):
    t = telnet_login(router, "alice", "wonderland")
    c = pexpect.spawn("sshpass", ["-p", "wonderland", "ssh", *SSH_OPTS, "-p",
                                  str(router.ssh_port), "alice@127.0.0.1"],
                      encoding="utf-8", timeout=15)
    try:
        t.expect("host1#")
        c.expect("host1#")
        t0 = time.monotonic()
        router.signal(signal.SIGTERM)
        t.expect("Session closed: the router is shutting down")
        t.expect(pexpect.EOF)
        c.expect(pexpect.EOF)
        assert router.wait(10) == 0
        assert time.monotonic() - t0 <= 5
    finally:
        close(t)
        close(c)
