"""Cross-check the project's straight-line codec against pyrad's own Packet codec
(same dictionary file): what we encode pyrad decodes and vice versa."""

import random

from pyrad.dictionary import Dictionary
from pyrad.packet import AuthPacket

from engine.aaa import codec
from engine.aaa.client import RadiusClient, RadiusServer, chap_request, pap_request

DICT = Dictionary(codec.DICTIONARY_PATH)
SECRET = b"xsecret"


def test_pyrad_decodes_our_request():
    c = RadiusClient([RadiusServer("127.0.0.1", 1812, SECRET)], rng=random.Random(5),
                     nas_ip="192.0.2.7")
    c.request(pap_request("cpe1", "cpe1-pass", called_station_id="5551001"), now=0.0)
    [(data, _)] = c.datagrams_to_send(now=0.0)
    pkt = AuthPacket(packet=data, dict=DICT, secret=SECRET)
    assert pkt["User-Name"] == ["cpe1"]
    assert pkt.PwDecrypt(pkt[2][0]) == "cpe1-pass"
    assert pkt["Service-Type"] == ["Framed-User"]
    assert pkt["NAS-IP-Address"] == ["192.0.2.7"]
    assert pkt["Called-Station-Id"] == ["5551001"]
    assert pkt.verify_message_authenticator()
    c.request(chap_request("cpe1", 3, b"c" * 16, b"r" * 16), now=0.0)
    [(data, _)] = c.datagrams_to_send(now=0.0)
    pkt = AuthPacket(packet=data, dict=DICT, secret=SECRET)
    assert pkt["CHAP-Password"] == [b"\x03" + b"r" * 16]
    assert pkt["CHAP-Challenge"] == [b"c" * 16]


def test_we_decode_pyrad_reply_with_tags_vendor_and_salt():
    req = AuthPacket(dict=DICT, secret=SECRET, id=7, authenticator=bytes(range(16)))
    reply = req.CreateReply()
    reply.code = 2
    reply.AddAttribute("Service-Type", "Outbound-User")
    reply.AddAttribute("Tunnel-Type:1", "L2TP")
    reply.AddAttribute("Tunnel-Server-Endpoint:1", "127.0.0.2")
    reply.AddAttribute("Tunnel-Password:1", "pw-one")
    reply.AddAttribute("Tunnel-Type:2", "L2TP")
    reply.AddAttribute("Tunnel-Preference:2", 4)
    reply.AddAttribute("Tunnel-Password:2", "the-second-password-is-long")
    reply.AddAttribute("ERX-Dial-Out-Number", "5551001")
    reply.AddAttribute("ERX-PPP-Auth-Protocol", "PAP-CHAP")
    raw = reply.ReplyPacket()
    assert codec.verify_response(raw, bytes(range(16)), SECRET)
    d = codec.attributes_dict(codec.decode_attributes(raw[20:], secret=SECRET,
                                                      authenticator=bytes(range(16))))
    assert d["Service-Type"] == (5,)
    assert d["Tunnel-Type:1"] == (3,) and d["Tunnel-Type:2"] == (3,)
    assert d["Tunnel-Server-Endpoint:1"] == ("127.0.0.2",)
    assert d["Tunnel-Password:1"] == (b"pw-one",)
    assert d["Tunnel-Password:2"] == (b"the-second-password-is-long",)
    assert d["Tunnel-Preference:2"] == (4,)
    assert d["ERX-Dial-Out-Number"] == ("5551001",) and d["ERX-PPP-Auth-Protocol"] == (3,)


def test_pyrad_decodes_our_reply_attributes():
    auth = bytes(range(16, 32))
    attrs = codec.encode_attributes(
        [("Tunnel-Type:3", "L2TP"), ("Tunnel-Password:3", "pw"),
         ("Tunnel-Client-Auth-Id:3", "lns"), ("ERX-Maximum-BPS", 64000)],
        secret=SECRET, authenticator=auth, rng=random.Random(1))
    raw = codec.build_response(2, 1, auth, attrs, SECRET)
    pkt = AuthPacket(packet=raw, dict=DICT, secret=SECRET)
    pkt.request_authenticator = auth
    assert pkt["Tunnel-Type:3"] == ["L2TP"]
    assert pkt["Tunnel-Password:3"] == ["pw"]
    assert pkt["Tunnel-Client-Auth-Id:3"] == ["lns"]
    assert pkt["ERX-Maximum-BPS"] == [64000]
