"""L2TP header and message codec (RFC 2661 §3.1, §3.2, §4.2)."""
from __future__ import annotations

import struct
from typing import Any, NamedTuple

from . import avp as A
from .avp import Avp, decode_avps, encode_avp
from .errors import ERR_BAD_LENGTH, ERR_BAD_VALUE, ERR_UNKNOWN_MANDATORY_AVP, L2tpProtocolError

# Message types (RFC 2661 §3.2)
SCCRQ = 1
SCCRP = 2
SCCCN = 3
STOPCCN = 4
HELLO = 6
OCRQ = 7
OCRP = 8
OCCN = 9
ICRQ = 10
ICRP = 11
ICCN = 12
CDN = 14
WEN = 15
SLI = 16

MESSAGE_NAMES = {SCCRQ: "SCCRQ", SCCRP: "SCCRP", SCCCN: "SCCCN", STOPCCN: "StopCCN",
                 HELLO: "HELLO", OCRQ: "OCRQ", OCRP: "OCRP", OCCN: "OCCN", ICRQ: "ICRQ",
                 ICRP: "ICRP", ICCN: "ICCN", CDN: "CDN", WEN: "WEN", SLI: "SLI"}
TUNNEL_MESSAGES = frozenset({SCCRQ, SCCRP, SCCCN, STOPCCN, HELLO})
CALL_MESSAGES = frozenset({OCRQ, OCRP, OCCN, ICRQ, ICRP, ICCN, CDN, WEN, SLI})

#: Mandatory AVPs per message type (RFC 2661 §6)
REQUIRED_AVPS: dict[int, tuple[int, ...]] = {
    SCCRQ: (A.PROTOCOL_VERSION, A.HOST_NAME, A.FRAMING_CAPABILITIES, A.ASSIGNED_TUNNEL_ID),
    SCCRP: (A.PROTOCOL_VERSION, A.HOST_NAME, A.FRAMING_CAPABILITIES, A.ASSIGNED_TUNNEL_ID),
    SCCCN: (),
    STOPCCN: (A.ASSIGNED_TUNNEL_ID, A.RESULT_CODE),
    HELLO: (),
    OCRQ: (A.ASSIGNED_SESSION_ID, A.CALL_SERIAL_NUMBER, A.MINIMUM_BPS, A.MAXIMUM_BPS,
           A.BEARER_TYPE, A.FRAMING_TYPE, A.CALLED_NUMBER),
    OCRP: (A.ASSIGNED_SESSION_ID,),
    OCCN: (A.TX_CONNECT_SPEED, A.FRAMING_TYPE),
    ICRQ: (A.ASSIGNED_SESSION_ID, A.CALL_SERIAL_NUMBER),
    ICRP: (A.ASSIGNED_SESSION_ID,),
    ICCN: (A.TX_CONNECT_SPEED, A.FRAMING_TYPE),
    CDN: (A.RESULT_CODE, A.ASSIGNED_SESSION_ID),
    WEN: (A.CALL_ERRORS,),
    SLI: (A.ACCM,),
}

F_T = 0x8000
F_L = 0x4000
F_S = 0x0800
F_O = 0x0200
F_P = 0x0100
VERSION = 2
RESERVED_BITS = 0x34F0  # x bits + reserved bits of the first word

CONTROL_HEADER_LEN = 12
DEFAULT_MAX_MESSAGE_LEN = 4096
DEFAULT_MAX_AVPS = 64


class Header(NamedTuple):
    """The header fields of one received message (an immutable record, built per datagram)."""
    is_control: bool
    tunnel_id: int
    session_id: int
    ns: int | None
    nr: int | None
    length: int | None
    priority: bool
    payload_offset: int     # where AVPs / the PPP frame start
    end: int                # end of the message (length field or datagram end)


class ControlMessage(NamedTuple):
    """One received or built control message (an immutable record, one per message)."""
    msg_type: int           # 0 for a ZLB acknowledgement
    tunnel_id: int
    session_id: int
    ns: int
    nr: int
    avps: tuple[Avp, ...] = ()
    ignored_avps: tuple[Avp, ...] = ()

    @property
    def is_zlb(self) -> bool:
        return self.msg_type == 0

    @property
    def name(self) -> str:
        return "ZLB" if self.msg_type == 0 else MESSAGE_NAMES.get(self.msg_type, f"type-{self.msg_type}")

    def get(self, attr: int, default: Any = None) -> Any:
        for a in self.avps:
            if a.attr == attr and a.vendor == 0:
                return a.value
        return default

    def has(self, attr: int) -> bool:
        return any(a.attr == attr and a.vendor == 0 for a in self.avps)

    def describe(self) -> str:
        return " ".join(a.describe() for a in self.avps if not (a.attr == A.MESSAGE_TYPE and a.vendor == 0))


class DataMessage(NamedTuple):
    """One data message: the PPP frame of a session (an immutable record, one per frame)."""
    tunnel_id: int
    session_id: int
    payload: bytes
    ns: int | None = None
    nr: int | None = None
    priority: bool = False


def decode_header(data: bytes, *, max_len: int = DEFAULT_MAX_MESSAGE_LEN) -> Header:
    n = len(data)
    if n < 6:
        raise L2tpProtocolError("datagram shorter than an L2TP header", error=ERR_BAD_LENGTH)
    flags = (data[0] << 8) | data[1]
    if flags & 0x000F != VERSION:
        raise L2tpProtocolError(f"version {flags & 0xF} not supported", error=ERR_BAD_VALUE)
    is_control = bool(flags & F_T)
    pos = 2
    length = None
    if flags & F_L:
        length = (data[2] << 8) | data[3]
        pos = 4
        if length > n or length < 6:
            raise L2tpProtocolError(f"length field {length} vs datagram {n}", error=ERR_BAD_LENGTH)
    if is_control:
        if (flags & (F_L | F_S)) != (F_L | F_S) or flags & (F_O | F_P):
            raise L2tpProtocolError("control message without L/S bits or with O/P bits", error=ERR_BAD_VALUE)
        if length is None or length < CONTROL_HEADER_LEN:
            raise L2tpProtocolError("control message too short", error=ERR_BAD_LENGTH)
        if length > max_len:
            raise L2tpProtocolError(f"control message of {length} bytes over limit", error=ERR_BAD_LENGTH)
        tid, sid, ns, nr = struct.unpack_from("!HHHH", data, 4)
        return Header(True, tid, sid, ns, nr, length, False, CONTROL_HEADER_LEN, length)
    end = length if length is not None else n
    if end - pos < 4:
        raise L2tpProtocolError("data header truncated", error=ERR_BAD_LENGTH)
    tid, sid = struct.unpack_from("!HH", data, pos)
    pos += 4
    ns = nr = None
    if flags & F_S:
        if end - pos < 4:
            raise L2tpProtocolError("data header truncated (Ns/Nr)", error=ERR_BAD_LENGTH)
        ns, nr = struct.unpack_from("!HH", data, pos)
        pos += 4
    if flags & F_O:
        if end - pos < 2:
            raise L2tpProtocolError("data header truncated (offset)", error=ERR_BAD_LENGTH)
        off = (data[pos] << 8) | data[pos + 1]
        pos += 2 + off
        if pos > end:
            raise L2tpProtocolError("offset beyond end", error=ERR_BAD_LENGTH)
    return Header(False, tid, sid, ns, nr, length, bool(flags & F_P), pos, end)


def decode_control_body(data: bytes, h: Header, *, secret: bytes | None = None,
                        max_avps: int = DEFAULT_MAX_AVPS) -> ControlMessage:
    """Decode the AVPs of a control message whose header was decoded by decode_header."""
    if h.ns is None or h.nr is None:
        raise L2tpProtocolError("control header without Ns/Nr", error=ERR_BAD_VALUE)
    if h.end == CONTROL_HEADER_LEN:
        return ControlMessage(0, h.tunnel_id, h.session_id, h.ns, h.nr)
    msg_type = None
    partial: list[Avp] = []
    try:
        if h.end - CONTROL_HEADER_LEN < 8:
            raise L2tpProtocolError("first AVP is not a Message Type", error=ERR_BAD_LENGTH)
        flags, vendor, attr = struct.unpack_from("!HHH", data, CONTROL_HEADER_LEN)
        if vendor != 0 or attr != A.MESSAGE_TYPE or (flags & 0x03FF) != 8 or flags & 0x4000:
            raise L2tpProtocolError("first AVP is not a Message Type", error=ERR_BAD_VALUE)
        msg_type = (data[18] << 8) | data[19]
        avps, ignored = decode_avps(data, CONTROL_HEADER_LEN, h.end, secret=secret, max_avps=max_avps)
        if msg_type not in MESSAGE_NAMES:
            if flags & 0x8000:
                raise L2tpProtocolError(f"unknown mandatory message type {msg_type}",
                                        error=ERR_UNKNOWN_MANDATORY_AVP, fatal=True)
        else:
            for req in REQUIRED_AVPS[msg_type]:
                if not any(a.attr == req and a.vendor == 0 for a in avps):
                    partial = avps
                    raise L2tpProtocolError(
                        f"{MESSAGE_NAMES[msg_type]} without {A.AVP_TYPES[req].name}",
                        error=ERR_BAD_VALUE, fatal=True)
    except L2tpProtocolError as e:
        e.header = h
        e.msg_type = msg_type
        e.avps = tuple(partial) or e.avps
        raise
    return ControlMessage(msg_type, h.tunnel_id, h.session_id, h.ns, h.nr, tuple(avps), tuple(ignored))


def decode_control(data: bytes, *, secret: bytes | None = None, max_len: int = DEFAULT_MAX_MESSAGE_LEN,
                   max_avps: int = DEFAULT_MAX_AVPS) -> ControlMessage:
    h = decode_header(data, max_len=max_len)
    if not h.is_control:
        raise L2tpProtocolError("not a control message", error=ERR_BAD_VALUE)
    return decode_control_body(data, h, secret=secret, max_avps=max_avps)


def encode_control(msg_type: int, tunnel_id: int, session_id: int, ns: int, nr: int,
                   avps: list[Avp] | tuple[Avp, ...] = (), *, secret: bytes | None = None,
                   random_vector: bytes | None = None) -> bytes:
    """Encode a control message. msg_type 0 encodes a ZLB. Hidden AVPs need secret+random_vector;
    a Random Vector AVP is inserted before the first hidden AVP."""
    body = bytearray()
    if msg_type:
        body += struct.pack("!HHHH", 0x8008, 0, A.MESSAGE_TYPE, msg_type)
        rv_done = False
        for a in avps:
            if a.hidden and not rv_done:
                body += encode_avp(Avp(A.RANDOM_VECTOR, random_vector))
                rv_done = True
            body += encode_avp(a, secret=secret, random_vector=random_vector)
    length = CONTROL_HEADER_LEN + len(body)
    return struct.pack("!HHHHHH", F_T | F_L | F_S | VERSION, length, tunnel_id, session_id, ns, nr) + bytes(body)


def encode_data(tunnel_id: int, session_id: int, payload: bytes, *, length: bool = False,
                ns: int | None = None, nr: int | None = None, offset: int | None = None,
                priority: bool = False) -> bytes:
    flags = VERSION
    parts = []
    if ns is not None:
        flags |= F_S
    if offset is not None:
        flags |= F_O
    if priority:
        flags |= F_P
    hdr_len = 6 + (2 if length else 0) + (4 if ns is not None else 0) + (2 + offset if offset is not None else 0)
    if length:
        flags |= F_L
        parts.append(struct.pack("!HH", flags, hdr_len + len(payload)))
    else:
        parts.append(struct.pack("!H", flags))
    parts.append(struct.pack("!HH", tunnel_id, session_id))
    if ns is not None:
        parts.append(struct.pack("!HH", ns, nr or 0))
    if offset is not None:
        parts.append(struct.pack("!H", offset) + bytes(offset))
    parts.append(payload)
    return b"".join(parts)


def decode_data(data: bytes) -> DataMessage:
    h = decode_header(data, max_len=65535)
    if h.is_control:
        raise L2tpProtocolError("not a data message", error=ERR_BAD_VALUE)
    return DataMessage(h.tunnel_id, h.session_id, bytes(data[h.payload_offset:h.end]), h.ns, h.nr, h.priority)
