"""The wire validator finds what it must: malformed packets, wrong RADIUS authenticators,
empty or unreadable captures; and passes a clean one."""
from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.interop import RADIUS_SECRET, VALIDATE_PCAP
from tests.interop.validate_pcap import validate

pytestmark = pytest.mark.tools("tshark")


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(payload: bytes, sport: int, dport: int) -> bytes:
    """Ethernet + IPv4 + UDP (checksum 0: none) from 127.0.0.1 to 127.0.0.1."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x00" * 12 + b"\x08\x00" + ip + udp


def write_pcap(path: Path, frames: list[bytes]) -> Path:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]     # LINKTYPE_ETHERNET
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
    return path


def radius(code: int, ident: int, authenticator: bytes, attrs: bytes = b"") -> bytes:
    return struct.pack("!BBH", code, ident, 20 + len(attrs)) + authenticator + attrs


def exchange(secret: str, *, corrupt: bool = False) -> list[bytes]:
    req_auth = bytes(range(16))
    attrs = b"\x01\x07cpe-1"                                              # User-Name
    request = radius(1, 7, req_auth, attrs)
    reply_attrs = b"\x06\x06\x00\x00\x00\x02"                             # Service-Type
    unsigned = radius(2, 7, req_auth, reply_attrs)
    resp_auth = hashlib.md5(unsigned + secret.encode()).digest()
    if corrupt:
        resp_auth = bytes([resp_auth[0] ^ 0xFF]) + resp_auth[1:]
    reply = radius(2, 7, resp_auth, reply_attrs)
    return [frame(request, 40000, 18120), frame(reply, 18120, 40000)]


def test_clean_radius_exchange_passes(tmp_path):
    v = validate(write_pcap(tmp_path / "ok.pcap", exchange(RADIUS_SECRET)))
    assert v.ok and v.packets == 2, v.findings
    assert v.report("x").startswith("OK")


def test_wrong_response_authenticator_is_reported(tmp_path):
    pcap = write_pcap(tmp_path / "bad.pcap", exchange(RADIUS_SECRET, corrupt=True))
    v = validate(pcap)
    assert not v.ok and len(v.findings) == 1 and v.findings[0].startswith("2|"), v.findings
    # the same capture checked with the secret it was signed with under another name
    assert validate(write_pcap(tmp_path / "s.pcap", exchange("other")), "other").ok


def test_malformed_l2tp_is_reported_on_a_decode_as_port(tmp_path):
    # a control message (T, L bits) whose Length says 40 octets but carries 12
    truncated = struct.pack("!HHHHHH", 0xC802, 40, 0, 0, 0, 0)
    pcap = write_pcap(tmp_path / "l2tp.pcap", [frame(truncated, 40001, 41701)])
    assert validate(pcap).ok                    # not decoded as L2TP: nothing to say
    v = validate(pcap, decode_as=["udp.port==41701,l2tp"])
    assert not v.ok and v.findings[0].startswith("1|"), v.findings


def test_empty_and_unreadable_captures_fail(tmp_path):
    empty = validate(write_pcap(tmp_path / "empty.pcap", []))
    assert not empty.ok and "no packet" in empty.findings[0]
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture")
    bad = validate(junk)
    assert not bad.ok and "cannot read" in bad.findings[0]


def test_command_line(tmp_path):
    good = write_pcap(tmp_path / "ok.pcap", exchange("s3cret"))
    run = [sys.executable, str(VALIDATE_PCAP)]
    r = subprocess.run([*run, str(good), "s3cret"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
    r = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stdout.startswith("2|"), r.stdout + r.stderr
