"""``debug ppp`` trace lines: one per control packet, options decoded, peer bytes escaped."""
from engine.ppp import frames as F
from engine.ppp.trace import format_control, format_frame

from .harness import pair
from .test_link import CPE, LNS, V_CPE, V_LNS


def test_lcp_configure_request_options():
    data = (b"\x01\x04\x05\x78" + b"\x03\x05\xc2\x23\x05" + b"\x05\x06\x1a\x2b\x3c\x4d"
            + b"\x07\x02\x08\x02" + b"\x13\x03\x00")
    line = format_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, data), "rx")
    assert line == (f"rx LCP ConfReq id=0x01 len={len(data) + 4} <mru 1400> <auth chap md5> "
                    "<magic 0x1a2b3c4d> <pcomp> <accomp> <opt 19 00>")


def test_ipcp_pap_chap_lines():
    ipcp = b"\x03\x06\x0a\x00\x00\x02\x81\x06\x08\x08\x08\x08"
    assert format_control(F.PROTO_IPCP, F.CONF_NAK, 7, ipcp) == \
        "IPCP ConfNak id=0x07 len=16 <addr 10.0.0.2> <ms-dns1 8.8.8.8>"
    assert format_control(F.PROTO_PAP, 1, 3, b"\x03cpe\x06secret") == \
        'PAP AuthReq id=0x03 len=15 <peer-id "cpe"> <password ****>'
    assert format_control(F.PROTO_PAP, 2, 3, b"\x02ok") == 'PAP AuthAck id=0x03 len=7 <"ok">'
    assert format_control(F.PROTO_CHAP, 1, 0x2a, b"\x04abcdlns") == \
        'CHAP Challenge id=0x2a len=12 <value 4 octets> <name "lns">'
    assert format_control(F.PROTO_CHAP, 3, 0x2a, b"Welcome") == \
        'CHAP Success id=0x2a len=11 <"Welcome">'
    assert format_control(F.PROTO_LCP, F.ECHO_REQ, 9, b"\x00\x00\x00\x01") == \
        "LCP EchoReq id=0x09 len=8 <magic 0x00000001>"


def test_peer_bytes_escaped_and_malformed_input_never_raises():
    line = format_control(F.PROTO_LCP, F.TERM_REQ, 1, b"bye\x1b[2J\r\nfake line\\")
    assert "\x1b" not in line and "\n" not in line and "\r" not in line
    assert line.endswith('<"bye\\x1b[2J\\x0d\\x0afake line\\x5c">')
    assert format_control(F.PROTO_CHAP, 2, 1, b"\x09ab") == \
        "CHAP Response id=0x01 len=7 <malformed>"
    assert format_control(F.PROTO_LCP, F.CONF_REQ, 1, b"\x01\x09") .endswith(
        "<malformed options 0109>")
    assert format_frame(b"\xff\x05\xc0\x21", "rx") == "rx malformed frame ff05c021"
    assert format_frame(b"\xff\x03\x00\x21E\x00", "rx") is None          # IPv4 data
    assert format_frame(b"\xff\x03\x80\x57\x01", "rx") == "rx protocol 0x8057 len=1"
    for n in range(12):
        for code in range(12):
            for proto in (F.PROTO_LCP, F.PROTO_IPCP, F.PROTO_PAP, F.PROTO_CHAP):
                format_control(proto, code, 0, bytes(range(n)))


def test_link_tracer_sees_every_control_packet_both_ways():
    lines: dict[str, list[str]] = {"lns": [], "cpe": []}
    a, b, w = pair(LNS, CPE, verifier_a=V_LNS, verifier_b=V_CPE)
    a.tracer = lines["lns"].append
    b.tracer = lines["cpe"].append
    a.open(now=0.0)
    b.open(now=0.0)
    w.run(60.0, stop=lambda: a.network_up and b.network_up)
    assert a.network_up
    ctl = [f for f in w.a.sent if f[2:4] != b"\x00\x21"]
    tx = [x for x in lines["lns"] if x.startswith("tx ")]
    rx = [x for x in lines["cpe"] if x.startswith("rx ")]
    assert len(tx) == len(ctl) and tx == ["tx " + x[3:] for x in rx]
    assert any(x.startswith("tx CHAP Challenge") for x in tx)
    assert any(x.startswith("rx IPCP ConfAck") for x in lines["lns"])
    assert all("pass" not in x for x in lines["lns"] + lines["cpe"])
