"""Sans-IO RADIUS client (RFC 2865 authentication, RFC 2866 accounting).

One ``RadiusClient`` holds the ordered server list of one virtual router.  A request is
sent to the first usable server of its kind ("auth" or "acct"), retransmitted
``retransmit`` times every ``timeout`` seconds, then failed over to the next server; a
server that times out is marked dead for ``deadtime_s`` seconds (0 = never marked dead)
and skipped while dead.  When every server of a kind is dead they are all tried anyway,
in order.

Identifier space and sockets: an Identifier is unique per (local socket, server).  The
client allots at most 255 outstanding requests per (socket, server) and opens a new
logical socket index when that space is full.  Socket index 0 uses plain ``(host,
port)`` addresses; index N >= 1 uses ``(host, port, N)`` in both ``datagrams_to_send``
and ``receive_datagram``.  The asyncio adapter (``engine.aaa.udp``) binds one UDP socket
per index.

Time is passed as ``now`` (seconds, any monotonic origin); randomness (Request
Authenticators, first Identifiers) comes from the injected ``rng``.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
from collections import deque
from dataclasses import dataclass, field

from engine.aaa import codec
from engine.aaa.codec import MalformedPacket
from engine.aaa.tunnel_attrs import (  # noqa: F401  (re-exported API)
    DENY_REASONS, DialoutDenial, DialoutGrant, TunnelDef, parse_dialout_reply)

log = logging.getLogger(__name__)

MAX_IN_FLIGHT_PER_SOCKET = 255

SERVICE_TYPE_FRAMED = 2
SERVICE_TYPE_OUTBOUND = 5
NAS_PORT_TYPE_VIRTUAL = 5
FRAMED_PROTOCOL_PPP = 1


# ---------------------------------------------------------------- configuration

@dataclass(frozen=True, slots=True)
class RadiusServer:
    address: str                       # IPv4 address
    port: int
    secret: bytes = field(repr=False)  # never printed
    timeout: float = 3.0               # seconds between (re)transmissions
    retransmit: int = 3                # retransmissions after the first send
    deadtime_s: float = 0.0            # seconds a failed server is skipped; 0 = never
    kind: str = "auth"                 # "auth" | "acct"


# ---------------------------------------------------------------- requests

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


def _cpe_attrs(user_name, nas_ip, called_station_id, calling_station_id, nas_port,
               nas_port_type):
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


def _b(v) -> bytes:
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


def _acct_common(status, session_id, user_name, nas_ip, framed_ip, called_station_id,
                 calling_station_id, nas_port):
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
                     nas_port: int | None = None) -> RequestSpec:
    attrs = _acct_common(ACCT_START, session_id, user_name, nas_ip, framed_ip,
                         called_station_id, calling_station_id, nas_port)
    return RequestSpec("acct", tuple(attrs))


def accounting_stop(session_id: str, *, user_name: str | None = None,
                    nas_ip: str | None = None, framed_ip: str | None = None,
                    called_station_id: str | None = None,
                    calling_station_id: str | None = None, nas_port: int | None = None,
                    session_time: int = 0, input_octets: int = 0, output_octets: int = 0,
                    input_packets: int = 0, output_packets: int = 0,
                    terminate_cause: int | str = "user-request") -> RequestSpec:
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
    return RequestSpec("acct", tuple(attrs))


# ---------------------------------------------------------------- events

@dataclass(frozen=True, slots=True)
class RadiusReply:
    request_id: int
    code: str                  # "accept" | "reject" | "challenge" | "accounting-response"
    attributes: dict           # {name or 'Name:tag': (values...)}; Tunnel-Password decrypted
    request_authenticator: bytes
    server: tuple[str, int] = ("", 0)
    rtt: float = 0.0           # seconds since the last (re)transmission


@dataclass(frozen=True, slots=True)
class RadiusTimeout:
    request_id: int
    reason: str = "timeout"    # "timeout" | "no-server"


@dataclass(frozen=True, slots=True)
class ServerStats:
    address: str
    port: int
    kind: str
    state: str                 # "up" | "dead"
    dead_until: float | None
    requests: int              # first transmissions
    retransmits: int
    accepts: int
    rejects: int
    challenges: int
    accounting_responses: int
    timeouts: int              # requests given up on this server
    malformed: int
    bad_authenticators: int
    unknown_responses: int     # late / duplicate / unmatched replies
    pending: int
    last_rtt: float | None


class _Stats:
    __slots__ = ("requests", "retransmits", "accepts", "rejects", "challenges",
                 "accounting_responses", "timeouts", "malformed", "bad_authenticators",
                 "unknown_responses", "pending", "last_rtt", "dead_until")

    def __init__(self):
        for s in self.__slots__:
            setattr(self, s, 0)
        self.last_rtt = None
        self.dead_until = None


class _Pending:
    __slots__ = ("request_id", "state", "spec", "base_attrs", "candidates", "pos", "server_idx",
                 "attempts", "deadline", "sock", "ident", "authenticator", "data", "sent_at")


# Request lifecycle.  RFC 2865 §2.4: retransmit with the same Identifier and
# Request Authenticator, then try an alternate server (new Identifier/authenticator);
# RFC 2865 §3: replies with an invalid Response Authenticator (or a bad
# Message-Authenticator, RFC 3579 §3.2) are silently discarded; RFC 5080 §2.2.1: the
# Identifier is freed when the request completes.
IDLE, WAIT_REPLY, DONE, FAILED, CANCELLED = "idle", "wait-reply", "done", "failed", "cancelled"
EV_START, EV_NO_SERVER, EV_REPLY, EV_BAD_REPLY = "start", "no-server", "reply", "bad-reply"
EV_RETRY, EV_FAILOVER, EV_GIVE_UP, EV_CANCEL = "retry", "failover", "give-up", "cancel"
REQUEST_STATES = (IDLE, WAIT_REPLY, DONE, FAILED, CANCELLED)
REQUEST_EVENTS = (EV_START, EV_NO_SERVER, EV_REPLY, EV_BAD_REPLY, EV_RETRY, EV_FAILOVER,
                  EV_GIVE_UP, EV_CANCEL)
REQUEST_TRANSITIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    # RFC 2865 §2.4: first transmission to the first usable server
    (IDLE, EV_START): (WAIT_REPLY, ("send_to_server",)),
    # no server of this kind configured
    (IDLE, EV_NO_SERVER): (FAILED, ("finish", "emit_timeout")),
    # RFC 2865 §3: authenticated reply; RFC 5080 §2.2.1 frees the Identifier
    (WAIT_REPLY, EV_REPLY): (DONE, ("emit_reply", "finish")),
    # RFC 2865 §3, RFC 3579 §3.2: silently discarded, keep waiting
    (WAIT_REPLY, EV_BAD_REPLY): (WAIT_REPLY, ("count_invalid",)),
    # RFC 2865 §2.4: retransmission, same Identifier and Request Authenticator
    (WAIT_REPLY, EV_RETRY): (WAIT_REPLY, ("retransmit",)),
    # RFC 2865 §2.4: alternate server after the retransmissions
    (WAIT_REPLY, EV_FAILOVER): (WAIT_REPLY, ("count_timeout", "mark_dead", "release",
                                             "send_to_server")),
    (WAIT_REPLY, EV_GIVE_UP): (FAILED, ("count_timeout", "mark_dead", "finish",
                                        "emit_timeout")),
    (WAIT_REPLY, EV_CANCEL): (CANCELLED, ("finish",)),
}
# every other (state, event) pair leaves the request unchanged
for _s in REQUEST_STATES:
    for _e in REQUEST_EVENTS:
        REQUEST_TRANSITIONS.setdefault((_s, _e), (_s, ()))
del _s, _e


def _is_dead(st: _Stats, now: float) -> bool:
    return st.dead_until is not None and now < st.dead_until


class RadiusClient:
    def __init__(self, servers: list[RadiusServer], *, rng, nas_ip: str | None = "127.0.0.1"):
        self.servers = list(servers)
        self._rng = rng
        self.nas_ip = nas_ip
        self._stats = [_Stats() for _ in self.servers]
        self._addr_index: dict[tuple[str, int], int] = {}
        for i, s in enumerate(self.servers):
            self._addr_index.setdefault((s.address, s.port), i)
        self._pending: dict[int, _Pending] = {}
        # identifiers are unique per (socket, server address, port)
        self._by_wire: dict[tuple, int] = {}   # (sock, host, port, ident) -> request id
        self._used: dict[tuple, set] = {}      # (sock, host, port) -> idents in use
        self._next_ident: dict[tuple, int] = {}
        self._heap: list = []
        self._out: list = []
        self._events: deque = deque()
        self._next_id = 1
        self.counters = {"unknown_source": 0, "malformed": 0}
        self.socket_count = 1

    # -------------------------------------------------- public API

    def request(self, spec: RequestSpec, *, now: float) -> int:
        """Queue a request; returns its request id.  Events: RadiusReply or
        RadiusTimeout with the same id."""
        p = self._new_pending(spec, now)
        if p.candidates:
            self._fire(p, EV_START, now, 0)
        else:
            self._fire(p, EV_NO_SERVER, now, "no-server")
        return p.request_id

    def _new_pending(self, spec: RequestSpec, now: float) -> "_Pending":
        rid = self._next_id
        self._next_id += 1
        attrs = spec.attributes
        if self.nas_ip and not any(n in ("NAS-IP-Address", "NAS-Identifier")
                                   for n, _ in attrs):
            attrs = attrs + (("NAS-IP-Address", self.nas_ip),)
        p = _Pending()
        p.request_id = rid
        p.state = IDLE
        p.spec = spec
        p.base_attrs = codec.encode_attributes(attrs)
        p.candidates = self._candidates(spec.kind, now)
        p.pos = -1
        p.sock = p.ident = p.server_idx = None
        p.deadline = None
        p.sent_at = now
        p.attempts = 0
        self._pending[rid] = p
        return p

    def cancel(self, request_id: int, *, now: float = 0.0) -> None:
        """Forget a request (no event is emitted for it)."""
        p = self._pending.get(request_id)
        if p is not None:
            self._fire(p, EV_CANCEL, now)

    def receive_datagram(self, data: bytes, addr, *, now: float) -> None:
        sock = addr[2] if len(addr) > 2 else 0
        idx = self._addr_index.get((addr[0], addr[1]))
        if idx is None:
            self.counters["unknown_source"] += 1
            log.info("RADIUS datagram from unknown source %s:%s dropped", addr[0], addr[1])
            return
        st = self._stats[idx]
        try:
            code, ident, length, _ = codec.parse_header(data)
        except MalformedPacket as exc:
            st.malformed += 1
            log.info("malformed RADIUS reply from %s:%s: %s", addr[0], addr[1], exc)
            return
        rid = self._by_wire.get((sock, addr[0], addr[1], ident))
        p = self._pending.get(rid) if rid is not None else None
        if p is None:
            st.unknown_responses += 1
            return
        data = data[:length]
        server = self.servers[p.server_idx]
        if not codec.verify_response(data, p.authenticator, server.secret):
            log.warning("RADIUS reply from %s:%s id %d failed authenticator check, dropped",
                        addr[0], addr[1], ident)
            self._fire(p, EV_BAD_REPLY, now, "bad_authenticators")
            return
        expected = (codec.ACCOUNTING_RESPONSE,) if p.spec.kind == "acct" else (
            codec.ACCESS_ACCEPT, codec.ACCESS_REJECT, codec.ACCESS_CHALLENGE)
        if code not in expected:
            log.info("unexpected RADIUS code %d from %s:%s", code, addr[0], addr[1])
            self._fire(p, EV_BAD_REPLY, now, "malformed")
            return
        try:
            decoded = codec.decode_attributes(data[20:], secret=server.secret,
                                              authenticator=p.authenticator)
        except MalformedPacket as exc:
            log.info("malformed attributes from %s:%s: %s", addr[0], addr[1], exc)
            self._fire(p, EV_BAD_REPLY, now, "malformed")
            return
        self._fire(p, EV_REPLY, now, (code, decoded))

    def datagrams_to_send(self, *, now: float | None = None) -> list:
        out, self._out = self._out, []
        return out

    def get_timer(self) -> float | None:
        h = self._heap
        while h:
            deadline, rid = h[0]
            p = self._pending.get(rid)
            if p is not None and p.deadline == deadline:
                return deadline
            heapq.heappop(h)
        return None

    def handle_timer(self, *, now: float) -> None:
        h = self._heap
        while h and h[0][0] <= now:
            deadline, rid = heapq.heappop(h)
            p = self._pending.get(rid)
            if p is None or p.deadline != deadline:
                continue
            if p.attempts <= self.servers[p.server_idx].retransmit:
                self._fire(p, EV_RETRY, now)
                continue
            nxt = self._next_position(p, now)
            self._fire(p, EV_GIVE_UP if nxt is None else EV_FAILOVER, now, nxt)

    def next_event(self):
        return self._events.popleft() if self._events else None

    def snapshot(self, *, now: float | None = None) -> tuple[ServerStats, ...]:
        out = []
        for s, st in zip(self.servers, self._stats):
            dead = st.dead_until is not None and (now is None or now < st.dead_until)
            out.append(ServerStats(
                s.address, s.port, s.kind, "dead" if dead else "up",
                st.dead_until if dead else None,
                st.requests, st.retransmits, st.accepts, st.rejects, st.challenges,
                st.accounting_responses, st.timeouts, st.malformed, st.bad_authenticators,
                st.unknown_responses, st.pending, st.last_rtt))
        return tuple(out)

    def reset_statistics(self) -> None:
        """`clear radius statistics`: zero the counters (state, pending kept)."""
        for st in self._stats:
            for name in ("requests", "retransmits", "accepts", "rejects", "challenges",
                         "accounting_responses", "timeouts", "malformed",
                         "bad_authenticators", "unknown_responses"):
                setattr(st, name, 0)
            st.last_rtt = None
        for k in self.counters:
            self.counters[k] = 0

    def has_servers(self, kind: str) -> bool:
        """Whether a server of this kind ("auth" / "acct") is configured."""
        return any(s.kind == kind for s in self.servers)

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -------------------------------------------------- internals

    def _candidates(self, kind: str, now: float) -> list[int]:
        idxs = [i for i, s in enumerate(self.servers) if s.kind == kind]
        alive = [i for i in idxs if not _is_dead(self._stats[i], now)]
        return alive or idxs

    def _next_position(self, p: _Pending, now: float) -> int | None:
        """Position in p.candidates of the next usable server after the current one.
        A server another request has marked dead meanwhile is skipped."""
        pos = p.pos + 1
        while pos < len(p.candidates):
            if not _is_dead(self._stats[p.candidates[pos]], now):
                return pos
            pos += 1
        return None

    def _fire(self, p: _Pending, event: str, now: float, ctx=None) -> None:
        next_state, actions = REQUEST_TRANSITIONS[(p.state, event)]
        p.state = next_state
        for action in actions:
            getattr(self, "_act_" + action)(p, now, ctx)

    # actions of REQUEST_TRANSITIONS

    def _act_send_to_server(self, p: _Pending, now: float, pos) -> None:
        p.pos = pos
        idx = p.candidates[pos]
        server = self.servers[idx]
        sock, ident = self._alloc(idx)
        p.server_idx, p.sock, p.ident = idx, sock, ident
        p.attempts = 1
        p.authenticator = self._rng.getrandbits(128).to_bytes(16, "big")
        self._by_wire[(sock, server.address, server.port, ident)] = p.request_id
        st = self._stats[idx]
        st.requests += 1
        st.pending += 1
        if p.spec.kind == "acct":
            p.data = codec.build_accounting_request(ident, p.base_attrs, server.secret)
            p.authenticator = p.data[4:20]
        else:
            attrs = p.base_attrs
            if p.spec.password is not None:
                hidden = codec.hide_password(p.spec.password, server.secret, p.authenticator)
                attrs = bytes((2, len(hidden) + 2)) + hidden + attrs
            p.data = codec.build_access_request(ident, p.authenticator, attrs, server.secret)
        self._transmit(p, now)

    def _act_retransmit(self, p: _Pending, now: float, ctx) -> None:
        p.attempts += 1
        self._stats[p.server_idx].retransmits += 1
        self._transmit(p, now)

    def _act_count_timeout(self, p: _Pending, now: float, ctx) -> None:
        self._stats[p.server_idx].timeouts += 1

    def _act_mark_dead(self, p: _Pending, now: float, ctx) -> None:
        server = self.servers[p.server_idx]
        if server.deadtime_s > 0:
            self._stats[p.server_idx].dead_until = now + server.deadtime_s
            log.warning("RADIUS server %s:%s marked dead for %.0f s", server.address,
                        server.port, server.deadtime_s)

    def _act_count_invalid(self, p: _Pending, now: float, counter) -> None:
        st = self._stats[p.server_idx]
        setattr(st, counter, getattr(st, counter) + 1)

    def _act_finish(self, p: _Pending, now: float, ctx) -> None:
        self._release(p)
        p.deadline = None
        self._pending.pop(p.request_id, None)

    def _act_emit_timeout(self, p: _Pending, now: float, reason) -> None:
        self._events.append(RadiusTimeout(p.request_id, reason if isinstance(reason, str)
                                          else "timeout"))

    def _act_emit_reply(self, p: _Pending, now: float, ctx) -> None:
        code, decoded = ctx
        server = self.servers[p.server_idx]
        st = self._stats[p.server_idx]
        if code == codec.ACCESS_ACCEPT:
            st.accepts += 1
        elif code == codec.ACCESS_REJECT:
            st.rejects += 1
        elif code == codec.ACCESS_CHALLENGE:
            st.challenges += 1
        else:
            st.accounting_responses += 1
        st.last_rtt = now - p.sent_at
        st.dead_until = None
        self._events.append(RadiusReply(p.request_id, codec.CODE_NAMES[code],
                                        codec.attributes_dict(decoded), p.authenticator,
                                        (server.address, server.port), st.last_rtt))

    def _transmit(self, p: _Pending, now: float) -> None:
        server = self.servers[p.server_idx]
        addr = (server.address, server.port) if p.sock == 0 else (
            server.address, server.port, p.sock)
        self._out.append((p.data, addr))
        p.sent_at = now
        p.deadline = now + server.timeout
        heapq.heappush(self._heap, (p.deadline, p.request_id))

    def _alloc(self, idx: int) -> tuple[int, int]:
        sock = 0
        server = self.servers[idx]
        while True:
            key = (sock, server.address, server.port)
            used = self._used.setdefault(key, set())
            if len(used) < MAX_IN_FLIGHT_PER_SOCKET:
                nxt = self._next_ident.get(key)
                if nxt is None:
                    nxt = self._rng.randrange(256)
                while nxt in used:
                    nxt = (nxt + 1) & 0xFF
                used.add(nxt)
                self._next_ident[key] = (nxt + 1) & 0xFF
                if sock + 1 > self.socket_count:
                    self.socket_count = sock + 1
                return sock, nxt
            sock += 1

    def _act_release(self, p: _Pending, now: float, ctx) -> None:
        self._release(p)

    def _release(self, p: _Pending) -> None:
        if p.ident is None:
            return
        server = self.servers[p.server_idx]
        self._used[(p.sock, server.address, server.port)].discard(p.ident)
        self._by_wire.pop((p.sock, server.address, server.port, p.ident), None)
        self._stats[p.server_idx].pending -= 1
        p.ident = None


# ---------------------------------------------------------------- CPE replies

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


def parse_framed(reply) -> FramedInfo | None:
    """FramedInfo from a CPE Access-Accept; None for anything but an accept."""
    if reply is None or getattr(reply, "code", None) != "accept":
        return None
    a = reply.attributes
    routes = []
    for r in a.get("Framed-Route", ()):
        text = r.decode("utf-8", "replace") if isinstance(r, bytes) else str(r)
        parsed = parse_framed_route(text)
        if parsed is None:
            log.info("unparseable Framed-Route %r ignored", text)
        else:
            routes.append(parsed)

    def first(name):
        v = a.get(name)
        return v[0] if v else None

    return FramedInfo(first("Framed-IP-Address"), first("Framed-IP-Netmask"), tuple(routes),
                      first("Session-Timeout"), first("Idle-Timeout"))


__all__ = [
    "RadiusServer", "RadiusClient", "RequestSpec", "RadiusReply", "RadiusTimeout",
    "ServerStats", "dialout_user_name", "dialout_request", "pap_request", "chap_request",
    "accounting_start", "accounting_stop", "parse_dialout_reply", "DialoutGrant",
    "DialoutDenial", "TunnelDef", "FramedInfo", "parse_framed", "parse_framed_route",
    "DENY_REASONS",
]
