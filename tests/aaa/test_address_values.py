"""Address attributes (RFC 2865 type ``ipaddr``): encoded from an address object or a strict
dotted quad, refused otherwise with the reason; decoded to the dotted quad."""
from __future__ import annotations

import ipaddress

import pytest

from engine.aaa import codec


@pytest.mark.parametrize("value", ["10.1.2.3", ipaddress.IPv4Address("10.1.2.3"), 0x0A010203])
def test_address_forms_encode_alike(value):
    assert codec.encode_attribute("Framed-IP-Address", value) == bytes((8, 6, 10, 1, 2, 3))


@pytest.mark.parametrize("bad", ["010.1.2.3", "10.1.2", "10.1.2.3 ", " 10.1.2.3", "10.1.2.256",
                                 "0x0a.1.2.3", "10.1.2.3\x00", "10.1.2.3.4", "１0.1.2.3", ""])
def test_loose_forms_are_refused_with_the_reason(bad):
    with pytest.raises(ipaddress.AddressValueError):
        codec.encode_attribute("Framed-IP-Address", bad)


def test_decoded_as_dotted_quad_and_length_checked():
    assert codec.decode_attributes(bytes((8, 6, 192, 0, 2, 9))) == \
        [("Framed-IP-Address", 0, "192.0.2.9")]
    with pytest.raises(codec.MalformedPacket):
        codec.decode_attributes(bytes((8, 5, 192, 0, 2)))
