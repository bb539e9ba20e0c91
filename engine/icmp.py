"""Small IPv4 / ICMP echo helpers (RFC 791, RFC 792), shared by the lab CPE and ``ping``.

Addresses are dotted-quad strings.  Parsers are bounded and return ``None`` on anything
malformed or not what was asked for; nothing raises on wire data.

* ``checksum(data) -> int``                      Internet checksum (RFC 1071)
* ``build_ipv4(src, dst, proto, payload, *, ttl=64, ident=0) -> bytes``
* ``parse_ipv4(packet) -> Ipv4 | None``           header fields + payload (checksum verified)
* ``build_echo_request(src, dst, ident, seq, payload=b"", *, ttl=64) -> bytes``
* ``build_echo_reply(src, dst, ident, seq, payload=b"", *, ttl=64) -> bytes``
* ``parse_echo(packet) -> IcmpEcho | None``       an IPv4 ICMP echo request or reply
* ``echo_reply_for(packet, *, addresses=None) -> bytes | None``
                                                   reply to an echo request (for one of
                                                   ``addresses`` when given)
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

PROTO_ICMP = 1
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8


@dataclass(frozen=True, slots=True)
class Ipv4:
    src: str
    dst: str
    proto: int
    ttl: int
    ident: int
    header_len: int
    total_len: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class IcmpEcho:
    src: str
    dst: str
    type: int            # 8 request, 0 reply
    ident: int
    seq: int
    payload: bytes
    ttl: int


def checksum(data: bytes) -> int:
    if len(data) & 1:
        data = data + b"\x00"
    s = sum(memoryview(data).cast("H"))
    # the sum above is in host order; fold then convert to network order
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    return socket.ntohs(s)


def build_ipv4(src: str, dst: str, proto: int, payload: bytes, *, ttl: int = 64,
               ident: int = 0) -> bytes:
    total = 20 + len(payload)
    hdr = bytearray(b"\x45\x00" + total.to_bytes(2, "big") + (ident & 0xFFFF).to_bytes(2, "big")
                    + b"\x00\x00" + bytes((ttl & 0xFF, proto & 0xFF)) + b"\x00\x00"
                    + socket.inet_aton(src) + socket.inet_aton(dst))
    hdr[10:12] = checksum(bytes(hdr)).to_bytes(2, "big")
    return bytes(hdr) + payload


def parse_ipv4(packet: bytes) -> Ipv4 | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = int.from_bytes(packet[2:4], "big")
    if ihl < 20 or total < ihl or total > len(packet):
        return None
    if checksum(packet[:ihl]) != 0:
        return None
    return Ipv4(socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20]), packet[9],
                packet[8], int.from_bytes(packet[4:6], "big"), ihl, total, packet[ihl:total])


def _icmp_echo(type_: int, ident: int, seq: int, payload: bytes) -> bytes:
    msg = bytearray(bytes((type_, 0, 0, 0)) + (ident & 0xFFFF).to_bytes(2, "big")
                    + (seq & 0xFFFF).to_bytes(2, "big") + payload)
    msg[2:4] = checksum(bytes(msg)).to_bytes(2, "big")
    return bytes(msg)


def build_echo_request(src: str, dst: str, ident: int, seq: int, payload: bytes = b"", *,
                       ttl: int = 64) -> bytes:
    return build_ipv4(src, dst, PROTO_ICMP, _icmp_echo(ICMP_ECHO_REQUEST, ident, seq, payload),
                      ttl=ttl, ident=seq)


def build_echo_reply(src: str, dst: str, ident: int, seq: int, payload: bytes = b"", *,
                     ttl: int = 64) -> bytes:
    return build_ipv4(src, dst, PROTO_ICMP, _icmp_echo(ICMP_ECHO_REPLY, ident, seq, payload),
                      ttl=ttl, ident=seq)


def parse_echo(packet: bytes) -> IcmpEcho | None:
    ip = parse_ipv4(packet)
    if ip is None or ip.proto != PROTO_ICMP:
        return None
    m = ip.payload
    if len(m) < 8 or m[0] not in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY) or m[1] != 0:
        return None
    if checksum(m) != 0:
        return None
    return IcmpEcho(ip.src, ip.dst, m[0], int.from_bytes(m[4:6], "big"),
                    int.from_bytes(m[6:8], "big"), m[8:], ip.ttl)


def echo_reply_for(packet: bytes, *, addresses=None) -> bytes | None:
    e = parse_echo(packet)
    if e is None or e.type != ICMP_ECHO_REQUEST:
        return None
    if addresses is not None and e.dst not in addresses:
        return None
    return build_echo_reply(e.dst, e.src, e.ident, e.seq, e.payload)
