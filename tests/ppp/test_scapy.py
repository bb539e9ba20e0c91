"""An independent decoder (scapy) reads our LCP, PAP, CHAP and IPCP frames the same way."""
import pytest
import scapy.layers.ppp as ppp

from engine.ppp import frames as F
from engine.ppp.chap import parse_value
from engine.ppp.pap import parse_request
from tests.present import present

from .test_link import CPE, LNS, run_pair


def frames_of(pap: bool):
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("pap",) if pap else ("chap",),
                            dns=("10.0.0.53",)),
                       dict(CPE, request_dns=True, mru=1400, pfc=True, acfc=True))
    a.close("bye", now=w.now)
    w.run(w.now + 20)
    return w.a.sent + w.b.sent


@pytest.mark.parametrize("pap", [True, False], ids=["pap", "chap"])
def test_scapy_decodes_our_frames(pap):
    seen = set()
    for f in frames_of(pap):
        pkt = ppp.HDLC(f)
        assert pkt.address == 0xFF and pkt.control == 0x03
        proto, info = present(F.split_frame(f))
        assert pkt[ppp.PPP].proto == proto
        code, ident, data = present(F.parse_packet(info))
        layer = pkt[ppp.PPP].payload
        assert layer.code == code and layer.id == ident and layer.len == len(data) + 4
        assert not pkt.haslayer("Raw") or proto == F.PROTO_CHAP and code in (3, 4), pkt
        if proto in (F.PROTO_LCP, F.PROTO_IPCP) and code in (1, 2, 3, 4):
            ours = present(F.parse_options(data))
            theirs = [(o.type, o.len) for o in layer.options]
            assert theirs == [(t, len(v) + 2) for t, v in ours]
            for o, (t, v) in zip(layer.options, ours, strict=False):
                if proto == F.PROTO_LCP and t == 5:
                    assert o.magic_number == int.from_bytes(v, "big")
                if proto == F.PROTO_LCP and t == 1:
                    assert o.max_recv_unit == int.from_bytes(v, "big")
                if proto == F.PROTO_LCP and t == 3:
                    assert o.auth_protocol == int.from_bytes(v[:2], "big")
                if proto == F.PROTO_IPCP and t in (3, 129, 131):
                    assert o.data == ".".join(str(x) for x in v)
        if proto == F.PROTO_PAP and code == 1:
            user, pw = present(parse_request(data))
            assert (layer.username, layer.password) == (user, pw)
        if proto == F.PROTO_CHAP and code in (1, 2):
            value, name = present(parse_value(data))
            assert layer.value == value and layer.optional_name == name
        if proto == F.PROTO_LCP and code in (5, 6):
            assert layer.code == code
        seen.add((proto, code))
    assert {(F.PROTO_LCP, 1), (F.PROTO_LCP, 2), (F.PROTO_IPCP, 1), (F.PROTO_IPCP, 2),
            (F.PROTO_IPCP, 3), (F.PROTO_LCP, 5), (F.PROTO_LCP, 6)} <= seen
    if pap:
        assert (F.PROTO_PAP, 1) in seen and (F.PROTO_PAP, 2) in seen
    else:
        assert (F.PROTO_CHAP, 1) in seen and (F.PROTO_CHAP, 2) in seen
        assert (F.PROTO_CHAP, 3) in seen
