"""PPP frame and control-packet codec (RFC 1661 §2, §5; RFC 1662 address/control field).

Frames handed to the link are PPP frames as carried by L2TP: optionally the HDLC-like
address/control field FF 03 (RFC 1662 §3.1; may be absent, RFC 2661 §1 / ACFC), then the
protocol field (2 octets, or 1 octet when Protocol-Field-Compression was negotiated: an odd
first octet), then the information field.

Control packets (LCP, PAP, CHAP, IPCP) are ``code, identifier, length, data``; octets past
``length`` are padding and ignored (RFC 1661 §5).  Options are ``type, length, value`` TLVs
(RFC 1661 §6).  Every decoder is bounded and returns ``None`` on malformed input; nothing here
raises on wire data.
"""
from __future__ import annotations

from collections.abc import Iterable

PROTO_IPV4 = 0x0021
PROTO_IPCP = 0x8021
PROTO_LCP = 0xC021
PROTO_PAP = 0xC023
PROTO_CHAP = 0xC223

PROTOCOL_NAMES = {PROTO_IPV4: "ipv4", PROTO_IPCP: "ipcp", PROTO_LCP: "lcp",
                  PROTO_PAP: "pap", PROTO_CHAP: "chap"}

# LCP/NCP codes (RFC 1661 §5)
CONF_REQ = 1
CONF_ACK = 2
CONF_NAK = 3
CONF_REJ = 4
TERM_REQ = 5
TERM_ACK = 6
CODE_REJ = 7
PROTO_REJ = 8
ECHO_REQ = 9
ECHO_REP = 10
DISCARD_REQ = 11

MAX_OPTIONS = 64          # more options than this in one packet: malformed

ADDR_CTRL = b"\xff\x03"

# Pre-built headers (address/control + protocol) for the frames we send.
_HDR = {p: ADDR_CTRL + p.to_bytes(2, "big") for p in PROTOCOL_NAMES}


def frame_header(protocol: int) -> bytes:
    h = _HDR.get(protocol)
    if h is None:
        h = ADDR_CTRL + protocol.to_bytes(2, "big")
    return h


def build_frame(protocol: int, payload: bytes) -> bytes:
    """A frame with FF 03 and an uncompressed protocol field."""
    return frame_header(protocol) + payload


def build_packet(protocol: int, code: int, ident: int, data: bytes = b"") -> bytes:
    """A whole control-packet frame: FF 03, protocol, code, identifier, length, data."""
    n = 4 + len(data)
    return frame_header(protocol) + bytes((code, ident, n >> 8, n & 0xFF)) + data


def split_frame(frame: bytes, pfc: bool = False) -> tuple[int, bytes] | None:
    """(protocol, information) or None when malformed.

    Address/control FF 03 is accepted with or without.  A one-octet protocol field is
    accepted only when ``pfc`` (Protocol-Field-Compression negotiated towards us).
    """
    n = len(frame)
    i = 0
    if n >= 2 and frame[0] == 0xFF:
        if frame[1] != 0x03:
            return None
        i = 2
    if n - i < 1:
        return None
    b = frame[i]
    if b & 1:
        if not pfc:
            return None
        return b, frame[i + 1:]
    if n - i < 2:
        return None
    proto = (b << 8) | frame[i + 1]
    if not frame[i + 1] & 1:
        return None            # RFC 1661 §2: the least significant octet is odd
    return proto, frame[i + 2:]


def parse_packet(info: bytes) -> tuple[int, int, bytes] | None:
    """(code, identifier, data) of a control packet, or None when malformed."""
    if len(info) < 4:
        return None
    length = (info[2] << 8) | info[3]
    if length < 4 or length > len(info):
        return None
    return info[0], info[1], info[4:length]


def parse_options(data: bytes) -> list[tuple[int, bytes]] | None:
    """TLV options as (type, value) pairs, or None when malformed."""
    out: list[tuple[int, bytes]] = []
    i = 0
    n = len(data)
    while i < n:
        if n - i < 2 or len(out) >= MAX_OPTIONS:
            return None
        t = data[i]
        ln = data[i + 1]
        if ln < 2 or i + ln > n:
            return None
        out.append((t, data[i + 2:i + ln]))
        i += ln
    return out


def build_options(options: Iterable[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes((t, len(v) + 2)) + v for t, v in options)
