"""A `jcli serve` process for the tests: loopback ports, a socket in the test's directory,
stopped (and if need be killed) by its pid."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

JCLI = [sys.executable, "-m", "jcli"]
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "NumberOfPasswordPrompts=1",
            "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"]
ACCOUNTS = """hostname host1
username alice privilege 15 secret wonderland
username bob secret builder
"""


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Router:
    def __init__(self, tmp: Path, config: str | None = ACCOUNTS, *, extra: tuple[str, ...] = (),
                 telnet: bool = True, ssh: bool = True, log: bool = False) -> None:
        self.tmp = tmp
        self.socket = str(tmp / "jcli.sock")
        self.telnet_port = free_tcp_port() if telnet else None
        self.ssh_port = free_tcp_port() if ssh else None
        self.log_path = tmp / "router.log" if log else None
        args = [*JCLI, "serve", "--socket", self.socket, "--startup", str(tmp / "startup.scr"),
                *extra]
        if config is not None:
            (tmp / "config.scr").write_text(config)
            args += ["--config", str(tmp / "config.scr")]
        if self.telnet_port:
            args += ["--telnet", f"127.0.0.1:{self.telnet_port}"]
        if self.ssh_port:
            args += ["--ssh", f"127.0.0.1:{self.ssh_port}"]
        if self.log_path:
            args += ["--log", str(self.log_path)]
        self.stderr = open(tmp / "stderr.log", "w+b")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, cwd=tmp)
        deadline = time.monotonic() + 30
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"jcli serve did not start: {self.errors()}")

            time.sleep(0.05)

    def ready(self) -> bool:
        if self.log_path is not None:
            return self.log_path.exists() and "running (pid" in self.log_path.read_text()
        return "running (pid" in self.errors()

    def errors(self) -> str:
        """What the router logged (stderr, or its log file)."""
        if self.log_path is not None and self.log_path.exists():
            return self.log_path.read_text(errors="replace")
        return (self.tmp / "stderr.log").read_text(errors="replace")

    def run(self, *commands: str, stdin: str | None = None, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        args = [*JCLI, "--socket", self.socket]
        for c in commands:
            args += ["-c", c]
        return subprocess.run(args, input=stdin if stdin is not None else "", text=True,
                              capture_output=True, timeout=timeout)

    def ssh(self, user: str, password: str, command: str | None = None, timeout: float = 30
            ) -> subprocess.CompletedProcess[str]:
        args = ["sshpass", "-p", password, "ssh", *SSH_OPTS, "-p", str(self.ssh_port),
                f"{user}@127.0.0.1"]
        if command is not None:
            args.append(command)
        return subprocess.run(args, text=True, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.stderr.close()
        return self.proc.returncode
