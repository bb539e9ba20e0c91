"""Sans-IO RADIUS client (RFC 2865 authentication, RFC 2866 accounting).

One ``RadiusClient`` holds the ordered server list of one virtual router.  A request is
sent to the first usable server of its kind ("auth" or "acct"), retransmitted
``retransmit`` times every ``timeout`` seconds, then failed over to the next server; a
server that times out is marked dead for ``deadtime_s`` seconds (0 = never marked dead)
and skipped while dead.  When every server of a kind is dead, each is tried once, in
order; any valid answer revives a server.

A server with ``max_sessions`` > 0 has at most that many requests outstanding; further
requests wait in its queue, in order, and are sent as answers free the places.

Replies are checked before they are trusted: source address and port, Identifier,
Response Authenticator (RFC 2865 §3), Message-Authenticator (RFC 3579 §3.2).  An
Access-Accept, -Reject or -Challenge without a Message-Authenticator is dropped when
the server has ``require_message_authenticator`` (CVE-2024-3596, BlastRADIUS); one of
the wrong length is always dropped.  Every dropped reply is counted on its server.

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
import logging
import random
from collections import deque
from typing import Any

from engine.aaa import codec
from engine.aaa.framed import CPE_NO_SERVER, FramedInfo, cpe_verdict, parse_framed, parse_framed_route
from engine.aaa.requests import (
    ACCT_START,
    ACCT_STOP,
    FRAMED_PROTOCOL_PPP,
    NAS_PORT_TYPE_VIRTUAL,
    SERVICE_TYPE_FRAMED,
    SERVICE_TYPE_OUTBOUND,
    TERMINATE_CAUSES,
    RequestSpec,
    accounting_start,
    accounting_stop,
    chap_request,
    dialout_request,
    dialout_user_name,
    pap_request,
)
from engine.aaa.server import COUNTER_NAMES, STATE_DEAD, STATE_UP, RadiusServer, ServerStats
from engine.aaa.tunnel_attrs import DENY_REASONS, DialoutDenial, DialoutGrant, TunnelDef, parse_dialout_reply
from engine.aaa.types import (
    REASON_INVALID,
    REASON_NO_SERVER,
    REASON_TIMEOUT,
    MalformedPacket,
    RadiusEvent,
    RadiusReply,
    RadiusTimeout,
)

log = logging.getLogger(__name__)

MAX_IN_FLIGHT_PER_SOCKET = 255

Address = tuple[str, int] | tuple[str, int, int]
WireKey = tuple[int, str, int]             # (socket index, server host, server port)


class _Stats:
    __slots__ = ("counters", "pending", "last_rtt", "dead_until", "queue")

    def __init__(self) -> None:
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
        self.pending = 0
        self.last_rtt: float | None = None
        self.dead_until: float | None = None
        self.queue: deque[int] = deque()       # request ids waiting for max-sessions


class _Pending:
    __slots__ = ("request_id", "state", "spec", "base_attrs", "candidates", "all_dead", "pos",
                 "server_idx", "attempts", "deadline", "sock", "ident", "authenticator",
                 "data", "sent_at", "invalid")

    def __init__(self, request_id: int, spec: RequestSpec, base_attrs: bytes,
                 candidates: list[int], all_dead: bool, now: float) -> None:
        self.request_id = request_id
        self.state = IDLE
        self.spec = spec
        self.base_attrs = base_attrs
        self.candidates = candidates
        self.all_dead = all_dead        # every server was dead: try each once anyway
        self.pos = -1
        self.server_idx = -1
        self.attempts = 0
        self.deadline: float | None = None
        self.sock = 0
        self.ident: int | None = None
        self.authenticator = b""
        self.data = b""
        self.sent_at = now
        self.invalid = 0                # replies dropped as invalid


# Request lifecycle.  RFC 2865 §2.4: retransmit with the same Identifier and
# Request Authenticator, then try an alternate server (new Identifier/authenticator);
# RFC 2865 §3: replies with an invalid Response Authenticator (or a bad
# Message-Authenticator, RFC 3579 §3.2) are silently discarded; RFC 5080 §2.2.1: the
# Identifier is freed when the request completes.  QUEUED: the server's max-sessions
# places are taken.
IDLE, QUEUED, WAIT_REPLY = "idle", "queued", "wait-reply"
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
EV_START, EV_QUEUE, EV_DEQUEUE, EV_NO_SERVER = "start", "queue", "dequeue", "no-server"
EV_REPLY, EV_BAD_REPLY, EV_RETRY = "reply", "bad-reply", "retry"
EV_FAILOVER, EV_FAILOVER_QUEUE, EV_GIVE_UP, EV_CANCEL = (
    "failover", "failover-queue", "give-up", "cancel")
REQUEST_STATES = (IDLE, QUEUED, WAIT_REPLY, DONE, FAILED, CANCELLED)
REQUEST_EVENTS = (EV_START, EV_QUEUE, EV_DEQUEUE, EV_NO_SERVER, EV_REPLY, EV_BAD_REPLY,
                  EV_RETRY, EV_FAILOVER, EV_FAILOVER_QUEUE, EV_GIVE_UP, EV_CANCEL)
REQUEST_TRANSITIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    # RFC 2865 §2.4: first transmission to the first usable server
    (IDLE, EV_START): (WAIT_REPLY, ("send_to_server",)),
    # the server has max-sessions requests outstanding: wait for a place
    (IDLE, EV_QUEUE): (QUEUED, ("enqueue",)),
    (QUEUED, EV_DEQUEUE): (WAIT_REPLY, ("send_to_server",)),
    (QUEUED, EV_CANCEL): (CANCELLED, ("dequeue", "finish")),
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
    (WAIT_REPLY, EV_FAILOVER_QUEUE): (QUEUED, ("count_timeout", "mark_dead", "release",
                                               "enqueue")),
    (WAIT_REPLY, EV_GIVE_UP): (FAILED, ("count_timeout", "mark_dead", "finish",
                                        "emit_timeout")),
    (WAIT_REPLY, EV_CANCEL): (CANCELLED, ("finish",)),
}
# every other (state, event) pair leaves the request unchanged
for _s in REQUEST_STATES:
    for _e in REQUEST_EVENTS:
        REQUEST_TRANSITIONS.setdefault((_s, _e), (_s, ()))
del _s, _e
# action -> name of the method performing it, built once: a name built per call is a new string
# each time, and the interpreter's attribute cache keeps the last ones alive, scattered among
# the memory of the requests of a flood
_ACTION_METHODS: dict[str, str] = {a: "_act_" + a for _next, acts in REQUEST_TRANSITIONS.values()
                                   for a in acts}


def _is_dead(st: _Stats, now: float) -> bool:
    return st.dead_until is not None and now < st.dead_until


class RadiusClient:
    def __init__(self, servers: list[RadiusServer], *, rng: random.Random,
                 nas_ip: str | None = "127.0.0.1") -> None:
        self.servers = list(servers)
        self._rng = rng
        self.nas_ip = nas_ip
        self._stats = [_Stats() for _ in self.servers]
        self._addr_index: dict[tuple[str, int], int] = {}
        self._host_index: dict[str, int] = {}
        for i, s in enumerate(self.servers):
            self._addr_index.setdefault((s.address, s.port), i)
            self._host_index.setdefault(s.address, i)
        self._of_kind: dict[str, list[int]] = {}   # kind -> its servers' indexes (read-only)
        self._pending: dict[int, _Pending] = {}
        # identifiers are unique per (socket, server address, port)
        self._by_wire: dict[tuple[int, str, int, int], int] = {}
        self._used: dict[WireKey, set[int]] = {}
        self._next_ident: dict[WireKey, int] = {}
        self._heap: list[tuple[float, int]] = []
        self._out: list[tuple[bytes, Address]] = []
        self._events: deque[RadiusEvent] = deque()
        self._next_id = 1
        # datagrams from an address no server has
        self.counters = {"unknown_source": 0}
        self.socket_count = 1

    # -------------------------------------------------- public API

    def request(self, spec: RequestSpec, *, now: float) -> int:
        """Queue a request; returns its request id.  Events: RadiusReply or
        RadiusTimeout with the same id."""
        p = self._new_pending(spec, now)
        if not p.candidates:
            self._fire(p, EV_NO_SERVER, now, REASON_NO_SERVER)
        else:
            self._fire(p, EV_QUEUE if self._full(p.candidates[0]) else EV_START, now, 0)
        return p.request_id

    def cancel(self, request_id: int, *, now: float = 0.0) -> None:
        """Forget a request (no event is emitted for it)."""
        p = self._pending.get(request_id)
        if p is not None:
            self._fire(p, EV_CANCEL, now)

    def receive_datagram(self, data: bytes, addr: Address, *, now: float) -> None:
        sock = addr[2] if len(addr) > 2 else 0
        host, port = addr[0], addr[1]
        idx = self._addr_index.get((host, port))
        if idx is None:
            by_host = self._host_index.get(host)
            if by_host is None:
                self.counters["unknown_source"] += 1
            else:
                self._stats[by_host].counters["wrong_source"] += 1
            log.info("RADIUS datagram from unknown source %s:%s dropped", host, port)
            return
        st = self._stats[idx]
        try:
            code, ident, length, _ = codec.parse_header(data)
        except MalformedPacket as exc:
            st.counters["malformed"] += 1
            log.info("malformed RADIUS reply from %s:%s: %s", host, port, exc)
            return
        rid = self._by_wire.get((sock, host, port, ident))
        p = self._pending.get(rid) if rid is not None else None
        if p is None:
            st.counters["unknown_responses"] += 1
            return
        data = data[:length]
        server = self.servers[p.server_idx]   # an auth and an acct server may share an address
        check = codec.check_response(data, p.authenticator, server.secret)
        if check != codec.RESPONSE_OK:
            self._drop(p, now, check, ident)
            return
        expected = (codec.ACCOUNTING_RESPONSE,) if p.spec.kind == "acct" else (
            codec.ACCESS_ACCEPT, codec.ACCESS_REJECT, codec.ACCESS_CHALLENGE)
        if code not in expected:
            log.info("unexpected RADIUS code %d from %s:%s", code, host, port)
            self._fire(p, EV_BAD_REPLY, now, "malformed")
            return
        if (p.spec.kind == "auth" and server.require_message_authenticator
                and not codec.has_message_authenticator(data)):
            self._drop(p, now, codec.RESPONSE_NO_MESSAGE_AUTHENTICATOR, ident)
            return
        try:
            decoded = codec.decode_attributes(data[20:], secret=server.secret,
                                              authenticator=p.authenticator)
        except MalformedPacket as exc:
            log.info("malformed attributes from %s:%s: %s", host, port, exc)
            self._fire(p, EV_BAD_REPLY, now, "malformed")
            return
        self._fire(p, EV_REPLY, now, (code, decoded))

    def datagrams_to_send(self, *, now: float | None = None) -> list[tuple[bytes, Address]]:
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
            if nxt is None:
                self._fire(p, EV_GIVE_UP, now, REASON_TIMEOUT)
            elif self._full(p.candidates[nxt]):
                self._fire(p, EV_FAILOVER_QUEUE, now, nxt)
            else:
                self._fire(p, EV_FAILOVER, now, nxt)

    def next_event(self) -> RadiusEvent | None:
        return self._events.popleft() if self._events else None

    def snapshot(self, *, now: float | None = None) -> tuple[ServerStats, ...]:
        out = []
        for s, st in zip(self.servers, self._stats, strict=True):
            dead = st.dead_until is not None and (now is None or now < st.dead_until)
            left = None if not dead or st.dead_until is None or now is None else (
                st.dead_until - now)
            c = st.counters
            out.append(ServerStats(
                s.address, s.port, s.kind, STATE_DEAD if dead else STATE_UP,
                st.dead_until if dead else None, left, st.pending, len(st.queue),
                st.last_rtt, c["requests"], c["retransmits"], c["accepts"], c["rejects"],
                c["challenges"], c["accounting_responses"], c["timeouts"], c["queued"],
                c["malformed"], c["bad_authenticators"], c["missing_message_authenticators"],
                c["wrong_source"], c["unknown_responses"]))
        return tuple(out)

    def reset_statistics(self) -> None:
        """`clear radius statistics`: zero the counters (state, pending kept)."""
        for st in self._stats:
            st.counters = dict.fromkeys(COUNTER_NAMES, 0)
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

    def _new_pending(self, spec: RequestSpec, now: float) -> _Pending:
        rid = self._next_id
        self._next_id += 1
        attrs = spec.attributes
        if self.nas_ip:
            for n, _ in attrs:
                if n == "NAS-IP-Address" or n == "NAS-Identifier":
                    break
            else:
                attrs = attrs + (("NAS-IP-Address", self.nas_ip),)
        idxs = self._of_kind.get(spec.kind)
        if idxs is None:
            idxs = self._of_kind[spec.kind] = [i for i, s in enumerate(self.servers)
                                               if s.kind == spec.kind]
        alive = [i for i in idxs if not _is_dead(self._stats[i], now)]
        p = _Pending(rid, spec, codec.encode_attributes(attrs), alive or list(idxs), not alive,
                     now)
        self._pending[rid] = p
        return p

    def _full(self, idx: int) -> bool:
        limit = self.servers[idx].max_sessions
        st = self._stats[idx]
        return limit > 0 and (st.pending >= limit or bool(st.queue))

    def _next_position(self, p: _Pending, now: float) -> int | None:
        """Position in p.candidates of the next server to try after the current one.
        A server another request has marked dead meanwhile is skipped, unless every
        server was dead when the request started: then each is tried once."""
        pos = p.pos + 1
        while pos < len(p.candidates):
            if p.all_dead or not _is_dead(self._stats[p.candidates[pos]], now):
                return pos
            pos += 1
        return None

    def _drop(self, p: _Pending, now: float, check: str, ident: int) -> None:
        server = self.servers[p.server_idx]
        log.info("RADIUS reply from %s:%s id %d dropped: %s", server.address, server.port,
                 ident, check)
        self._fire(p, EV_BAD_REPLY, now, _DROP_COUNTERS[check])

    def _fire(self, p: _Pending, event: str, now: float, ctx: Any = None) -> None:
        next_state, actions = REQUEST_TRANSITIONS[(p.state, event)]
        p.state = next_state
        for action in actions:
            getattr(self, _ACTION_METHODS[action])(p, now, ctx)

    # actions of REQUEST_TRANSITIONS

    def _act_enqueue(self, p: _Pending, now: float, pos: int) -> None:
        p.pos = pos
        p.server_idx = p.candidates[pos]
        p.deadline = None
        st = self._stats[p.server_idx]
        st.queue.append(p.request_id)
        st.counters["queued"] += 1

    def _act_dequeue(self, p: _Pending, now: float, ctx: Any) -> None:
        q = self._stats[p.server_idx].queue
        if p.request_id in q:
            q.remove(p.request_id)

    def _act_send_to_server(self, p: _Pending, now: float, pos: int) -> None:
        p.pos = pos
        idx = p.candidates[pos]
        server = self.servers[idx]
        sock, ident = self._alloc(idx)
        p.server_idx, p.sock, p.ident = idx, sock, ident
        p.attempts = 1
        p.authenticator = self._rng.getrandbits(128).to_bytes(16, "big")
        self._by_wire[(sock, server.address, server.port, ident)] = p.request_id
        st = self._stats[idx]
        st.counters["requests"] += 1
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

    def _act_retransmit(self, p: _Pending, now: float, ctx: Any) -> None:
        p.attempts += 1
        self._stats[p.server_idx].counters["retransmits"] += 1
        self._transmit(p, now)

    def _act_count_timeout(self, p: _Pending, now: float, ctx: Any) -> None:
        self._stats[p.server_idx].counters["timeouts"] += 1

    def _act_mark_dead(self, p: _Pending, now: float, ctx: Any) -> None:
        server = self.servers[p.server_idx]
        if server.deadtime_s > 0:
            self._stats[p.server_idx].dead_until = now + server.deadtime_s
            log.info("RADIUS server %s:%s marked dead for %.0f s", server.address,
                        server.port, server.deadtime_s)

    def _act_count_invalid(self, p: _Pending, now: float, counter: str) -> None:
        self._stats[p.server_idx].counters[counter] += 1
        p.invalid += 1

    def _act_finish(self, p: _Pending, now: float, ctx: Any) -> None:
        self._release(p, now)
        p.deadline = None
        self._pending.pop(p.request_id, None)

    def _act_emit_timeout(self, p: _Pending, now: float, reason: str | None) -> None:
        if reason is None:
            reason = REASON_TIMEOUT
        if reason == REASON_TIMEOUT and p.invalid:
            reason = REASON_INVALID
        self._events.append(RadiusTimeout(p.request_id, reason))

    def _act_emit_reply(self, p: _Pending, now: float,
                        ctx: tuple[int, list[tuple[str, int, object]]]) -> None:
        code, decoded = ctx
        server = self.servers[p.server_idx]
        st = self._stats[p.server_idx]
        st.counters[_REPLY_COUNTERS[code]] += 1
        st.last_rtt = now - p.sent_at
        if st.dead_until is not None:
            log.info("RADIUS server %s:%s answers again", server.address, server.port)
        st.dead_until = None
        self._events.append(RadiusReply(p.request_id, codec.CODE_NAMES[code],
                                        codec.attributes_dict(decoded), p.authenticator,
                                        (server.address, server.port), st.last_rtt))

    def _transmit(self, p: _Pending, now: float) -> None:
        server = self.servers[p.server_idx]
        addr: Address = (server.address, server.port) if p.sock == 0 else (
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

    def _act_release(self, p: _Pending, now: float, ctx: Any) -> None:
        self._release(p, now)

    def _release(self, p: _Pending, now: float) -> None:
        if p.ident is None:
            return
        idx = p.server_idx
        server = self.servers[idx]
        self._used[(p.sock, server.address, server.port)].discard(p.ident)
        self._by_wire.pop((p.sock, server.address, server.port, p.ident), None)
        st = self._stats[idx]
        st.pending -= 1
        p.ident = None
        # a place is free: the next queued request of this server goes out
        if st.queue:
            nxt = self._pending.get(st.queue.popleft())
            if nxt is not None:
                self._fire(nxt, EV_DEQUEUE, now, nxt.pos)


_REPLY_COUNTERS = {
    codec.ACCESS_ACCEPT: "accepts", codec.ACCESS_REJECT: "rejects",
    codec.ACCESS_CHALLENGE: "challenges", codec.ACCOUNTING_RESPONSE: "accounting_responses",
}
_DROP_COUNTERS = {
    codec.RESPONSE_BAD_AUTHENTICATOR: "bad_authenticators",
    codec.RESPONSE_MALFORMED_MESSAGE_AUTHENTICATOR: "malformed",
    codec.RESPONSE_NO_MESSAGE_AUTHENTICATOR: "missing_message_authenticators",
}

__all__ = [
    "RadiusServer", "RadiusClient", "RequestSpec", "RadiusReply", "RadiusTimeout",
    "ServerStats", "dialout_user_name", "dialout_request", "pap_request", "chap_request",
    "accounting_start", "accounting_stop", "parse_dialout_reply", "DialoutGrant",
    "DialoutDenial", "TunnelDef", "FramedInfo", "parse_framed", "parse_framed_route",
    "DENY_REASONS", "ACCT_START", "ACCT_STOP", "TERMINATE_CAUSES", "SERVICE_TYPE_FRAMED",
    "SERVICE_TYPE_OUTBOUND", "NAS_PORT_TYPE_VIRTUAL", "FRAMED_PROTOCOL_PPP", "cpe_verdict",
    "CPE_NO_SERVER",
]
