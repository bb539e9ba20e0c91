"""`debug radius`: one line per RADIUS packet sent or received, with its code,
Identifier, peer and attributes.  Passwords and other hidden values are masked; the
shared secret never appears (it is not an input).  Peer-controlled text is escaped, so
a reply cannot write control sequences to a terminal.  Pure functions, no I/O."""

from __future__ import annotations

from engine.aaa import codec
from engine.aaa.types import MalformedPacket

PACKET_NAMES = {
    codec.ACCESS_REQUEST: "Access-Request",
    codec.ACCESS_ACCEPT: "Access-Accept",
    codec.ACCESS_REJECT: "Access-Reject",
    codec.ACCOUNTING_REQUEST: "Accounting-Request",
    codec.ACCOUNTING_RESPONSE: "Accounting-Response",
    codec.ACCESS_CHALLENGE: "Access-Challenge",
}
# values never shown: hidden with the secret, or secrets themselves
MASKED = frozenset(("User-Password", "CHAP-Password", "Tunnel-Password", "ERX-PPP-Password",
                    "Message-Authenticator"))
MAX_VALUE = 64       # characters of one value shown


def escape(text: str | bytes) -> str:
    """Printable ASCII as is, everything else as \\xNN (or \\uNNNN)."""
    if isinstance(text, bytes):
        return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}"
                       for b in text)
    out = []
    for ch in text:
        o = ord(ch)
        if 0x20 <= o < 0x7F and ch != "\\":
            out.append(ch)
        elif o < 0x100:
            out.append(f"\\x{o:02x}")
        else:
            out.append(f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")
    return "".join(out)


def _value(name: str, value: object) -> str:
    if name in MASKED:
        return "<hidden>"
    if isinstance(value, bytes):
        text = "0x" + value.hex()
    elif isinstance(value, str):
        text = '"' + escape(value) + '"'
    else:
        text = escape(str(value))
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "...(cut)"


def format_packet(direction: str, data: bytes, peer: tuple[str, int] | tuple[str, int, int]) -> str:
    """``direction`` is "sent" (to ``peer``) or "received" (from ``peer``)."""
    where = f"{'to' if direction == 'sent' else 'from'} {escape(peer[0])}:{peer[1]}"
    try:
        code, ident, length, _ = codec.parse_header(data)
    except MalformedPacket as exc:
        return f"RADIUS {direction} {len(data)} octets {where}: malformed ({exc})"
    name = PACKET_NAMES.get(code, f"code {code}")
    head = f"RADIUS {direction} {name} id {ident} {where} length {length}"
    try:
        attrs = codec.decode_attributes(data[20:length], decrypt=False)
    except MalformedPacket as exc:
        return f"{head}: malformed attributes ({exc})"
    items = []
    for aname, tag, value in attrs:
        key = f"{aname}:{tag}" if tag else aname
        items.append(f"{escape(key)}={_value(aname, value)}")
    return f"{head}: {', '.join(items)}" if items else head
