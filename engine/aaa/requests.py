"""What the LNS asks a RADIUS server: the request specification and the builders of
the dial-out Access-Request (dialout.md §2), the CPE PAP/CHAP checks (RFC 2865) and
the Accounting Start/Stop (RFC 2866).  Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_TYPE_FRAMED = 2
SERVICE_TYPE_OUTBOUND = 5
NAS_PORT_TYPE_VIRTUAL = 5
FRAMED_PROTOCOL_PPP = 1

Attr = tuple[str, object]


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """What to send.  ``attributes`` are (name, value) pairs in dictionary names
    ('Name:tag' for tagged attributes).  ``password`` is the cleartext User-Password
    (hidden per server, RFC 2865 §5.2).  ``kind`` selects auth or acct servers."""
    kind: str
    attributes: tuple[tuple[str, object], ...]
    password: bytes | None = field(default=None, repr=False)


def dialout_user_name(destination: str, domain: str, rd: str | None = None) -> str:
    """`[RD/]dest@domain` (dialout.md §2)."""
    return f"{rd}/{destination}@{domain}" if rd else f"{destination}@{domain}"


def dialout_request(user_name: str, *, nas_ip: str | None = None,
                    nas_identifier: str | None = None) -> RequestSpec:
    """Dial-out Access-Request: User-Name, Service-Type Outbound, NAS-Port-Type
    Virtual, no password attribute (dialout.md §2)."""
    attrs: list[tuple[str, object]] = [
        ("User-Name", user_name),
        ("Service-Type", SERVICE_TYPE_OUTBOUND),
        ("NAS-Port-Type", NAS_PORT_TYPE_VIRTUAL),
    ]
    if nas_ip:
        attrs.append(("NAS-IP-Address", nas_ip))
    if nas_identifier:
        attrs.append(("NAS-Identifier", nas_identifier))
    return RequestSpec("auth", tuple(attrs))


def _cpe_attrs(user_name: str, nas_ip: str | None, called_station_id: str | None,
               calling_station_id: str | None, nas_port: int | None,
               nas_port_type: int | None) -> list[Attr]:
    attrs: list[tuple[str, object]] = [
        ("User-Name", user_name),
        ("Service-Type", SERVICE_TYPE_FRAMED),
        ("Framed-Protocol", FRAMED_PROTOCOL_PPP),
    ]
    if nas_ip:
        attrs.append(("NAS-IP-Address", nas_ip))
    if nas_port is not None:
        attrs.append(("NAS-Port", nas_port))
    if nas_port_type is not None:
        attrs.append(("NAS-Port-Type", nas_port_type))
    if called_station_id:
        attrs.append(("Called-Station-Id", called_station_id))
    if calling_station_id:
        attrs.append(("Calling-Station-Id", calling_station_id))
    return attrs


def _b(v: str | bytes) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def pap_request(user_name: str, password: str | bytes, *, nas_ip: str | None = None,
                called_station_id: str | None = None, calling_station_id: str | None = None,
                nas_port: int | None = None,
                nas_port_type: int | None = NAS_PORT_TYPE_VIRTUAL) -> RequestSpec:
    """CPE PAP check: User-Password, Service-Type Framed, Framed-Protocol PPP."""
    attrs = _cpe_attrs(user_name, nas_ip, called_station_id, calling_station_id, nas_port,
                       nas_port_type)
    return RequestSpec("auth", tuple(attrs), password=_b(password))


def chap_request(user_name: str, chap_id: int, challenge: bytes, response: bytes, *,
                 nas_ip: str | None = None, called_station_id: str | None = None,
                 calling_station_id: str | None = None, nas_port: int | None = None,
                 nas_port_type: int | None = NAS_PORT_TYPE_VIRTUAL) -> RequestSpec:
    """CPE CHAP-MD5 check: CHAP-Password = identifier + 16-octet response, and
    CHAP-Challenge (RFC 2865 §5.3, §5.40)."""
    if len(response) != 16:
        raise ValueError("CHAP-MD5 response must be 16 octets")
    attrs = _cpe_attrs(user_name, nas_ip, called_station_id, calling_station_id, nas_port,
                       nas_port_type)
    attrs.append(("CHAP-Password", bytes((chap_id & 0xFF,)) + bytes(response)))
    attrs.append(("CHAP-Challenge", bytes(challenge)))
    return RequestSpec("auth", tuple(attrs))


ACCT_START = 1
ACCT_STOP = 2
TERMINATE_CAUSES = {
    "user-request": 1, "lost-carrier": 2, "lost-service": 3, "idle-timeout": 4,
    "session-timeout": 5, "admin-reset": 6, "admin-reboot": 7, "port-error": 8,
    "nas-error": 9, "nas-request": 10, "nas-reboot": 11, "port-unneeded": 12,
    "port-preempted": 13, "port-suspended": 14, "service-unavailable": 15,
    "callback": 16, "user-error": 17, "host-request": 18,
}


def _acct_common(status: int, session_id: str, user_name: str | None, nas_ip: str | None,
                 framed_ip: str | None, called_station_id: str | None,
                 calling_station_id: str | None, nas_port: int | None) -> list[Attr]:
    attrs: list[tuple[str, object]] = [
        ("Acct-Status-Type", status),
        ("Acct-Session-Id", session_id),
    ]
    if user_name:
        attrs.append(("User-Name", user_name))
    if nas_ip:
        attrs.append(("NAS-IP-Address", nas_ip))
    if nas_port is not None:
        attrs.append(("NAS-Port", nas_port))
    attrs.append(("NAS-Port-Type", NAS_PORT_TYPE_VIRTUAL))
    attrs.append(("Service-Type", SERVICE_TYPE_FRAMED))
    attrs.append(("Framed-Protocol", FRAMED_PROTOCOL_PPP))
    if framed_ip:
        attrs.append(("Framed-IP-Address", framed_ip))
    if called_station_id:
        attrs.append(("Called-Station-Id", called_station_id))
    if calling_station_id:
        attrs.append(("Calling-Station-Id", calling_station_id))
    attrs.append(("Acct-Authentic", 1))
    return attrs


def accounting_start(session_id: str, *, user_name: str | None = None,
                     nas_ip: str | None = None, framed_ip: str | None = None,
                     called_station_id: str | None = None,
                     calling_station_id: str | None = None,
                     nas_port: int | None = None, extra: tuple[Attr, ...] = ()) -> RequestSpec:
    """``extra``: attributes appended as they are (RFC 2867: the tunnel of a dial-in)."""
    attrs = _acct_common(ACCT_START, session_id, user_name, nas_ip, framed_ip,
                         called_station_id, calling_station_id, nas_port)
    return RequestSpec("acct", tuple(attrs) + extra)


def accounting_stop(session_id: str, *, user_name: str | None = None,
                    nas_ip: str | None = None, framed_ip: str | None = None,
                    called_station_id: str | None = None,
                    calling_station_id: str | None = None, nas_port: int | None = None,
                    session_time: int = 0, input_octets: int = 0, output_octets: int = 0,
                    input_packets: int = 0, output_packets: int = 0,
                    terminate_cause: int | str = "user-request",
                    extra: tuple[Attr, ...] = ()) -> RequestSpec:
    attrs = _acct_common(ACCT_STOP, session_id, user_name, nas_ip, framed_ip,
                         called_station_id, calling_station_id, nas_port)
    if isinstance(terminate_cause, str):
        terminate_cause = TERMINATE_CAUSES[terminate_cause]
    m = 0xFFFFFFFF
    attrs += [
        ("Acct-Session-Time", int(session_time) & m),
        ("Acct-Input-Octets", int(input_octets) & m),
        ("Acct-Output-Octets", int(output_octets) & m),
        ("Acct-Input-Gigawords", int(input_octets) >> 32),
        ("Acct-Output-Gigawords", int(output_octets) >> 32),
        ("Acct-Input-Packets", int(input_packets) & m),
        ("Acct-Output-Packets", int(output_packets) & m),
        ("Acct-Terminate-Cause", terminate_cause),
    ]
    return RequestSpec("acct", tuple(attrs) + extra)


