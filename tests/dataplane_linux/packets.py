"""Tiny IPv4/ICMP/UDP packet builders for the dataplane tests and benchmark."""
from __future__ import annotations

import ipaddress
import struct


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src, dst, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, ttl, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def udp(src, dst, sport: int, dport: int, data: bytes) -> bytes:
    # UDP checksum 0 = none (allowed for IPv4)
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)


def icmp_echo(src, dst, ident: int, seq: int, data: bytes = b"jcli", *, reply=False) -> bytes:
    body = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + data
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return ipv4(src, dst, 1, body)


def echo_reply_for(request: bytes) -> bytes | None:
    """The ICMP echo reply answering an IPv4 echo request, or None if it is not one."""
    ihl = (request[0] & 0x0F) * 4
    if request[9] != 1 or request[ihl] != 8:
        return None
    src, dst = request[12:16], request[16:20]
    body = bytearray(request[ihl:])
    body[0] = 0
    body[2:4] = b"\0\0"
    body[2:4] = struct.pack("!H", checksum(bytes(body)))
    return ipv4(ipaddress.IPv4Address(dst), ipaddress.IPv4Address(src), 1, bytes(body))


def dst_of(packet: bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(packet[16:20])


def src_of(packet: bytes) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(packet[12:16])
