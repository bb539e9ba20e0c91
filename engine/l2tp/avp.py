"""L2TP attribute-value pairs (RFC 2661 §4.1-§4.4): the AVP table, encode/decode, hidden AVPs."""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import ERR_BAD_LENGTH, ERR_BAD_VALUE, ERR_UNKNOWN_MANDATORY_AVP, L2tpProtocolError

# Attribute types (RFC 2661 §4.4)
MESSAGE_TYPE = 0
RESULT_CODE = 1
PROTOCOL_VERSION = 2
FRAMING_CAPABILITIES = 3
BEARER_CAPABILITIES = 4
TIE_BREAKER = 5
FIRMWARE_REVISION = 6
HOST_NAME = 7
VENDOR_NAME = 8
ASSIGNED_TUNNEL_ID = 9
RECEIVE_WINDOW_SIZE = 10
CHALLENGE = 11
Q931_CAUSE = 12
CHALLENGE_RESPONSE = 13
ASSIGNED_SESSION_ID = 14
CALL_SERIAL_NUMBER = 15
MINIMUM_BPS = 16
MAXIMUM_BPS = 17
BEARER_TYPE = 18
FRAMING_TYPE = 19
CALLED_NUMBER = 21
CALLING_NUMBER = 22
SUB_ADDRESS = 23
TX_CONNECT_SPEED = 24
PHYSICAL_CHANNEL_ID = 25
INITIAL_RECEIVED_LCP_CONFREQ = 26
LAST_SENT_LCP_CONFREQ = 27
LAST_RECEIVED_LCP_CONFREQ = 28
PROXY_AUTHEN_TYPE = 29
PROXY_AUTHEN_NAME = 30
PROXY_AUTHEN_CHALLENGE = 31
PROXY_AUTHEN_ID = 32
PROXY_AUTHEN_RESPONSE = 33
CALL_ERRORS = 34
ACCM = 35
RANDOM_VECTOR = 36
PRIVATE_GROUP_ID = 37
RX_CONNECT_SPEED = 38
SEQUENCING_REQUIRED = 39

# Framing / bearer bits
FRAMING_SYNC = 1
FRAMING_ASYNC = 2
BEARER_DIGITAL = 1      # RFC 2661 §4.4.5 Bearer Type: D bit (least significant)
BEARER_ANALOG = 2       # A bit

#: ERX-Bearer-Type (RADIUS, 0 none, 1 analog, 2 digital) -> RFC 2661 Bearer Type bits
ERX_BEARER_BITS = {0: 0, 1: BEARER_ANALOG, 2: BEARER_DIGITAL}


def bearer_type_bits(erx_bearer_type: int | None) -> int:
    """The OCRQ Bearer Type for an ERX-Bearer-Type value; absent or unknown values set no bit."""
    return ERX_BEARER_BITS.get(erx_bearer_type or 0, 0)

MAX_AVP_LEN = 1023  # 10-bit length field
HEADER_LEN = 6


@dataclass(frozen=True, slots=True)
class ResultCode:
    result: int
    error: int | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Q931Cause:
    cause: int
    msg: int
    advisory: str | None = None


@dataclass(frozen=True, slots=True)
class CallErrors:
    crc: int = 0
    framing: int = 0
    hardware_overruns: int = 0
    buffer_overruns: int = 0
    timeouts: int = 0
    alignment: int = 0


@dataclass(frozen=True, slots=True)
class Accm:
    send: int
    receive: int


@dataclass(frozen=True, slots=True)
class AvpType:
    code: int
    name: str
    kind: str            # u8pair u16 u32 str bytes result q931 fixed8 fixed16 call_errors accm empty
    mandatory: bool      # the M bit we set when sending
    hideable: bool       # RFC: "this AVP MAY be hidden"


AVP_TYPES: dict[int, AvpType] = {t.code: t for t in (
    AvpType(MESSAGE_TYPE, "Message Type", "u16", True, False),
    AvpType(RESULT_CODE, "Result Code", "result", True, False),
    AvpType(PROTOCOL_VERSION, "Protocol Version", "u8pair", True, False),
    AvpType(FRAMING_CAPABILITIES, "Framing Capabilities", "u32", True, True),
    AvpType(BEARER_CAPABILITIES, "Bearer Capabilities", "u32", True, True),
    AvpType(TIE_BREAKER, "Tie Breaker", "fixed8", False, False),
    AvpType(FIRMWARE_REVISION, "Firmware Revision", "u16", False, True),
    AvpType(HOST_NAME, "Host Name", "str", True, False),
    AvpType(VENDOR_NAME, "Vendor Name", "str", False, True),
    AvpType(ASSIGNED_TUNNEL_ID, "Assigned Tunnel ID", "u16", True, True),
    AvpType(RECEIVE_WINDOW_SIZE, "Receive Window Size", "u16", True, False),
    AvpType(CHALLENGE, "Challenge", "bytes", True, True),
    AvpType(Q931_CAUSE, "Q.931 Cause Code", "q931", True, False),
    AvpType(CHALLENGE_RESPONSE, "Challenge Response", "fixed16", True, True),
    AvpType(ASSIGNED_SESSION_ID, "Assigned Session ID", "u16", True, True),
    AvpType(CALL_SERIAL_NUMBER, "Call Serial Number", "u32", True, True),
    AvpType(MINIMUM_BPS, "Minimum BPS", "u32", True, True),
    AvpType(MAXIMUM_BPS, "Maximum BPS", "u32", True, True),
    AvpType(BEARER_TYPE, "Bearer Type", "u32", True, True),
    AvpType(FRAMING_TYPE, "Framing Type", "u32", True, True),
    AvpType(CALLED_NUMBER, "Called Number", "str", True, True),
    AvpType(CALLING_NUMBER, "Calling Number", "str", True, True),
    AvpType(SUB_ADDRESS, "Sub-Address", "str", True, True),
    AvpType(TX_CONNECT_SPEED, "Tx Connect Speed", "u32", True, True),
    AvpType(PHYSICAL_CHANNEL_ID, "Physical Channel ID", "u32", False, True),
    AvpType(INITIAL_RECEIVED_LCP_CONFREQ, "Initial Received LCP CONFREQ", "bytes", False, True),
    AvpType(LAST_SENT_LCP_CONFREQ, "Last Sent LCP CONFREQ", "bytes", False, True),
    AvpType(LAST_RECEIVED_LCP_CONFREQ, "Last Received LCP CONFREQ", "bytes", False, True),
    AvpType(PROXY_AUTHEN_TYPE, "Proxy Authen Type", "u16", False, True),
    AvpType(PROXY_AUTHEN_NAME, "Proxy Authen Name", "str", False, True),
    AvpType(PROXY_AUTHEN_CHALLENGE, "Proxy Authen Challenge", "bytes", False, True),
    AvpType(PROXY_AUTHEN_ID, "Proxy Authen ID", "u16", False, True),
    AvpType(PROXY_AUTHEN_RESPONSE, "Proxy Authen Response", "bytes", False, True),
    AvpType(CALL_ERRORS, "Call Errors", "call_errors", True, True),
    AvpType(ACCM, "ACCM", "accm", True, True),
    AvpType(RANDOM_VECTOR, "Random Vector", "bytes", True, False),
    AvpType(PRIVATE_GROUP_ID, "Private Group ID", "bytes", False, True),
    AvpType(RX_CONNECT_SPEED, "Rx Connect Speed", "u32", False, True),
    AvpType(SEQUENCING_REQUIRED, "Sequencing Required", "empty", True, False),
)}

SECRET_AVPS = frozenset({CHALLENGE, CHALLENGE_RESPONSE, PROXY_AUTHEN_CHALLENGE,
                         PROXY_AUTHEN_RESPONSE, RANDOM_VECTOR})


class Avp(NamedTuple):
    """One AVP. ``value`` is typed for the IETF AVPs (see AVP_TYPES.kind), raw bytes otherwise.
    An immutable record; a tuple because tens of them are made per call set-up (a frozen
    dataclass costs about 2.5 times as much to build)."""
    attr: int
    value: Any
    vendor: int = 0
    mandatory: bool = True
    hidden: bool = False

    @classmethod
    def make(cls, attr: int, value: Any, *, hidden: bool = False) -> Avp:
        t = AVP_TYPES.get(attr)
        return cls(attr, value, 0, t.mandatory if t else True, hidden)

    def describe(self) -> str:
        t = AVP_TYPES.get(self.attr) if self.vendor == 0 else None
        name = t.name if t else f"vendor {self.vendor} attr {self.attr}"
        if self.vendor == 0 and self.attr in SECRET_AVPS:
            val = "<masked>"
        elif isinstance(self.value, bytes):
            val = self.value.hex()
        elif isinstance(self.value, ResultCode):
            val = f"{self.value.result}/{self.value.error}" + (f" {self.value.message!r}" if self.value.message else "")
        else:
            val = repr(self.value)
        flags = ("M" if self.mandatory else "") + ("H" if self.hidden else "")
        return f"{name}{'[' + flags + ']' if flags else ''}={val}"


def _s(v: str) -> bytes:
    return v.encode("utf-8", "surrogateescape")


def encode_value(kind: str, value: Any) -> bytes:
    if kind == "u16":
        return struct.pack("!H", value)
    if kind == "u32":
        return struct.pack("!I", value)
    if kind == "str":
        return _s(value) if isinstance(value, str) else bytes(value)
    if kind in ("bytes", "fixed8", "fixed16"):
        return bytes(value)
    if kind == "u8pair":
        return struct.pack("!BB", *value)
    if kind == "result":
        out = struct.pack("!H", value.result)
        if value.error is not None or value.message is not None:
            out += struct.pack("!H", value.error or 0)
            if value.message:
                out += _s(value.message)
        return out
    if kind == "q931":
        out = struct.pack("!HB", value.cause, value.msg)
        if value.advisory:
            out += _s(value.advisory)
        return out
    if kind == "call_errors":
        return struct.pack("!HIIIIII", 0, value.crc, value.framing, value.hardware_overruns,
                           value.buffer_overruns, value.timeouts, value.alignment)
    if kind == "accm":
        return struct.pack("!HII", 0, value.send, value.receive)
    if kind == "empty":
        return b""
    raise ValueError(kind)


def _lenerr(name: str, n: int) -> L2tpProtocolError:
    return L2tpProtocolError(f"{name}: bad length {n}", error=ERR_BAD_LENGTH)


def decode_value(t: AvpType, raw: bytes) -> Any:
    kind = t.kind
    n = len(raw)
    if kind == "u16":
        if n != 2:
            raise _lenerr(t.name, n)
        return (raw[0] << 8) | raw[1]
    if kind == "u32":
        if n != 4:
            raise _lenerr(t.name, n)
        return struct.unpack("!I", raw)[0]
    if kind == "str":
        return raw.decode("utf-8", "surrogateescape")
    if kind == "bytes":
        return bytes(raw)
    if kind == "fixed8":
        if n != 8:
            raise _lenerr(t.name, n)
        return bytes(raw)
    if kind == "fixed16":
        if n != 16:
            raise _lenerr(t.name, n)
        return bytes(raw)
    if kind == "u8pair":
        if n != 2:
            raise _lenerr(t.name, n)
        return (raw[0], raw[1])
    if kind == "result":
        if n < 2 or n == 3:
            raise _lenerr(t.name, n)
        result = (raw[0] << 8) | raw[1]
        if n == 2:
            return ResultCode(result)
        error = (raw[2] << 8) | raw[3]
        msg = raw[4:].decode("utf-8", "surrogateescape") if n > 4 else None
        return ResultCode(result, error, msg)
    if kind == "q931":
        if n < 3:
            raise _lenerr(t.name, n)
        cause, msg = struct.unpack_from("!HB", raw)
        return Q931Cause(cause, msg, raw[3:].decode("utf-8", "surrogateescape") if n > 3 else None)
    if kind == "call_errors":
        if n != 26:
            raise _lenerr(t.name, n)
        return CallErrors(*struct.unpack("!HIIIIII", raw)[1:])
    if kind == "accm":
        if n != 10:
            raise _lenerr(t.name, n)
        _, s, r = struct.unpack("!HII", raw)
        return Accm(s, r)
    if kind == "empty":
        if n:
            raise _lenerr(t.name, n)
        return True
    raise ValueError(kind)  # pragma: no cover


# ---------------------------------------------------------------- hidden AVPs (RFC 2661 §4.3)

def hide_value(attr: int, value: bytes, secret: bytes, random_vector: bytes, padding: bytes = b"") -> bytes:
    """Return the hidden form of an AVP value: original length ‖ value ‖ padding, MD5 chained."""
    plain = struct.pack("!H", len(value)) + value + padding
    out = bytearray()
    prev = struct.pack("!H", attr) + secret + random_vector
    for i in range(0, len(plain), 16):
        block = hashlib.md5(prev).digest()
        chunk = plain[i:i + 16]
        c = bytes(a ^ b for a, b in zip(chunk, block, strict=False))
        out += c
        prev = secret + c
    return bytes(out)


def unhide_value(attr: int, hidden: bytes, secret: bytes, random_vector: bytes) -> bytes:
    plain = bytearray()
    prev = struct.pack("!H", attr) + secret + random_vector
    for i in range(0, len(hidden), 16):
        block = hashlib.md5(prev).digest()
        chunk = hidden[i:i + 16]
        plain += bytes(a ^ b for a, b in zip(chunk, block, strict=False))
        prev = secret + chunk
    if len(plain) < 2:
        raise L2tpProtocolError("hidden AVP too short", error=ERR_BAD_LENGTH)
    n = (plain[0] << 8) | plain[1]
    if n > len(plain) - 2:
        raise L2tpProtocolError("hidden AVP: original length too large", error=ERR_BAD_LENGTH)
    return bytes(plain[2:2 + n])


def encode_avp(avp: Avp, *, secret: bytes | None = None, random_vector: bytes | None = None) -> bytes:
    if avp.vendor == 0 and avp.attr in AVP_TYPES:
        raw = encode_value(AVP_TYPES[avp.attr].kind, avp.value)
    else:
        raw = bytes(avp.value)
    hidden = False
    if avp.hidden:
        if secret is None or random_vector is None:
            raise ValueError("hidden AVP needs a secret and a random vector")
        raw = hide_value(avp.attr, raw, secret, random_vector)
        hidden = True
    length = HEADER_LEN + len(raw)
    if length > MAX_AVP_LEN:
        raise ValueError(f"AVP {avp.attr} too long ({length})")
    flags = (0x8000 if avp.mandatory else 0) | (0x4000 if hidden else 0) | length
    return struct.pack("!HHH", flags, avp.vendor, avp.attr) + raw


def decode_avps(data: bytes, start: int, end: int, *, secret: bytes | None,
                max_avps: int) -> tuple[list[Avp], list[Avp]]:
    """Decode AVPs in data[start:end].

    Returns (avps, unknown_optional). Raises L2tpProtocolError for malformed AVPs, and with
    fatal=True / error 8 for an unknown AVP with the M bit set; that error is raised after the
    remaining AVPs are decoded and carries them (``.avps``), so the answer can name the peer's
    tunnel or session.
    """
    unknown_mandatory: L2tpProtocolError | None = None
    avps: list[Avp] = []
    ignored: list[Avp] = []
    pos = start
    rv: bytes | None = None
    count = 0
    while pos < end:
        count += 1
        if count > max_avps:
            raise L2tpProtocolError(f"more than {max_avps} AVPs", error=ERR_BAD_LENGTH)
        if end - pos < HEADER_LEN:
            raise L2tpProtocolError("truncated AVP header", error=ERR_BAD_LENGTH)
        flags, vendor, attr = struct.unpack_from("!HHH", data, pos)
        length = flags & 0x03FF
        if flags & 0x3C00:
            raise L2tpProtocolError("AVP reserved bits set", error=ERR_BAD_VALUE)
        if length < HEADER_LEN or pos + length > end:
            raise L2tpProtocolError(f"AVP length {length} invalid", error=ERR_BAD_LENGTH)
        mandatory = bool(flags & 0x8000)
        hidden = bool(flags & 0x4000)
        raw = data[pos + HEADER_LEN:pos + length]
        pos += length
        t = AVP_TYPES.get(attr) if vendor == 0 else None
        if t is None:
            if mandatory:
                unknown_mandatory = unknown_mandatory or L2tpProtocolError(
                    f"unknown mandatory AVP vendor {vendor} attr {attr}",
                    error=ERR_UNKNOWN_MANDATORY_AVP, fatal=True)
                continue
            ignored.append(Avp(attr, bytes(raw), vendor, mandatory, hidden))
            continue
        if hidden:
            if secret is None or rv is None:
                raise L2tpProtocolError(f"hidden {t.name} without secret or Random Vector",
                                        error=ERR_BAD_VALUE)
            raw = unhide_value(attr, raw, secret, rv)
        value = decode_value(t, raw)
        if attr == RANDOM_VECTOR:
            rv = value
        avps.append(Avp(attr, value, 0, mandatory, hidden))
    if unknown_mandatory is not None:
        unknown_mandatory.avps = tuple(avps)
        raise unknown_mandatory
    return avps, ignored
