"""RADIUS wire codec (RFC 2865/2866/2868/2869, RFC 3579 §3.2).

The attribute definitions (codes, types, tags, encryption flags, value names) come from
the project's dictionary file, read with pyrad's dictionary parser; pyrad's type codecs
(``pyrad.tools``) serve the less common data types.  This is the only module of the
project that imports pyrad.

Why the attribute lists and packets are encoded here rather than with pyrad's Packet
classes: speed.  pyrad 2.6 handles everything the LNS needs, RFC 2868 tags and
Tunnel-Password salt encryption included (its ``has_tag`` attributes and
``SaltCrypt``/``SaltDecrypt``), but building a Packet per request costs more than twice
as much: ``bench/radius.py`` (codec_request_reply_cost against
pyrad_packet_request_reply_cost: one Access-Request built and its Access-Accept
checked and decoded, same dictionary, same attributes; pyrad 2.6.0, Python 3.11, a
shared 2-core machine) measured 42-119 µs here against 119-197 µs through pyrad's
AuthPacket, pyrad 1.6 to 4.0 times as costly in each of seven runs (median 2.5).  The
RADIUS client encodes every dial-out and CPE request, so that share of the per-session
cost is kept small.

Packet-level cryptography (Request/Response Authenticator, Message-Authenticator,
User-Password hiding; Tunnel-Password salt encryption in ``tunnel_attrs``) is done with
hashlib/hmac, so it can be checked against hand-computed vectors.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import random
import socket
import struct
from collections.abc import Iterable, Iterator
from typing import Any

from pyrad import tools as _pyrad_tools
from pyrad.dictionary import Dictionary as _PyradDictionary

from engine.aaa.tunnel_attrs import salt_decrypt, salt_encrypt
from engine.aaa.types import Attributes
from engine.aaa.types import MalformedPacket as MalformedPacket  # raised by the decoders: part of this API

DICTIONARY_PATH = os.path.join(os.path.dirname(__file__), "dictionary")

# packet codes (RFC 2865 §3, RFC 2866 §3)
ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
ACCESS_CHALLENGE = 11

CODE_NAMES = {
    ACCESS_REQUEST: "access-request",
    ACCESS_ACCEPT: "accept",
    ACCESS_REJECT: "reject",
    ACCOUNTING_REQUEST: "accounting-request",
    ACCOUNTING_RESPONSE: "accounting-response",
    ACCESS_CHALLENGE: "challenge",
}

MESSAGE_AUTHENTICATOR = 80
VENDOR_SPECIFIC = 26
MAX_PACKET = 4096  # RFC 2865 §3


class AttrDef:
    """Metadata of one dictionary attribute (derived from pyrad's Attribute)."""

    __slots__ = ("name", "code", "type", "vendor_id", "has_tag", "encrypt", "values", "names",
                 "key")

    def __init__(self, name: str, code: int, type_: str, vendor_id: int, has_tag: bool,
                 encrypt: int, values: dict[str, int], names: dict[int, str]) -> None:
        self.name = name
        self.code = code
        self.type = type_
        self.vendor_id = vendor_id
        self.has_tag = has_tag
        self.encrypt = encrypt
        self.values = values      # value name -> int (integer attributes)
        self.names = names        # int -> value name
        self.key = (vendor_id, code)


class RadiusDictionary:
    """Attribute definitions by name and by (vendor_id, code); vendor_id 0 = standard."""

    def __init__(self, path: str = DICTIONARY_PATH):
        src = _PyradDictionary(path)
        self.by_name: dict[str, AttrDef] = {}
        self.by_key: dict[tuple[int, int], AttrDef] = {}
        for name, attr in src.attributes.items():
            vendor_id = src.vendors.GetForward(attr.vendor) if attr.vendor else 0
            values: dict[str, int] = {}
            names: dict[int, str] = {}
            if attr.type == "integer":
                for vname, raw in attr.values.forward.items():
                    num = struct.unpack("!I", raw)[0] if isinstance(raw, bytes) else int(raw)
                    values[vname] = num
                    names.setdefault(num, vname)
            d = AttrDef(name, attr.code, attr.type, vendor_id, bool(attr.has_tag),
                        int(attr.encrypt or 0), values, names)
            self.by_name[name] = d
            self.by_key[d.key] = d

    def get(self, name: str) -> AttrDef:
        try:
            return self.by_name[name]
        except KeyError:
            raise KeyError(f"unknown RADIUS attribute {name!r}") from None

    def value_number(self, name: str, value: int | str) -> int:
        """Integer value of an integer attribute given as number or value name."""
        d = self.get(name)
        if isinstance(value, int):
            return value
        if value in d.values:
            return d.values[value]
        return int(value)


DICTIONARY = RadiusDictionary()


# ---------------------------------------------------------------- attribute values

def _encode_value(d: AttrDef, value: Any) -> bytes:
    t = d.type
    if t == "integer":
        if isinstance(value, str):
            value = d.values[value] if value in d.values else int(value)
        return struct.pack("!I", value)
    if t == "string":
        return value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if t == "octets":
        if isinstance(value, str):
            return bytes.fromhex(value[2:]) if value.startswith("0x") else value.encode()
        return bytes(value)
    if t == "ipaddr":
        if isinstance(value, ipaddress.IPv4Address):
            return value.packed
        if isinstance(value, str):
            try:               # strict dotted quad, as ipaddress (no octal, no short forms)
                return socket.inet_pton(socket.AF_INET, value)
            except (OSError, ValueError):
                pass           # ipaddress says what is wrong with it
        return ipaddress.IPv4Address(value).packed
    if t == "date":
        return struct.pack("!I", int(value))
    encoded: bytes = _pyrad_tools.EncodeAttr(t, value)
    return encoded


def _decode_value(d: AttrDef, raw: bytes) -> Any:
    t = d.type
    if t == "integer" or t == "date":
        if len(raw) != 4:
            raise MalformedPacket(f"{d.name}: integer of length {len(raw)}")
        return struct.unpack("!I", raw)[0]
    if t == "string":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    if t == "octets":
        return raw
    if t == "ipaddr":
        if len(raw) != 4:
            raise MalformedPacket(f"{d.name}: address of length {len(raw)}")
        return socket.inet_ntoa(raw)
    try:
        return _pyrad_tools.DecodeAttr(t, raw)
    except Exception as exc:  # pyrad raises assorted errors on bad input
        raise MalformedPacket(f"{d.name}: {exc}") from None


def split_name(name: str) -> tuple[str, int | None]:
    """'Tunnel-Type:2' -> ('Tunnel-Type', 2); 'User-Name' -> ('User-Name', None)."""
    base, sep, tag = name.partition(":")
    return base, (int(tag) if sep else None)


# Attributes whose value is the same in every request of a kind (the NAS address, service and
# port types, ...) or of a tunnel (RFC 2867 accounting: the tunnel every session of a tunnel
# runs in): their encoding is computed once per (name, value) and reused.
PRECOMPILED_ATTRIBUTES = frozenset({
    "Service-Type", "NAS-Port-Type", "Framed-Protocol", "NAS-IP-Address", "NAS-Identifier",
    "Acct-Status-Type", "Acct-Authentic",
    "Tunnel-Type:1", "Tunnel-Medium-Type:1", "Tunnel-Client-Endpoint:1",
    "Tunnel-Server-Endpoint:1", "Tunnel-Client-Auth-Id:1", "Tunnel-Server-Auth-Id:1"})
_PRECOMPILED_MAX = 256
_precompiled: dict[tuple[str, Any], bytes] = {}

# Attribute names ('Tunnel-Type:1') resolved to (definition, tag) once; only valid names are
# kept, and at most _NAMES_MAX of them (the dictionary times the tags is finite, but bounded
# all the same)
_NAMES_MAX = 1024
_names: dict[str, tuple[AttrDef, int | None]] = {}


def _resolve(name: str) -> tuple[AttrDef, int | None]:
    try:
        return _names[name]
    except KeyError:
        pass
    base, tag = split_name(name)
    d = DICTIONARY.get(base)
    if tag is not None and not (0 <= tag <= 0x1F):
        raise ValueError(f"tag {tag} of {base} out of range 0..31")
    if len(_names) < _NAMES_MAX:
        _names[name] = (d, tag)
    return d, tag


def encode_attribute(name: str, value: Any, *, secret: bytes = b"",
                     authenticator: bytes = b"", rng: random.Random | None = None) -> bytes:
    """Encode one attribute (with its header, inside a Vendor-Specific for vendor
    attributes).  ``name`` may carry a tag ('Tunnel-Password:1').  User-Password is
    hidden (RFC 2865 §5.2) and salt-encrypted attributes (RFC 2868 §3.5) encrypted with
    ``secret`` and ``authenticator`` (the Request Authenticator)."""
    if name in PRECOMPILED_ATTRIBUTES:
        key = (name, value)
        try:
            return _precompiled[key]
        except KeyError:
            pass
        except TypeError:                 # an unhashable value: encoded every time
            return _encode_attribute(name, value, secret, authenticator, rng)
        raw = _encode_attribute(name, value, secret, authenticator, rng)
        if len(_precompiled) < _PRECOMPILED_MAX:
            _precompiled[key] = raw
        return raw
    return _encode_attribute(name, value, secret, authenticator, rng)


def _encode_attribute(name: str, value: Any, secret: bytes, authenticator: bytes,
                      rng: random.Random | None) -> bytes:
    d, tag = _resolve(name)
    raw = _encode_value(d, value)
    if not (d.encrypt or d.has_tag or d.vendor_id):        # most attributes
        if len(raw) > 253:
            raise ValueError(f"value of {d.name} too long ({len(raw)} octets)")
        return bytes((d.code, len(raw) + 2)) + raw
    if d.encrypt == 1:
        raw = hide_password(raw, secret, authenticator)
    elif d.encrypt == 2:
        if rng is None:
            raise ValueError("salt encryption needs an rng")
        raw = bytes([tag or 0]) + salt_encrypt(raw, secret, authenticator, rng)
    elif d.has_tag:
        if d.type == "integer":
            raw = bytes([tag or 0]) + raw[1:]
        elif tag is not None:
            raw = bytes([tag]) + raw
        elif raw and raw[0] <= 0x1F:
            raw = b"\x00" + raw
    if len(raw) > 253 or (d.vendor_id and len(raw) > 247):
        raise ValueError(f"value of {d.name} too long ({len(raw)} octets)")
    if d.vendor_id:
        inner = bytes((d.code, len(raw) + 2)) + raw
        return bytes((VENDOR_SPECIFIC, len(inner) + 6)) + struct.pack("!I", d.vendor_id) + inner
    return bytes((d.code, len(raw) + 2)) + raw


def encode_attributes(items: Iterable[tuple[str, object]], *, secret: bytes = b"",
                      authenticator: bytes = b"", rng: random.Random | None = None) -> bytes:
    return b"".join(encode_attribute(n, v, secret=secret, authenticator=authenticator, rng=rng)
                    for n, v in items)


def iter_raw_attributes(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (vendor_id, code, raw_value) from an attribute list; vendor attributes in
    RFC 2865 §5.26 format are unpacked.  Raises MalformedPacket."""
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise MalformedPacket("truncated attribute header")
        code, length = data[pos], data[pos + 1]
        if length < 2 or pos + length > end:
            raise MalformedPacket(f"attribute {code} has bad length {length}")
        value = data[pos + 2:pos + length]
        pos += length
        if code == VENDOR_SPECIFIC and len(value) >= 6:
            vendor_id = struct.unpack("!I", value[:4])[0]
            vpos, vend = 4, len(value)
            ok = True
            subs: list[tuple[int, int, bytes]] = []
            while vpos < vend:
                if vpos + 2 > vend:
                    ok = False
                    break
                vcode, vlen = value[vpos], value[vpos + 1]
                if vlen < 2 or vpos + vlen > vend:
                    ok = False
                    break
                subs.append((vendor_id, vcode, value[vpos + 2:vpos + vlen]))
                vpos += vlen
            if ok:
                yield from subs
            else:
                yield (0, code, value)
        else:
            yield (0, code, value)


def decode_attributes(data: bytes, *, secret: bytes = b"", authenticator: bytes = b"",
                      decrypt: bool = True) -> list[tuple[str, int, Any]]:
    """Decode an attribute list to [(name, tag, value)].  Unknown attributes are named
    'Attr-<code>' or 'Vendor-<id>-Attr-<code>' with raw bytes.  Salt-encrypted values are
    decrypted with ``secret``/``authenticator`` (the Request Authenticator) when
    ``decrypt``; User-Password is returned hidden (bytes) unless ``decrypt`` and a
    secret is given, then revealed.  Raises MalformedPacket."""
    out: list[tuple[str, int, Any]] = []
    by_key = DICTIONARY.by_key
    for vendor_id, code, raw in iter_raw_attributes(data):
        d = by_key.get((vendor_id, code))
        if d is None or (vendor_id == 0 and code == VENDOR_SPECIFIC):
            name = f"Vendor-{vendor_id}-Attr-{code}" if vendor_id else f"Attr-{code}"
            out.append((name, 0, raw))
            continue
        tag = 0
        if d.has_tag and raw:
            if d.type == "integer":
                tag, raw = raw[0], b"\x00" + raw[1:]
            elif d.encrypt == 2:
                # tag + salt + n*16 octets; a value of salt + n*16 octets was sent
                # without a tag (older implementations): tag 0
                if len(raw) % 16 != 2:
                    tag, raw = raw[0], raw[1:]
            elif raw[0] <= 0x1F:
                tag, raw = raw[0], raw[1:]
        if d.encrypt == 2:
            if decrypt and secret:
                value = salt_decrypt(raw, secret, authenticator)
            else:
                value = raw
        elif d.encrypt == 1:
            if decrypt and secret:
                value = reveal_password(raw, secret, authenticator)
            else:
                value = raw
        else:
            value = _decode_value(d, raw)
        out.append((d.name, tag, value))
    return out


def attributes_dict(decoded: list[tuple[str, int, Any]]) -> Attributes:
    """{name: (values...)}; tagged attributes with a non-zero tag are keyed 'Name:tag'."""
    res: dict[str, list[Any]] = {}
    for name, tag, value in decoded:
        key = f"{name}:{tag}" if tag else name
        res.setdefault(key, []).append(value)
    return {k: tuple(v) for k, v in res.items()}


# ---------------------------------------------------------------- packet crypto

def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """User-Password hiding, RFC 2865 §5.2."""
    if len(password) > 128:
        raise ValueError("password longer than 128 octets")
    buf = password + b"\x00" * (-len(password) % 16 or (16 if not password else 0))
    out = bytearray()
    last = authenticator
    for i in range(0, len(buf), 16):
        b = hashlib.md5(secret + last).digest()
        block = bytes(x ^ y for x, y in zip(buf[i:i + 16], b, strict=True))
        out += block
        last = block
    return bytes(out)


def reveal_password(hidden: bytes, secret: bytes, authenticator: bytes) -> bytes:
    """Inverse of hide_password; raises MalformedPacket on a bad length."""
    if not hidden or len(hidden) % 16 or len(hidden) > 128:
        raise MalformedPacket("User-Password length is not a multiple of 16")
    out = bytearray()
    last = authenticator
    for i in range(0, len(hidden), 16):
        b = hashlib.md5(secret + last).digest()
        block = hidden[i:i + 16]
        out += bytes(x ^ y for x, y in zip(block, b, strict=True))
        last = block
    return bytes(out).rstrip(b"\x00")


def parse_header(data: bytes) -> tuple[int, int, int, bytes]:
    """(code, identifier, length, authenticator); raises MalformedPacket.  Octets
    beyond the Length field are padding (RFC 2865 §3)."""
    if len(data) < 20:
        raise MalformedPacket("packet shorter than 20 octets")
    code, ident, length = struct.unpack_from("!BBH", data)
    if length < 20 or length > MAX_PACKET or length > len(data):
        raise MalformedPacket(f"bad packet length {length}")
    return code, ident, length, data[4:20]


_MA_ZERO = bytes((MESSAGE_AUTHENTICATOR, 18)) + b"\x00" * 16


def _ma_offset(attrs: bytes) -> int:
    """Offset of the Message-Authenticator value inside the attributes, or -1."""
    pos = 0
    while pos + 2 <= len(attrs):
        code, length = attrs[pos], attrs[pos + 1]
        if length < 2:
            return -1
        if code == MESSAGE_AUTHENTICATOR and length == 18:
            return pos + 2
        pos += length
    return -1


def message_authenticator(code: int, ident: int, vector: bytes, attrs_zeroed: bytes,
                          secret: bytes) -> bytes:
    """HMAC-MD5 over the packet with the Message-Authenticator value zeroed and the
    given authenticator field (RFC 2869 §5.14, RFC 3579 §3.2)."""
    header = struct.pack("!BBH", code, ident, 20 + len(attrs_zeroed))
    return hmac.digest(secret, header + vector + attrs_zeroed, "md5")      # one-shot, in C


def build_access_request(ident: int, authenticator: bytes, attrs: bytes, secret: bytes,
                         *, with_message_authenticator: bool = True) -> bytes:
    """Access-Request; the Message-Authenticator goes first (BlastRADIUS guidance)."""
    if with_message_authenticator:
        attrs = _MA_ZERO + attrs
        mac = message_authenticator(ACCESS_REQUEST, ident, authenticator, attrs, secret)
        attrs = attrs[:2] + mac + attrs[18:]
    if 20 + len(attrs) > MAX_PACKET:
        raise ValueError("packet too long")
    return struct.pack("!BBH", ACCESS_REQUEST, ident, 20 + len(attrs)) + authenticator + attrs


def build_accounting_request(ident: int, attrs: bytes, secret: bytes) -> bytes:
    """Accounting-Request with its Request Authenticator (RFC 2866 §3)."""
    header = struct.pack("!BBH", ACCOUNTING_REQUEST, ident, 20 + len(attrs))
    auth = hashlib.md5(header + b"\x00" * 16 + attrs + secret).digest()
    return header + auth + attrs


def response_authenticator(code: int, ident: int, request_authenticator: bytes, attrs: bytes,
                           secret: bytes) -> bytes:
    """MD5(Code+ID+Length+RequestAuth+Attributes+Secret), RFC 2865 §3."""
    header = struct.pack("!BBH", code, ident, 20 + len(attrs))
    return hashlib.md5(header + request_authenticator + attrs + secret).digest()


def build_response(code: int, ident: int, request_authenticator: bytes, attrs: bytes,
                   secret: bytes, *, with_message_authenticator: bool = False) -> bytes:
    """A reply packet signed for the request's authenticator."""
    if with_message_authenticator:
        attrs = _MA_ZERO + attrs
        mac = message_authenticator(code, ident, request_authenticator, attrs, secret)
        attrs = attrs[:2] + mac + attrs[18:]
    auth = response_authenticator(code, ident, request_authenticator, attrs, secret)
    return struct.pack("!BBH", code, ident, 20 + len(attrs)) + auth + attrs


# check_response results
RESPONSE_OK = "ok"
RESPONSE_BAD_AUTHENTICATOR = "failed authenticator check"
RESPONSE_MALFORMED_MESSAGE_AUTHENTICATOR = "malformed Message-Authenticator"
RESPONSE_NO_MESSAGE_AUTHENTICATOR = "no Message-Authenticator"


def _ma_count(attrs: bytes) -> tuple[int, bool]:
    """(number of Message-Authenticator attributes, whether one has a length other
    than 18) of a well-formed attribute list."""
    pos, count, bad = 0, 0, False
    while pos + 2 <= len(attrs):
        code, length = attrs[pos], attrs[pos + 1]
        if length < 2:
            break
        if code == MESSAGE_AUTHENTICATOR:
            count += 1
            bad = bad or length != 18
        pos += length
    return count, bad


def check_response(data: bytes, request_authenticator: bytes, secret: bytes) -> str:
    """Check a reply (``data`` already trimmed to its Length): its Response
    Authenticator (RFC 2865 §3) and its Message-Authenticator (RFC 3579 §3.2) when one
    is present.  A Message-Authenticator of a length other than 18, or more than one,
    makes the reply invalid.  Returns one of the RESPONSE_* values; whether a missing
    Message-Authenticator is acceptable is the caller's policy."""
    code, ident, length, auth = parse_header(data)
    attrs = data[20:length]
    expected = response_authenticator(code, ident, request_authenticator, attrs, secret)
    if not hmac.compare_digest(expected, auth):
        return RESPONSE_BAD_AUTHENTICATOR
    count, bad = _ma_count(attrs)
    if bad or count > 1:
        return RESPONSE_MALFORMED_MESSAGE_AUTHENTICATOR
    off = _ma_offset(attrs)
    if off >= 0:
        zeroed = attrs[:off] + b"\x00" * 16 + attrs[off + 16:]
        mac = message_authenticator(code, ident, request_authenticator, zeroed, secret)
        if not hmac.compare_digest(mac, attrs[off:off + 16]):
            return RESPONSE_BAD_AUTHENTICATOR
    return RESPONSE_OK


def has_message_authenticator(data: bytes) -> bool:
    """Whether a packet carries a Message-Authenticator of the right length."""
    _, _, length, _ = parse_header(data)
    return _ma_offset(data[20:length]) >= 0


def verify_response(data: bytes, request_authenticator: bytes, secret: bytes) -> bool:
    """Whether check_response finds the reply valid."""
    return check_response(data, request_authenticator, secret) == RESPONSE_OK


def verify_request_message_authenticator(data: bytes, secret: bytes) -> bool | None:
    """For a received Access-Request: None when it has no Message-Authenticator,
    else whether it is valid."""
    code, ident, length, auth = parse_header(data)
    attrs = data[20:length]
    off = _ma_offset(attrs)
    if off < 0:
        return None
    zeroed = attrs[:off] + b"\x00" * 16 + attrs[off + 16:]
    mac = message_authenticator(code, ident, auth, zeroed, secret)
    return hmac.compare_digest(mac, attrs[off:off + 16])


def verify_accounting_request(data: bytes, secret: bytes) -> bool:
    code, ident, length, auth = parse_header(data)
    header = data[:4]
    expected = hashlib.md5(header + b"\x00" * 16 + data[20:length] + secret).digest()
    return hmac.compare_digest(expected, auth)
