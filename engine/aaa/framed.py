"""What a CPE Access-Accept grants (RFC 2865 §5.8, §5.9, §5.22, §5.27, §5.28): the
framed address, netmask, routes and the session and idle time limits."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from engine.aaa.types import REASON_INVALID, REASON_NO_SERVER, REASON_TIMEOUT, RadiusEvent, RadiusReply

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FramedInfo:
    ip: str | None
    netmask: str | None
    routes: tuple[tuple[str, int, str | None, int], ...]  # (prefix, len, gateway, metric)
    session_timeout: int | None
    idle_timeout: int | None


def parse_framed_route(text: str) -> tuple[str, int, str | None, int] | None:
    """'10.1.0.0/16 0.0.0.0 1' or '10.1.0.0 255.255.0.0 0.0.0.0 1' -> (prefix, len,
    gateway or None for 0.0.0.0/absent, metric default 1); None when unparseable."""
    parts = text.split()
    if not parts:
        return None
    try:
        if "/" in parts[0]:
            net = ipaddress.IPv4Network(parts[0], strict=False)
            rest = parts[1:]
        elif len(parts) >= 2 and parts[1].count(".") == 3:
            net = ipaddress.IPv4Network(f"{parts[0]}/{parts[1]}", strict=False)
            rest = parts[2:]
        else:
            net = ipaddress.IPv4Network(f"{parts[0]}/32", strict=False)
            rest = parts[1:]
        gw = None
        metric = 1
        if rest:
            g = ipaddress.IPv4Address(rest[0])
            gw = None if int(g) == 0 else str(g)
        if len(rest) > 1:
            metric = int(rest[1])
    except ValueError:
        return None
    return (str(net.network_address), net.prefixlen, gw, metric)


def parse_framed(reply: RadiusEvent | None) -> FramedInfo | None:
    """FramedInfo from a CPE Access-Accept; None for anything but an accept."""
    if not isinstance(reply, RadiusReply) or reply.code != "accept":
        return None
    a = reply.attributes
    routes: list[tuple[str, int, str | None, int]] = []
    for r in a.get("Framed-Route", ()):
        text = r.decode("utf-8", "replace") if isinstance(r, bytes) else str(r)
        parsed = parse_framed_route(text)
        if parsed is None:
            log.info("unparseable Framed-Route %r ignored", text)
        else:
            routes.append(parsed)

    def str_of(name: str) -> str | None:
        v = a.get(name)
        return None if not v or not isinstance(v[0], str) else v[0]

    def int_of(name: str) -> int | None:
        v = a.get(name)
        return None if not v or not isinstance(v[0], int) else v[0]

    return FramedInfo(str_of("Framed-IP-Address"), str_of("Framed-IP-Netmask"), tuple(routes),
                      int_of("Session-Timeout"), int_of("Idle-Timeout"))




# what a CPE authentication ended with, for the PPP Failure / Nak and the session's reason
CPE_ACCEPTED = "Authentication success"
CPE_REFUSED = "credentials refused"
CPE_UNREACHABLE = "RADIUS server unreachable"
CPE_INVALID = "invalid RADIUS reply"
CPE_NO_SERVER = "no RADIUS server"
CPE_CHALLENGE = "Access-Challenge not supported"


def cpe_verdict(reply: RadiusEvent | None) -> tuple[bool, str]:
    """(accepted, message) of the RADIUS answer to a CPE PAP/CHAP check: only an
    Access-Reject refuses the credentials; a silent, mis-keyed or absent server says so."""
    if isinstance(reply, RadiusReply):
        if reply.code == "accept":
            return True, CPE_ACCEPTED
        if reply.code == "challenge":
            return False, CPE_CHALLENGE
        return False, CPE_REFUSED
    reason = reply.reason if reply is not None else REASON_TIMEOUT
    if reason == REASON_INVALID:
        return False, CPE_INVALID
    if reason == REASON_NO_SERVER:
        return False, CPE_NO_SERVER
    return False, CPE_UNREACHABLE
