"""What a test needs from the machine, each a separate reason to skip: root, a tool, a capture.

``@pytest.mark.root``, ``@pytest.mark.tools("xl2tpd", ...)`` and ``@pytest.mark.capture``
(applied by ``tests/conftest.py``) or the ``need_*`` functions inside fixtures skip a test with
the one reason that applies to it.  Under ``CI=true`` every skip is a failure
(``tests/skip_policy.py``).
"""
from __future__ import annotations

import functools
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

# the Debian package that provides each tool (``make debian-tools`` installs them)
PACKAGES = {
    "freeradius": "freeradius", "radclient": "freeradius-utils", "tshark": "tshark",
    "tcpdump": "tcpdump", "xl2tpd": "xl2tpd", "l2tpns": "l2tpns", "ping": "iputils-ping",
    "ip": "iproute2", "ss": "iproute2", "tmux": "tmux", "ssh": "openssh-client",
    "sshd": "openssh-server", "sshpass": "sshpass", "telnet": "telnet",
}


def tool(name: str) -> str | None:
    """Path of ``name`` on PATH or in the sbin directories (not on a non-root PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin", "/usr/bin"):
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def missing_tools(*names: str) -> str | None:
    missing = [n for n in names if tool(n) is None]
    if not missing:
        return None
    pkgs = sorted({PACKAGES.get(n, n) for n in missing})
    return f"needs {', '.join(missing)} (Debian: {' '.join(pkgs)}; `make debian-tools`)"


def root_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, TUN devices, capture)"
    return None


@functools.cache
def capture_problem() -> str | None:
    """Why tcpdump cannot capture on loopback here, found by capturing one datagram."""
    missing = missing_tools("tcpdump")
    if missing:
        return missing
    with tempfile.TemporaryDirectory(prefix="jcli-capture-check-") as d:
        pcap = Path(d) / "check.pcap"
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        args = [str(tool("tcpdump")), "-i", "lo", "-n", "-U", "-c", "1", "-w", str(pcap),
                f"udp dst port {port}"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        err = b""
        try:
            end = time.monotonic() + 10
            while time.monotonic() < end and b"listening on" not in err:
                if proc.poll() is not None:
                    err += proc.stderr.read()
                    break
                ready, _, _ = select.select([proc.stderr], [], [], 0.1)
                if ready:
                    err += os.read(proc.stderr.fileno(), 4096)
            while time.monotonic() < end and proc.poll() is None:
                probe.sendto(b"capture check", ("127.0.0.1", port))
                time.sleep(0.05)
        finally:
            probe.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stderr.close()
        size = pcap.stat().st_size if pcap.exists() else 0
        if proc.returncode == 0 and size > 24:            # pcap file header + one packet
            return None
        lines = [line.strip() for line in err.decode(errors="replace").splitlines()
                 if line.strip() and "listening on" not in line]
        why = " ".join(lines) or f"exit status {proc.returncode}"
        return f"needs capture: tcpdump -i lo captured nothing: {why}"


def need_root() -> None:
    reason = root_problem()
    if reason:
        pytest.skip(reason)


def need_tools(*names: str) -> None:
    reason = missing_tools(*names)
    if reason:
        pytest.skip(reason)


def need_capture() -> None:
    """Skip unless tcpdump really captures on loopback (and tshark reads the capture)."""
    reason = missing_tools("tshark") or capture_problem()
    if reason:
        pytest.skip(reason)
