"""Interop: our L2TP LAC + PPP against l2tpns (an independent userspace LNS) and FreeRADIUS.

Topology (two network namespaces created here, unique names, removed afterwards):
  LAC ns: veth 10.255.255.1/30, runs tests/ppp/l2tpns_client.py (engine.l2tp + engine.ppp)
  LNS ns: veth 10.255.255.2/30, l2tpns on :1701, FreeRADIUS on 127.0.0.1:18120 (ns loopback)
l2tpns authenticates our PPP (PAP, CHAP) through RADIUS, hands out Framed-IP-Address
10.10.1.1 and DNS, sends LCP echo; a wrong password must be refused.  The L2TP capture on the
LAC's veth must pass tests/interop/validate_pcap.py.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.interop import freeradius_files, l2tpns_startup_config
from tests.interop.validate_pcap import validate
from tests.needs import need_capture, need_root, need_tools
from tests.wait import Timeout, file_settled, wait_until

pytestmark = [pytest.mark.interop, pytest.mark.root, pytest.mark.capture,
              pytest.mark.tools("l2tpns", "freeradius", "ip")]

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def _stop(proc, sig=signal.SIGTERM):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, sig)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def _wait_for(path: Path, text: str, timeout: float) -> bool:
    try:
        wait_until(lambda: path.exists() and text in path.read_text(errors="replace"),
                   timeout=timeout, interval=0.2)
        return True
    except Timeout:
        return False


@pytest.fixture(scope="module")
def lns():
    need_root()
    need_tools("l2tpns", "freeradius", "ip")
    need_capture()
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun (TUN driver) for l2tpns")
    sfx = f"{os.getpid() % 100000:05d}{random.randrange(1000):03d}"
    ns_lns, ns_lac = f"pl{sfx}", f"pc{sfx}"
    va, vb = f"va{sfx}", f"vb{sfx}"
    tmp = Path(tempfile.mkdtemp(prefix="ppp-l2tpns-"))
    procs = []
    try:
        _run("ip", "netns", "add", ns_lns)
        _run("ip", "netns", "add", ns_lac)
        _run("ip", "link", "add", va, "type", "veth", "peer", "name", vb)
        _run("ip", "link", "set", va, "netns", ns_lns)
        _run("ip", "link", "set", vb, "netns", ns_lac)
        _run("ip", "-n", ns_lns, "addr", "add", "10.255.255.2/30", "dev", va)
        _run("ip", "-n", ns_lac, "addr", "add", "10.255.255.1/30", "dev", vb)
        for ns, dev in ((ns_lns, va), (ns_lac, vb)):
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", ns, "link", "set", dev, "up")
        # l2tpns asks 127.0.0.1:18120 and accounts to the next port (namespace loopback)
        fr = freeradius_files(tmp / "fr", auth_port=18120, acct_port=18121)
        cfg = l2tpns_startup_config(tmp)
        (tmp / "startup-config").write_text(cfg + "set echo_timeout 1\nset ppp_keepalive no\n")
        pcap = tmp / "l2tp.pcap"
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", ns_lac, "tcpdump", "-i", vb, "-n", "-U", "-w", str(pcap),
             "udp port 1701"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", ns_lns, "freeradius", "-f", "-d", str(fr),
             "-l", str(fr / "radius.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not _wait_for(fr / "radius.log", "Ready to process requests", 15):
            pytest.fail("FreeRADIUS did not start")
        procs.append(subprocess.Popen(
            ["ip", "netns", "exec", ns_lns, "l2tpns", "-c", str(tmp / "startup-config")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # l2tpns answers tunnels only once it has elected itself cluster master
        if not _wait_for(tmp / "l2tpns.log", "declaring myself the master", 40):
            pytest.fail("l2tpns did not become ready")
        yield {"ns_lac": ns_lac, "pcap": pcap, "tmp": tmp, "tcpdump": procs[0]}
    finally:
        for p in reversed(procs):
            _stop(p)
        _run("ip", "netns", "del", ns_lns, check=False)
        _run("ip", "netns", "del", ns_lac, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def _call(lns, user, password, proto, echo_wait=25.0):
    r = subprocess.run(
        ["ip", "netns", "exec", lns["ns_lac"], sys.executable, "-m", "tests.ppp.l2tpns_client",
         "10.255.255.1", "10.255.255.2", user, password, proto, str(echo_wait)],
        cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["names"] = [e[0] for e in res["events"]]
    return res


def test_l2tpns_pap_chap_wrong_password_and_capture(lns):
    for proto in ("pap", "chap"):
        res = _call(lns, "cpe-user", "cpe-pass", proto)
        assert res["names"][:5] == ["TunnelUp", "CallUp", "LinkUp", "AuthenticatedByPeer",
                                    "NetworkUp"], res
        assert res["local_ip"] == "10.10.1.1"            # Framed-IP-Address from RADIUS
        assert res["dns"] == ["10.0.0.1"]
        assert res["echo_answered"] >= 1 and res["echo_replies"] >= 1, res
        assert res["link_down"] == "test done" and res["lcp_state"] == "closed", res
        assert res["names"][-1] == "TunnelDown" and res["errors"] == 0
    for proto in ("pap", "chap"):
        res = _call(lns, "cpe-user", "wrong-pass", proto, echo_wait=1.0)
        assert "NetworkUp" not in res["names"], res
        assert "AuthenticatedByPeer" not in res["names"]
        assert "LinkDown" in res["names"] and res["names"][-1] == "TunnelDown"
    file_settled(lns["pcap"], quiet=0.5)
    _stop(lns["tcpdump"], signal.SIGINT)
    v = validate(lns["pcap"], decode_as=["udp.port==1701,l2tp"])
    assert v.ok, v.report(lns["pcap"])
    # the capture holds our PPP: check tshark sees LCP, PAP, CHAP and IPCP inside L2TP
    t = subprocess.run(["tshark", "-r", str(lns["pcap"]), "-n", "-T", "fields",
                        "-e", "ppp.protocol"], capture_output=True, text=True, timeout=60)
    protos = set(t.stdout.split())
    assert {"0xc021", "0xc023", "0xc223", "0x8021"} <= protos, protos
