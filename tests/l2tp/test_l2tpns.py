"""Incoming call (our engine as LAC) against l2tpns, a complete independent LNS, in a namespace."""
import json
import os
import subprocess
import sys

import pytest

from tests.interop import l2tpns_startup_config
from tests.present import present
from tests.wait import Timeout, wait_until

from .interop import _stop, tool

pytestmark = [pytest.mark.interop, pytest.mark.root, pytest.mark.tools("l2tpns", "ip", "ss")]

ADDR = "10.255.255.2"


@pytest.fixture
def l2tpns(tmp_path):
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("l2tpns needs /dev/net/tun")
    ns = f"l2tpt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{ADDR}/32", "dev", "lo"], check=True)
        (tmp_path / "startup-config").write_text(l2tpns_startup_config(tmp_path))
        proc = subprocess.Popen(["ip", "netns", "exec", ns, present(tool("l2tpns")), "-c",
                                 str(tmp_path / "startup-config")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        def listening() -> bool:
            out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-uan"], capture_output=True, text=True).stdout
            return f"{ADDR}:1701" in out

        try:
            wait_until(lambda: listening() or proc.poll() is not None, timeout=5, interval=0.05)
        except Timeout:
            pass
        log = tmp_path / "l2tpns.log"
        assert proc.poll() is None, "l2tpns exited at start: " + (
            log.read_text(errors="replace")[-2000:] if log.exists() else "")
        yield ns, tmp_path
    finally:
        if proc is not None:
            _stop(proc)
        subprocess.run(["ip", "netns", "del", ns])


def test_incoming_call_to_l2tpns(l2tpns):
    ns, tmp = l2tpns
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.l2tp.l2tpns_client", ADDR],
                       capture_output=True, text=True, timeout=120, cwd=os.getcwd(),
                       env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["tunnel_up"] and res["call_up"] == ["incoming"]
    frames = [bytes.fromhex(f) for f in res["ppp"]]
    assert any(f[:4] == b"\xff\x03\xc0\x21" and f[4] == 1 for f in frames)   # l2tpns's own LCP Configure-Request
    assert any(f[:4] == b"\xff\x03\xc0\x21" and f[4] == 2 for f in frames)   # Configure-Ack of ours
    assert res["down"] == [[1, False]] and res["calls_down"] == 1 and res["malformed"] == 0
