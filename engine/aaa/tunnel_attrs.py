"""RFC 2868 tunnel attributes: Tunnel-Password salt encryption (§3.5) and the
dial-out Access-Accept interpretation (dialout.md §3): DialoutGrant / DialoutDenial.
Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from engine.aaa.types import (
    REASON_INVALID,
    REASON_NO_SERVER,
    Attributes,
    AttrValue,
    MalformedPacket,
    RadiusEvent,
    RadiusTimeout,
    SaltSource,
)

log = logging.getLogger(__name__)

TUNNEL_TYPE_L2TP = 3
TUNNEL_MEDIUM_IPV4 = 1
SERVICE_TYPE_OUTBOUND = 5
SERVICE_TYPE_FRAMED = 2

# ERX-PPP-Auth-Protocol values -> protocols the LNS accepts to authenticate itself
PPP_AUTH_PROTOCOLS = {
    0: (),
    1: ("pap",),
    2: ("chap",),
    3: ("pap", "chap"),
    4: ("chap", "pap"),
}
BEARER_TYPES = {0: "none", 1: "analog", 2: "digital"}

# DialoutDenial.reason values
DENY_REJECT = "reject"
DENY_TIMEOUT = "timeout"
DENY_MISSING_TUNNEL = "missing-tunnel-attributes"
DENY_SERVICE_TYPE = "service-type-not-outbound"
DENY_TUNNEL_TYPE = "tunnel-type-not-l2tp"
DENY_NO_NUMBER = "no-dial-out-number"
DENY_INVALID = "invalid-reply"
DENY_NO_SERVER = "no-server"
DENY_REASONS = (DENY_REJECT, DENY_TIMEOUT, DENY_MISSING_TUNNEL, DENY_SERVICE_TYPE,
                DENY_TUNNEL_TYPE, DENY_NO_NUMBER, DENY_INVALID, DENY_NO_SERVER)


def salt_encrypt(plain: bytes, secret: bytes, request_authenticator: bytes,
                 rng: SaltSource) -> bytes:
    """RFC 2868 §3.5: returns Salt(2) + ciphertext (the caller prepends the tag).
    The salt's most significant bit is set; plaintext = length octet + data, padded
    with zeros to a multiple of 16."""
    if len(plain) > 239:
        raise ValueError("salt-encrypted value longer than 239 octets")
    salt = bytes((0x80 | rng.randrange(128), rng.randrange(256)))
    p = bytes((len(plain),)) + plain
    p += b"\x00" * (-len(p) % 16)
    out = bytearray()
    last = request_authenticator + salt
    for i in range(0, len(p), 16):
        b = hashlib.md5(secret + last).digest()
        c = bytes(x ^ y for x, y in zip(p[i:i + 16], b, strict=True))
        out += c
        last = c
    return salt + bytes(out)


def salt_decrypt(value: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """Inverse of salt_encrypt for Salt(2) + ciphertext; raises MalformedPacket on a
    bad length."""
    if len(value) < 18 or (len(value) - 2) % 16:
        raise MalformedPacket("salt-encrypted value has a bad length")
    salt, c = value[:2], value[2:]
    out = bytearray()
    last = request_authenticator + salt
    for i in range(0, len(c), 16):
        b = hashlib.md5(secret + last).digest()
        block = c[i:i + 16]
        out += bytes(x ^ y for x, y in zip(block, b, strict=True))
        last = block
    n = out[0]
    if n > len(out) - 1:
        raise MalformedPacket("salt-encrypted value: length octet too large")
    return bytes(out[1:1 + n])


@dataclass(frozen=True, slots=True)
class TunnelDef:
    tag: int
    tunnel_type: int
    medium: int | None
    server_endpoint: str          # the LAC
    client_endpoint: str | None   # optional local (LNS) address
    password: bytes | None
    assignment_id: str | None
    preference: int               # lower = more preferred; absent -> 0
    client_auth_id: str | None    # Host Name the LNS sends in SCCRQ
    server_auth_id: str | None    # Host Name expected from the LAC
    max_sessions: int | None      # ERX-Tunnel-Maximum-Sessions (weight)


@dataclass(frozen=True, slots=True)
class DialoutGrant:
    tunnels: tuple[TunnelDef, ...]          # ordered by (preference, tag)
    dial_out_number: str
    min_bps: int | None
    max_bps: int | None
    bearer_type: int | None                 # 0 none, 1 analog, 2 digital
    ppp_username: str | None
    ppp_password: str | None
    ppp_auth_protocol: tuple[str, ...] | None   # e.g. ("chap", "pap"); None = absent

    def levels(self) -> tuple[tuple[TunnelDef, ...], ...]:
        """Tunnels grouped by preference level, most preferred level first."""
        out: list[list[TunnelDef]] = []
        for t in self.tunnels:
            if out and out[-1][0].preference == t.preference:
                out[-1].append(t)
            else:
                out.append([t])
        return tuple(tuple(x) for x in out)


@dataclass(frozen=True, slots=True)
class DialoutDenial:
    reason: str            # one of DENY_REASONS
    message: str = ""


_TUNNEL_ATTRS = ("Tunnel-Type", "Tunnel-Medium-Type", "Tunnel-Client-Endpoint",
                 "Tunnel-Server-Endpoint", "Tunnel-Password", "Tunnel-Assignment-Id",
                 "Tunnel-Preference", "Tunnel-Client-Auth-Id", "Tunnel-Server-Auth-Id")


def _first(attrs: Attributes, name: str) -> AttrValue | None:
    v = attrs.get(name)
    return v[0] if v else None


def _int(v: AttrValue | None) -> int | None:
    return v if isinstance(v, int) else None


def _text(v: AttrValue | None) -> str | None:
    if v is None:
        return None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def tunnel_groups(attributes: Attributes) -> dict[int, dict[str, AttrValue]]:
    """{tag: {attribute name: first value}} of the RFC 2868 attributes in a reply's
    attribute dict (keys 'Name' for tag 0 and 'Name:tag')."""
    groups: dict[int, dict[str, AttrValue]] = {}
    for key, values in attributes.items():
        base, _, tag = key.partition(":")
        if base not in _TUNNEL_ATTRS or not values:
            continue
        groups.setdefault(int(tag) if tag else 0, {}).setdefault(base, values[0])
    return groups


def parse_dialout_reply(reply: RadiusEvent | None) -> DialoutGrant | DialoutDenial:
    """Interpret the reply event to a dial-out Access-Request (dialout.md §3).

    ``reply`` is a RadiusReply (code "accept"/"reject"/...) or a RadiusTimeout (or
    None for a timeout).  Attributes of an Access-Reject are ignored."""
    if reply is None or isinstance(reply, RadiusTimeout):
        reason = reply.reason if reply is not None else ""
        if reason == REASON_INVALID:
            return DialoutDenial(DENY_INVALID, "invalid replies from RADIUS")
        if reason == REASON_NO_SERVER:
            return DialoutDenial(DENY_NO_SERVER, "no RADIUS server")
        return DialoutDenial(DENY_TIMEOUT, "no answer from RADIUS")
    code = reply.code
    if code != "accept":
        return DialoutDenial(DENY_REJECT, f"Access-{code.capitalize()}" if code else "")
    attrs = reply.attributes
    service = _first(attrs, "Service-Type")
    groups = tunnel_groups(attrs)
    if not groups:
        return DialoutDenial(DENY_MISSING_TUNNEL, "no tunnel attributes")
    if service != SERVICE_TYPE_OUTBOUND:
        return DialoutDenial(DENY_SERVICE_TYPE, f"Service-Type {service!r}")
    max_sessions = _int(_first(attrs, "ERX-Tunnel-Maximum-Sessions"))
    complete: list[TunnelDef] = []
    other_types: list[int] = []
    for tag in sorted(groups):
        g = groups[tag]
        ttype = _int(g.get("Tunnel-Type"))
        server = g.get("Tunnel-Server-Endpoint")
        if ttype is None or server is None:
            log.info("tunnel tag %d incomplete (type %r, server endpoint %r)", tag, ttype, server)
            continue
        medium = _int(g.get("Tunnel-Medium-Type"))
        if ttype != TUNNEL_TYPE_L2TP or (medium is not None and medium != TUNNEL_MEDIUM_IPV4):
            other_types.append(ttype)
            continue
        raw_pw = g.get("Tunnel-Password")
        pw = raw_pw.encode() if isinstance(raw_pw, str) else (
            raw_pw if isinstance(raw_pw, bytes) else None)
        pref = _int(g.get("Tunnel-Preference"))
        complete.append(TunnelDef(
            tag=tag, tunnel_type=ttype, medium=medium,
            server_endpoint=(_text(server) or "").strip(),
            client_endpoint=_text(g.get("Tunnel-Client-Endpoint")),
            password=pw,
            assignment_id=_text(g.get("Tunnel-Assignment-Id")),
            preference=int(pref) if pref is not None else 0,
            client_auth_id=_text(g.get("Tunnel-Client-Auth-Id")),
            server_auth_id=_text(g.get("Tunnel-Server-Auth-Id")),
            max_sessions=max_sessions,
        ))
    if not complete:
        if other_types:
            return DialoutDenial(DENY_TUNNEL_TYPE, f"tunnel types {other_types}")
        return DialoutDenial(DENY_MISSING_TUNNEL, "no complete tunnel definition")
    number = _text(_first(attrs, "ERX-Dial-Out-Number"))
    if not number:
        return DialoutDenial(DENY_NO_NUMBER, "no ERX-Dial-Out-Number")
    complete.sort(key=lambda t: (t.preference, t.tag))
    proto = _int(_first(attrs, "ERX-PPP-Auth-Protocol"))
    return DialoutGrant(
        tunnels=tuple(complete),
        dial_out_number=number,
        min_bps=_int(_first(attrs, "ERX-Minimum-BPS")),
        max_bps=_int(_first(attrs, "ERX-Maximum-BPS")),
        bearer_type=_int(_first(attrs, "ERX-Bearer-Type")),
        ppp_username=_text(_first(attrs, "ERX-PPP-Username")),
        ppp_password=_text(_first(attrs, "ERX-PPP-Password")),
        ppp_auth_protocol=None if proto is None else PPP_AUTH_PROTOCOLS.get(proto, ()),
    )
