"""Malformed input never raises out of the client, the codec or the lab server."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.aaa import codec
from engine.aaa.client import RadiusClient, RadiusServer, pap_request
from engine.aaa.types import MalformedPacket
from engine.lab.radius_server import RadiusServerCore, RadiusSpec

SPEC = RadiusSpec.from_toml({"name": "f", "listen": "127.0.0.1:0", "secret": "s",
                             "users": {"u": {"password": "p"}}})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_attributes_only_raises_malformed(data):
    try:
        codec.decode_attributes(data, secret=b"s", authenticator=bytes(16))
    except MalformedPacket:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_client_survives_authenticated_garbage(attrs):
    # a Message-Authenticator is not required here, so that the attributes are decoded
    c = RadiusClient([RadiusServer("127.0.0.1", 1812, b"s", require_message_authenticator=False)],
                     rng=random.Random(1))
    c.request(pap_request("u", "p"), now=0.0)
    [(data, addr)] = c.datagrams_to_send(now=0.0)
    reply = codec.build_response(2, data[1], data[4:20], attrs, b"s")
    c.receive_datagram(reply, addr, now=0.1)
    ev = c.next_event()
    st_ = c.snapshot()[0]
    assert (ev is not None) or st_.malformed == 1 or st_.bad_authenticators == 1
    c.receive_datagram(attrs, addr, now=0.2)   # raw garbage too


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([1, 4, 2, 99]))
def test_lab_server_survives_garbage(body, code):
    core = RadiusServerCore(SPEC, rng=random.Random(2))
    core.handle(body)
    hdr = bytes([code, 1]) + (20 + len(body)).to_bytes(2, "big") + bytes(16)
    core.handle(hdr + body)
