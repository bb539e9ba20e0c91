"""The whole dial-out against independent and separate peers: FreeRADIUS 3 as both the home
and the LNS RADIUS server, the lab LAC and CPE in a child process, a tcpdump capture of every
RADIUS and L2TP packet checked by tests/interop/validate_pcap.py (tshark)."""
from __future__ import annotations

import subprocess

import pytest

from engine.aio.engine import Engine
from tests.interop.validate_pcap import validate
from tests.wait import file_settled

from .helpers import (
    DOMAIN,
    LabSpec,
    Running,
    cpe,
    dialout_reply,
    engine_config,
    free_udp_ports,
    lac_addresses,
    wait_for,
)
from .procs import FR_SECRET, Capture, FreeRadius, LabProcess, freeradius_users

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90), pytest.mark.tools("freeradius"),
              pytest.mark.capture]
DST = "10.10.1.1"


def _tshark_count(pcap, display_filter: str, decode: list[str]) -> int:
    out = subprocess.run(["tshark", "-r", str(pcap), "-n", *decode, "-Y", display_filter],
                         capture_output=True, text=True, timeout=60)
    return len([line for line in out.stdout.splitlines() if line.strip()])


async def test_dialout_with_freeradius_separate_lab_and_capture(tmp_path):
    lacs = lac_addresses(1)
    auth_port, acct_port = free_udp_ports(2)
    users = {
        f"{DST}@{DOMAIN}": ("Auth-Type := Accept", dialout_reply(lacs, "5551001")),
        "cpe1": ('Cleartext-Password := "cpe1-pass"',
                 {"Service-Type": "Framed-User", "Framed-Protocol": "PPP",
                  "Framed-Route": "10.10.1.0/24 0.0.0.0 1"}),
    }
    labfile = tmp_path / "peers.toml"
    labfile.write_text(LabSpec(lacs=lacs, radius=False,
                               cpes=[cpe("5551001", "cpe1", DST)]).text())
    assert "[[radius]]" not in labfile.read_text()
    pcap = tmp_path / "dialout.pcap"
    fr = FreeRadius(tmp_path / "fr", freeradius_users(users), auth_port, acct_port)
    peers = LabProcess(labfile)                      # python -m engine.lab LABFILE
    cap = Capture(pcap, f"udp and (port {auth_port} or port {acct_port} or "
                        f"(host {lacs[0]} and port 1701))")
    eng = Engine(output=lambda line: None)
    try:
        fr.start()
        peers.start()
        assert f"lac lac1 {lacs[0]}:1701" in peers.ready_line
        cap.start()
        await eng.start()
        server = ("127.0.0.1", auth_port)
        eng.apply_config(engine_config(server, server, home_secret=FR_SECRET,
                                       lns_secret=FR_SECRET, lns_acct=("127.0.0.1", acct_port)))
        r = Running(eng, None, labfile)

        res = await eng.ping("home", DST, count=3, timeout=10)
        assert res.received == 3
        s = r.session(DST)
        assert str(s.state) == "inService" and s.tunnel_endpoint == lacs[0]
        assert r.access_routes() == ["10.10.1.0/24"]       # FreeRADIUS's Framed-Route
        c = r.chassis_counters()
        assert (c.auth_grants, c.dialouts_requested, c.dialouts_established) == (1, 1, 1)
        [srv] = dict(r.snap().radius)["home"]
        assert srv.accepts == 1

        assert eng.clear_tunnels() == 1                     # StopCCN to the lab LAC
        await r.wait_state(DST, "dormant")
        assert r.access_routes() == []
        # let the StopCCN be acknowledged and the accounting stop be answered
        await wait_for(lambda: all(x.accounting_responses >= 2 for x in dict(
            r.snap().radius)["lns"] if x.kind == "acct"), 10)
    finally:
        await eng.stop()
        file_settled(pcap)
        cap.stop()
        peers.stop()
        fr.stop()

    decode = ["-d", f"udp.port=={auth_port},radius", "-d", f"udp.port=={acct_port},radius",
              "-d", "udp.port==1701,l2tp"]
    v = validate(pcap, FR_SECRET, decode[1::2])
    assert v.ok, v.report(pcap)
    # the capture really holds the whole exchange
    assert _tshark_count(pcap, "radius.code == 2", decode) == 2           # Access-Accept x2
    assert _tshark_count(pcap, "radius.code == 5", decode) == 2           # Acct start + stop
    for msg_type in (1, 2, 3, 7, 8, 9, 4):       # SCCRQ SCCRP SCCCN OCRQ OCRP OCCN StopCCN
        assert _tshark_count(pcap, f"l2tp.avp.message_type == {msg_type}", decode) >= 1, \
            msg_type
    assert _tshark_count(pcap, "chap.code == 3", decode) == 2              # CHAP Success x2
    assert _tshark_count(pcap, "lcp && ppp.code == 2", decode) == 2        # LCP Ack both ways
    assert _tshark_count(pcap, "ipcp && ppp.code == 2", decode) == 2       # IPCP Ack both ways
    assert _tshark_count(pcap, "icmp.type == 0", decode) == 3              # echo replies
