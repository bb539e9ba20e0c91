"""Dial-in against independent peers: FreeRADIUS 3 authorises the subscribers (CHAP;
Framed-IP-Address, Framed-Route) and takes their accounting, the lab LAC and subscribers run in
a child process, and a tcpdump capture of every RADIUS and L2TP packet passes
tests/interop/validate_pcap.py (tshark)."""
from __future__ import annotations

import ipaddress
import subprocess

import pytest

from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, VirtualRouterConfig
from engine.aio.engine import Engine
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from tests.dialout_e2e.helpers import free_udp_ports, lac_addresses, wait_for
from tests.dialout_e2e.procs import FR_SECRET, Capture, FreeRadius, LabProcess, freeradius_users
from tests.interop.validate_pcap import validate
from tests.wait import file_settled

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90), pytest.mark.tools("freeradius"),
              pytest.mark.capture]


def _tshark_count(pcap, display_filter: str, decode: list[str]) -> int:
    out = subprocess.run(["tshark", "-r", str(pcap), "-n", *decode, "-Y", display_filter],
                         capture_output=True, text=True, timeout=60)
    return len([line for line in out.stdout.splitlines() if line.strip()])


async def test_dialin_with_freeradius_separate_lab_and_capture(tmp_path) -> None:
    lac = lac_addresses(1)[0]
    auth_port, acct_port = free_udp_ports(2)
    users = {"alice@isp.example": ('Cleartext-Password := "alice-pass"',
                                   {"Service-Type": "Framed-User", "Framed-Protocol": "PPP",
                                    "Framed-IP-Address": "10.77.0.5",
                                    "Framed-Route": "10.88.0.0/24 0.0.0.0 1"}),
             "bob@isp.example": ('Cleartext-Password := "bob-pass"',
                                 {"Service-Type": "Framed-User", "Framed-Protocol": "PPP"})}
    rad = (RadiusServerConfig("127.0.0.1", auth_port, FR_SECRET),)
    acct = (RadiusServerConfig("127.0.0.1", acct_port, FR_SECRET),)
    cfg = EngineConfig(vrs=(VirtualRouterConfig(
        "default", loopbacks=((0, ipaddress.IPv4Interface("10.0.0.1/32")),),
        radius_auth=rad, radius_acct=acct,
        profiles=(ProfileConfig("dialin", ppp_authentication=("chap",), ppp_keepalive=0,
                                ip_unnumbered_loopback=0, ip_address_pool="subs"),),
        local_pools=(("subs", ipaddress.IPv4Address("10.70.0.1"),
                      ipaddress.IPv4Address("10.70.0.9")),)),),
        l2tp_acceptance=AcceptancePolicy((PeerPolicy("lac", lac, "default", (
            HostPolicy("lac1", secret=b"tunnel-secret", profile="dialin"),)),)))
    pcap = tmp_path / "dialin.pcap"
    fr = FreeRadius(tmp_path / "fr", freeradius_users(users), auth_port, acct_port)
    cap = Capture(pcap, f"udp and (port {auth_port} or port {acct_port} or "
                        f"(host {lac} and port 1701))")
    eng = Engine(output=lambda line: None, l2tp_bind=("127.0.0.1", 0))
    peers: LabProcess | None = None
    try:
        fr.start()
        cap.start()
        await eng.start()
        eng.apply_config(cfg)
        host, port = eng.l2tp_local_addr
        labfile = tmp_path / "peers.toml"
        labfile.write_text(
            f'[[lac]]\nname = "lac1"\nlisten = "{lac}:1701"\nhost-name = "lac1"\n'
            f'secret = "tunnel-secret"\n\n'
            f'[[subscriber]]\nuser = "alice@isp.example"\npassword = "alice-pass"\n'
            f'lac = "lac1"\nauth = "chap"\nlns = "{host}:{port}"\n\n'
            f'[[subscriber]]\nuser = "bob@isp.example"\npassword = "bob-pass"\n'
            f'lac = "lac1"\nauth = "chap"\nlns = "{host}:{port}"\n')
        peers = LabProcess(labfile).start()
        assert "subscribers 2" in peers.ready_line

        def up() -> dict[str, str | None]:
            return {s.user: s.address for s in eng.snapshot().subscribers if s.state == "up"}
        await wait_for(lambda: len(up()) == 2, 20)
        assert up() == {"alice@isp.example": "10.77.0.5", "bob@isp.example": "10.70.0.1"}
        routes = {str(r.prefix) for r in dict(eng.snapshot().routes)["default"]}
        assert {"10.77.0.5/32", "10.88.0.0/24", "10.70.0.1/32"} <= routes
        for addr in ("10.77.0.5", "10.70.0.1"):
            res = await eng.ping("default", addr, count=2, timeout=5)
            assert res.received == 2, addr
        assert eng.clear_tunnels() == 1
        await wait_for(lambda: not eng.snapshot().subscribers, 10)
        await wait_for(lambda: all(x.accounting_responses >= 4 for x in dict(
            eng.snapshot().radius)["default"] if x.kind == "acct"), 10)
    finally:
        await eng.stop()
        file_settled(pcap)
        cap.stop()
        if peers is not None:
            peers.stop()
        fr.stop()

    decode = ["-d", f"udp.port=={auth_port},radius", "-d", f"udp.port=={acct_port},radius",
              "-d", "udp.port==1701,l2tp"]
    v = validate(pcap, FR_SECRET, decode[1::2])
    assert v.ok, v.report(pcap)
    assert _tshark_count(pcap, "radius.code == 2", decode) == 2            # Access-Accept x2
    assert _tshark_count(pcap, "radius.code == 5", decode) == 4            # 2 Starts, 2 Stops
    for msg_type in (1, 2, 3, 10, 11, 12, 4):    # SCCRQ SCCRP SCCCN ICRQ ICRP ICCN StopCCN
        assert _tshark_count(pcap, f"l2tp.avp.message_type == {msg_type}", decode) >= 1, \
            msg_type
    assert _tshark_count(pcap, "chap.code == 3", decode) == 2               # CHAP Success x2
    assert _tshark_count(pcap, "ipcp && ppp.code == 3", decode) >= 2        # IPCP Nak: address
    assert _tshark_count(pcap, "icmp.type == 0", decode) == 4               # echo replies
