"""One line per PPP control packet for ``debug ppp``: direction, protocol, code, identifier,
length and the options or fields decoded.

    rx LCP ConfReq id=0x01 len=18 <mru 1400> <auth chap md5> <magic 0x1a2b3c4d>
    tx CHAP Challenge id=0x2a len=30 <value 16 octets> <name "lns">
    tx PAP AuthReq id=0x07 len=14 <peer-id "cpe"> <password ****>

Every byte that came from the peer is escaped (non-printable as ``\\xNN``), so a hostile
name or message cannot write to the operator's terminal; passwords are never printed.
IPv4 data frames are not control packets and give no line (``None``).
"""
from __future__ import annotations

import socket

from . import frames as F

_PROTO = {F.PROTO_LCP: "LCP", F.PROTO_IPCP: "IPCP", F.PROTO_PAP: "PAP", F.PROTO_CHAP: "CHAP"}
_NCP_CODES = {F.CONF_REQ: "ConfReq", F.CONF_ACK: "ConfAck", F.CONF_NAK: "ConfNak",
              F.CONF_REJ: "ConfRej", F.TERM_REQ: "TermReq", F.TERM_ACK: "TermAck",
              F.CODE_REJ: "CodeRej"}
_LCP_CODES = {**_NCP_CODES, F.PROTO_REJ: "ProtRej", F.ECHO_REQ: "EchoReq",
              F.ECHO_REP: "EchoRep", F.DISCARD_REQ: "DiscReq"}
_PAP_CODES = {1: "AuthReq", 2: "AuthAck", 3: "AuthNak"}
_CHAP_CODES = {1: "Challenge", 2: "Response", 3: "Success", 4: "Failure"}
_CODES = {F.PROTO_LCP: _LCP_CODES, F.PROTO_IPCP: _NCP_CODES, F.PROTO_PAP: _PAP_CODES,
          F.PROTO_CHAP: _CHAP_CODES}
_CONF = frozenset((F.CONF_REQ, F.CONF_ACK, F.CONF_NAK, F.CONF_REJ))


def escape(b: bytes, limit: int = 64) -> str:
    """Printable ASCII as is, everything else as ``\\xNN``; at most ``limit`` octets."""
    out = "".join(chr(c) if 0x20 <= c < 0x7F and c != 0x5C else "\\x%02x" % c
                  for c in b[:limit])
    return out + ("..." if len(b) > limit else "")


def _lcp_option(t: int, v: bytes) -> str:
    if t == 1 and len(v) == 2:
        return "mru %d" % int.from_bytes(v, "big")
    if t == 3 and len(v) >= 2:
        p = int.from_bytes(v[:2], "big")
        if p == F.PROTO_PAP:
            return "auth pap"
        if p == F.PROTO_CHAP:
            return "auth chap %s" % ("md5" if v[2:] == b"\x05" else "alg " + v[2:].hex())
        return "auth 0x%04x" % p
    if t == 5 and len(v) == 4:
        return "magic 0x%08x" % int.from_bytes(v, "big")
    if t == 7 and not v:
        return "pcomp"
    if t == 8 and not v:
        return "accomp"
    if t == 2 and len(v) == 4:
        return "asyncmap 0x%08x" % int.from_bytes(v, "big")
    return "opt %d %s" % (t, v.hex())


def _ipcp_option(t: int, v: bytes) -> str:
    names = {3: "addr", 129: "ms-dns1", 131: "ms-dns2", 130: "ms-wins1", 132: "ms-wins2"}
    if t in names and len(v) == 4:
        return "%s %s" % (names[t], socket.inet_ntoa(v))
    if t == 2 and len(v) >= 2:
        return "compress 0x%04x" % int.from_bytes(v[:2], "big")
    return "opt %d %s" % (t, v.hex())


def _fields(protocol: int, code: int, data: bytes) -> list[str]:
    if protocol in (F.PROTO_LCP, F.PROTO_IPCP) and code in _CONF:
        opts = F.parse_options(data)
        if opts is None:
            return ["malformed options %s" % data[:32].hex()]
        dec = _lcp_option if protocol == F.PROTO_LCP else _ipcp_option
        return [dec(t, v) for t, v in opts]
    if protocol in (F.PROTO_LCP, F.PROTO_IPCP) and code in (F.TERM_REQ, F.TERM_ACK):
        return ['"%s"' % escape(data)] if data else []
    if protocol == F.PROTO_LCP and code in (F.ECHO_REQ, F.ECHO_REP, F.DISCARD_REQ):
        if len(data) >= 4:
            return ["magic 0x%08x" % int.from_bytes(data[:4], "big")]
        return []
    if protocol == F.PROTO_LCP and code == F.PROTO_REJ and len(data) >= 2:
        return ["protocol 0x%04x" % int.from_bytes(data[:2], "big")]
    if code == F.CODE_REJ and data:
        return ["code %d" % data[0]]
    if protocol == F.PROTO_PAP:
        if code == 1:
            if len(data) < 1 or 1 + data[0] > len(data):
                return ["malformed"]
            return ['peer-id "%s"' % escape(data[1:1 + data[0]]), "password ****"]
        if data and 1 + data[0] <= len(data):
            return ['"%s"' % escape(data[1:1 + data[0]])] if data[0] else []
        return []
    if protocol == F.PROTO_CHAP:
        if code in (1, 2):
            if not data or data[0] == 0 or 1 + data[0] > len(data):
                return ["malformed"]
            n = data[0]
            return ["value %d octets" % n, 'name "%s"' % escape(data[1 + n:])]
        return ['"%s"' % escape(data)] if data else []
    return ["%d octets" % len(data)] if data else []


def format_control(protocol: int, code: int, ident: int, data: bytes) -> str:
    """``LCP ConfReq id=0x01 len=18 <mru 1400> ...`` for one decoded control packet."""
    pname = _PROTO.get(protocol, "0x%04x" % protocol)
    cname = _CODES.get(protocol, {}).get(code, "code-%d" % code)
    head = "%s %s id=0x%02x len=%d" % (pname, cname, ident, len(data) + 4)
    fields = _fields(protocol, code, data)
    return head + "".join(" <%s>" % f for f in fields)


def format_frame(frame: bytes, direction: str, *, pfc: bool = False) -> str | None:
    """The trace line of one PPP frame as sent (``direction`` "tx") or received ("rx");
    ``None`` for IPv4 data frames."""
    sp = F.split_frame(frame, pfc)
    if sp is None:
        return "%s malformed frame %s" % (direction, frame[:16].hex())
    protocol, info = sp
    if protocol == F.PROTO_IPV4:
        return None
    if protocol not in _PROTO:
        return "%s protocol 0x%04x len=%d" % (direction, protocol, len(info))
    pkt = F.parse_packet(info)
    if pkt is None:
        return "%s %s malformed packet %s" % (direction, _PROTO[protocol], info[:16].hex())
    return direction + " " + format_control(protocol, *pkt)
