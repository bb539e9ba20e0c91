"""The two-host dial-out as captured on the veth: valid L2TP, PPP and RADIUS on the wire."""
from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from tests.interop.validate_pcap import validate

from . import topology as topo
from .test_two_hosts import kernel_ping, sessions, start_engine, wait_until

pytestmark = [pytest.mark.timeout(120), pytest.mark.capture]


def tshark_fields(pcap: Path, display_filter: str, *fields: str) -> list[list[str]]:
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-n", "-d", f"udp.port=={topo.RADIUS_PORT},radius",
         "-Y", display_filter, "-T", "fields", "-E", "separator=|",
         *[a for f in fields for a in ("-e", f)]],
        capture_output=True, text=True, timeout=60)
    return [line.split("|") for line in out.stdout.splitlines()]


def tshark_count(pcap: Path, display_filter: str) -> int:
    return len(tshark_fields(pcap, display_filter, "frame.number"))


async def settle(pcap: Path, quiet: float = 0.5, timeout: float = 10.0) -> None:
    """Wait until the capture file stopped growing (tcpdump has written what it saw)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    size, since = -1, loop.time()
    while loop.time() < deadline:
        now_size = pcap.stat().st_size if pcap.exists() else 0
        if now_size != size:
            size, since = now_size, loop.time()
        elif loop.time() - since >= quiet:
            return
        await asyncio.sleep(0.05)


async def test_capture_on_veth_passes_validate_pcap(lab, prefixed_dataplane, tmp_path):
    pcap = tmp_path / "veth.pcap"
    dump = subprocess.Popen(
        ["tcpdump", "-i", lab.veth_root, "-n", "-U", "--immediate-mode", "-Z", "root", "-w", str(pcap), "udp"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        topo.LineReader(dump).wait_for(r"listening on", 15)
        engine = await start_engine(lab)
        try:
            sent, received, out = await kernel_ping(lab.ns("home"), topo.CPE_ADDR)
            assert (sent, received) == (3, 3), out
            assert engine.clear_sessions("home") >= 1
            await wait_until(lambda: not sessions(engine, "inService"))
        finally:
            await engine.stop()
        await settle(pcap)
    finally:
        topo.stop_process(dump)
    assert dump.returncode is not None

    # the capture holds the whole exchange ...
    assert tshark_count(pcap, "radius.code == 1") >= 2          # dial-out + CPE Access-Request
    assert tshark_count(pcap, "radius.code == 2") >= 2          # both Access-Accept
    # the dial-out Access-Request (spec section 2), sent from the default VR (the process's
    # namespace) because the AAA domain map points the domain there: Outbound, no password
    requests = tshark_fields(pcap, "radius.code == 1", "ip.src", "radius.User_Name",
                             "radius.Service_Type", "radius.User_Password",
                             "radius.CHAP_Password", "radius.NAS_Port_Type",
                             "radius.Message_Authenticator")
    assert all(r[0] == topo.ROUTER_ADDR for r in requests)
    dialout = [r for r in requests if r[1] == f"{topo.CPE_ADDR}@{topo.DOMAIN}"]
    assert dialout and all(r[2] == "5" and r[3] == r[4] == "" and r[5] == "5" and r[6]
                           for r in dialout), dialout
    cpe = [r for r in requests if r[1] == "cpe1"]       # the CPE's CHAP check, ppp_auth_vr
    assert cpe and all(r[4] != "" for r in cpe), cpe
    for msg in (1, 2, 3, 7, 8, 9, 14, 4):   # SCCRQ SCCRP SCCCN OCRQ OCRP OCCN CDN StopCCN
        assert tshark_count(pcap, f"l2tp.avp.message_type == {msg}") >= 1, msg
    assert tshark_count(pcap, "icmp.type == 0") >= 3             # echo replies inside PPP
    assert tshark_count(pcap, "chap") >= 2 and tshark_count(pcap, "ipcp") >= 2
    # ... and the independent validator finds nothing malformed or suspicious
    res = validate(pcap, topo.RADIUS_SECRET, [f"udp.port=={topo.RADIUS_PORT},radius"])
    assert res.ok, res.report(pcap)
    assert res.report(pcap).startswith("OK")
