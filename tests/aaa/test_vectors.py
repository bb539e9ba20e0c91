"""Hand-computed vectors: Tunnel-Password salt encryption, tags, vendor attributes,
User-Password hiding, Response Authenticator, Message-Authenticator."""

import hashlib
import hmac
import random
import struct

import pytest

from engine.aaa import codec
from engine.aaa.client import RadiusClient, RadiusReply, RadiusServer, dialout_request, pap_request
from engine.aaa.tunnel_attrs import salt_decrypt, salt_encrypt
from engine.aaa.types import MalformedPacket

SECRET = b"testing123"
REQ_AUTH = bytes(range(16))


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b, strict=False))


def hand_salt_encrypt(plain: bytes, salt: bytes) -> bytes:
    """RFC 2868 §3.5 written out: P = len || plain || zero padding; b1 = MD5(S+R+A),
    c1 = p1 xor b1; bi = MD5(S + c(i-1))."""
    p = bytes([len(plain)]) + plain
    p += b"\x00" * (-len(p) % 16)
    blocks = [p[i:i + 16] for i in range(0, len(p), 16)]
    c1 = xor(blocks[0], hashlib.md5(SECRET + REQ_AUTH + salt).digest())
    out = [c1]
    for blk in blocks[1:]:
        out.append(xor(blk, hashlib.md5(SECRET + out[-1]).digest()))
    return salt + b"".join(out)


@pytest.mark.parametrize("plain", [b"tunnelsecret", b"a-much-longer-tunnel-secret-value-x"])
def test_tunnel_password_salt_decryption_hand_vector(plain):
    salt = b"\x81\x23"
    enc = hand_salt_encrypt(plain, salt)
    assert salt_decrypt(enc, SECRET, REQ_AUTH) == plain
    # the same through the attribute decoder: type 69, tag 2
    raw = bytes([69, 2 + 1 + len(enc), 2]) + enc
    [(name, tag, value)] = codec.decode_attributes(raw, secret=SECRET, authenticator=REQ_AUTH)
    assert (name, tag, value) == ("Tunnel-Password", 2, plain)


def test_salt_encrypt_matches_hand_computation():
    class FixedRng:
        def __init__(self):
            self.vals = iter([0x01, 0x23])

        def randrange(self, n):
            return next(self.vals)

    enc = salt_encrypt(b"secret-one", SECRET, REQ_AUTH, FixedRng())
    assert enc[:2] == b"\x81\x23"  # most significant bit of the salt set
    assert enc == hand_salt_encrypt(b"secret-one", b"\x81\x23")


def test_salt_decrypt_rejects_bad_length():
    with pytest.raises(MalformedPacket):
        salt_decrypt(b"\x80\x01" + b"x" * 15, SECRET, REQ_AUTH)


def test_wrong_secret_does_not_reveal_tunnel_password():
    enc = hand_salt_encrypt(b"tunnelsecret", b"\x80\x01")
    try:
        assert salt_decrypt(enc, b"other", REQ_AUTH) != b"tunnelsecret"
    except MalformedPacket:
        pass


def test_tagged_attribute_encoding():
    # integer: the tag replaces the high octet of the value (RFC 2868 §3.1)
    assert codec.encode_attribute("Tunnel-Type:2", "L2TP") == bytes([64, 6, 2, 0, 0, 3])
    assert codec.encode_attribute("Tunnel-Medium-Type:1", "IPv4") == bytes([65, 6, 1, 0, 0, 1])
    assert codec.encode_attribute("Tunnel-Preference:3", 7) == bytes([83, 6, 3, 0, 0, 7])
    # string: a tag octet precedes the value
    assert codec.encode_attribute("Tunnel-Server-Endpoint:1", "127.0.0.2") == \
        bytes([67, 12, 1]) + b"127.0.0.2"
    # untagged string starting with a printable octet stays as is
    assert codec.encode_attribute("Tunnel-Assignment-Id", "lac1") == bytes([82, 6]) + b"lac1"
    raw = (bytes([64, 6, 2, 0, 0, 3]) + bytes([67, 12, 1]) + b"127.0.0.2"
           + bytes([82, 6]) + b"lac1" + bytes([83, 6, 0x1F, 0, 0, 9]))
    d = codec.attributes_dict(codec.decode_attributes(raw))
    assert d == {"Tunnel-Type:2": (3,), "Tunnel-Server-Endpoint:1": ("127.0.0.2",),
                 "Tunnel-Assignment-Id": ("lac1",), "Tunnel-Preference:31": (9,)}


def test_tag_out_of_range():
    with pytest.raises(ValueError):
        codec.encode_attribute("Tunnel-Type:32", 3)


def test_vendor_attribute_encoding():
    raw = codec.encode_attribute("ERX-Dial-Out-Number", "5551001")
    assert raw == bytes([26, 6 + 2 + 7]) + struct.pack("!I", 4874) + bytes([35, 9]) + b"5551001"
    assert codec.encode_attribute("ERX-PPP-Auth-Protocol", "CHAP-PAP")[-4:] == b"\x00\x00\x00\x04"
    d = codec.attributes_dict(codec.decode_attributes(raw))
    assert d == {"ERX-Dial-Out-Number": ("5551001",)}


def test_malformed_attribute_lengths():
    for raw in (bytes([1, 1]), bytes([1, 10, 65]), bytes([1])):
        with pytest.raises(MalformedPacket):
            codec.decode_attributes(raw)


def test_user_password_hiding_hand_vector():
    pw = b"cpe-pass"
    c1 = xor(pw + b"\x00" * 8, hashlib.md5(SECRET + REQ_AUTH).digest())
    assert codec.hide_password(pw, SECRET, REQ_AUTH) == c1
    assert codec.reveal_password(c1, SECRET, REQ_AUTH) == pw
    long_pw = b"x" * 20
    h = codec.hide_password(long_pw, SECRET, REQ_AUTH)
    p = long_pw + b"\x00" * 12
    c1 = xor(p[:16], hashlib.md5(SECRET + REQ_AUTH).digest())
    c2 = xor(p[16:], hashlib.md5(SECRET + c1).digest())
    assert h == c1 + c2


def test_response_authenticator_hand_vector():
    attrs = bytes([6, 6, 0, 0, 0, 5])
    header = bytes([2, 42, 0, 26])
    expected = hashlib.md5(header + REQ_AUTH + attrs + SECRET).digest()
    pkt = codec.build_response(2, 42, REQ_AUTH, attrs, SECRET)
    assert pkt == header + expected + attrs
    assert codec.verify_response(pkt, REQ_AUTH, SECRET)
    assert not codec.verify_response(pkt, REQ_AUTH, b"wrong")
    assert not codec.verify_response(pkt, bytes(16), SECRET)
    tampered = pkt[:-1] + b"\x06"
    assert not codec.verify_response(tampered, REQ_AUTH, SECRET)


def test_message_authenticator_hand_vector_on_request():
    c = RadiusClient([RadiusServer("127.0.0.1", 1812, SECRET)], rng=random.Random(7))
    c.request(dialout_request("10.10.1.1@L2TP-dial-out.de.dt"), now=0.0)
    [(data, addr)] = c.datagrams_to_send(now=0.0)
    assert addr == ("127.0.0.1", 1812)
    assert data[0] == 1 and struct.unpack("!H", data[2:4])[0] == len(data)
    attrs = data[20:]
    assert attrs[0] == 80 and attrs[1] == 18      # first attribute
    mac = attrs[2:18]
    zeroed = data[:22] + b"\x00" * 16 + data[38:]
    assert hmac.new(SECRET, zeroed, hashlib.md5).digest() == mac
    assert codec.verify_request_message_authenticator(data, SECRET) is True
    assert codec.verify_request_message_authenticator(data, b"nope") is False


def test_message_authenticator_on_reply_is_verified():
    attrs = bytes([6, 6, 0, 0, 0, 5])
    pkt = codec.build_response(2, 9, REQ_AUTH, attrs, SECRET, with_message_authenticator=True)
    # hand check: HMAC-MD5 over the reply with the Request Authenticator in place
    body = pkt[20:]
    assert body[0] == 80
    zeroed = pkt[:4] + REQ_AUTH + bytes([80, 18]) + b"\x00" * 16 + body[18:]
    assert hmac.new(SECRET, zeroed, hashlib.md5).digest() == body[2:18]
    assert codec.verify_response(pkt, REQ_AUTH, SECRET)
    # a wrong MA with a correct response authenticator is still refused
    bad_attrs = bytes([80, 18]) + b"\x11" * 16 + attrs
    bad = codec.build_response(2, 9, REQ_AUTH, bad_attrs, SECRET)
    assert not codec.verify_response(bad, REQ_AUTH, SECRET)


def _reply_for(data, secret, code=2, attrs=b"", ma=True):
    return codec.build_response(code, data[1], data[4:20], attrs, secret,
                                with_message_authenticator=ma)


def test_client_drops_spoofed_and_wrong_secret_replies():
    srv = RadiusServer("127.0.0.1", 1812, SECRET)
    c = RadiusClient([srv], rng=random.Random(3))
    rid = c.request(pap_request("u", "cleartext-pw"), now=0.0)
    [(data, addr)] = c.datagrams_to_send(now=0.0)
    # the request hides the password (never in clear)
    assert b"cleartext-pw" not in data
    c.receive_datagram(_reply_for(data, b"wrong-secret"), addr, now=0.1)
    c.receive_datagram(_reply_for(data, SECRET), ("127.0.0.9", 1812), now=0.1)  # spoofed source
    c.receive_datagram(b"\x02\x00\x00", addr, now=0.1)                        # garbage
    c.receive_datagram(_reply_for(data, SECRET)[:-3] + b"\x00" * 3, addr, now=0.1)
    assert c.next_event() is None
    st = c.snapshot()[0]
    assert st.bad_authenticators == 2 and st.malformed == 1
    assert c.counters["unknown_source"] == 1
    c.receive_datagram(_reply_for(data, SECRET), addr, now=0.2)
    ev = c.next_event()
    assert isinstance(ev, RadiusReply) and ev.request_id == rid and ev.code == "accept"
    assert c.snapshot()[0].accepts == 1
    # a duplicate after completion is counted, not delivered
    c.receive_datagram(_reply_for(data, SECRET), addr, now=0.3)
    assert c.next_event() is None and c.snapshot()[0].unknown_responses == 1


def test_secret_not_in_repr():
    srv = RadiusServer("127.0.0.1", 1812, b"very-secret")
    assert "very-secret" not in repr(srv)


def test_secrets_and_passwords_never_logged(caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    p = RadiusServer("127.0.0.1", 1812, b"TopSecretKey", timeout=1.0, retransmit=0,
                     deadtime_s=5)
    c = RadiusClient([p], rng=random.Random(9))
    c.request(pap_request("u", "UserPassw0rd"), now=0.0)
    [(data, addr)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(_reply_for(data, b"other"), addr, now=0.1)
    c.receive_datagram(b"junk", addr, now=0.1)
    c.handle_timer(now=1.0)
    assert c.next_event() is not None
    text = caplog.text + repr(c.snapshot()) + repr(p)
    assert "TopSecretKey" not in text and "UserPassw0rd" not in text
    assert "failed authenticator check" in caplog.text and "marked dead" in caplog.text
