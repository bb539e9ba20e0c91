"""The session-machine actions (``session.Action``): what each transition does to the
session, its buffer, its timers and the outgoing requests.  ``_action_table`` maps every
action to its method; ``session.TRANSITIONS`` names the actions of each transition."""
from __future__ import annotations

from engine.compact import compact
from engine.dialout.causes import TerminateCause
from engine.dialout.core import ActionTable, Packet
from engine.dialout.model import AuthorizeRequest, ForwardPackets, InstallRoutes, RemoveRoutes, StartPpp, TearDown
from engine.dialout.records import SessionEntry
from engine.dialout.session import SETUP_STATES, Action, inhibit_multiplier
from engine.dialout.targets import Counter as C
from engine.dialout.tunnels import TunnelGlue
from engine.types import Route

A = Action


class SessionActions(TunnelGlue):
    """One method per ``Action``."""

    # -- actions -----------------------------------------------------------------------
    def _a_buffer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        v = s.vrobj
        if packet is not None and v.buffered < v.config.max_buffered_triggers:
            s.buffer += (packet,)
            v.buffered += 1
            self._count(s, C.TRIGGERS_ENQUEUED)
        else:
            self._count(s, C.TRIGGERS_DISCARDED)

    def _a_discard(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._count(s, C.TRIGGERS_DISCARDED)

    def _a_forward(self, s: SessionEntry, now: float, packet: Packet) -> None:
        if packet is None:
            return
        self._requests.append(ForwardPackets(s.key.vr, s.ifname, (packet,), s.key))
        s.triggers_forwarded += 1
        self._count(s, C.TRIGGERS_FORWARDED)

    def _a_authorize(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.user_name = self._user_name(s)
        self._next_auth += 1
        rid = self._next_auth
        if s.auth_request_id is not None:
            self._auth_ids.pop(s.auth_request_id, None)
        s.auth_request_id = rid
        self._auth_ids[rid] = s.key
        s.grant = None
        s.failure_reason = ""
        self._count(s, C.AUTH_REQUESTS)
        self._requests.append(AuthorizeRequest(rid, s.key, s.key.vr, s.user_name,
                                               s.target.domain, s.target.profile))
        if self.tracing:
            self._trace(s.key.vr, s.key.dst, f"session {s.key}: Access-Request user {s.user_name}",
                        now)
        self._arm(s, self._cfg.connect_timeout, now)

    def _a_start_connecting_timer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._arm(s, self._cfg.connect_timeout, now)

    def _a_start_ppp(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.ifnum = self._ifnums.take()
        s.ifname = f"{self.ifname_prefix}{s.ifnum}"
        assert s.grant is not None and s.call_id is not None
        c = s.grant.call
        self._requests.append(StartPpp(s.call_id, s.key, s.ifname, s.target.profile,
                                       c.ppp_username, c.ppp_password, c.ppp_auth_protocol))

    def _access_route_objs(self, s: SessionEntry) -> tuple[Route, ...]:
        return tuple(Route(n, "access", ifname=s.ifname) for n in s.access_routes)

    def _a_install_routes(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._requests.append(InstallRoutes(s.key.vr, self._access_route_objs(s), s.ifname,
                                            s.key, s.local_ip, s.peer_ip))
        s.routes_installed = True
        if self.tracing:
            self._trace(s.key.vr, s.key.dst, f"session {s.key}: access route(s) "
                        f"{', '.join(map(str, s.access_routes))} via {s.ifname} installed", now)

    def _a_forward_buffer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        n = len(s.buffer)
        if not n:
            return
        self._requests.append(ForwardPackets(s.key.vr, s.ifname, s.buffer, s.key))
        s.buffer = ()
        s.vrobj.buffered -= n
        s.triggers_forwarded += n
        self._count(s, C.TRIGGERS_FORWARDED, n)

    def _a_remove_routes(self, s: SessionEntry, now: float, packet: Packet) -> None:
        if s.access_routes and s.routes_installed:
            self._requests.append(RemoveRoutes(s.key.vr, self._access_route_objs(s), s.ifname,
                                               s.key))
        s.routes_installed = False

    def _a_tear_down(self, s: SessionEntry, now: float, packet: Packet) -> None:
        if s.call_id is not None:
            self._requests.append(TearDown(s.call_id, s.key,
                                           s.tunnel.ref if s.tunnel is not None else None,
                                           s.ifname, s.failure_reason or "torn down",
                                           s.end_cause))
            s.end_cause = TerminateCause.NAS_REQUEST
            self._count(s, C.DIALOUTS_TORN_DOWN)
        self._detach(s, close_tunnel=True)

    def _a_release_call(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._detach(s, close_tunnel=True)

    def _a_drop_buffer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        n = len(s.buffer)
        if n:
            s.buffer = ()
            s.vrobj.buffered -= n
            self._count(s, C.TRIGGERS_DISCARDED, n)

    def _a_start_inhibit_timer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        mult = inhibit_multiplier(s.inhibit_count)
        s.inhibit_count += 1
        self._arm(s, self._cfg.connect_timeout * mult, now)

    def _a_start_dormant_timer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._arm(s, self._cfg.dormant_timeout, now)

    def _a_start_pending_timer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._arm(s, self._cfg.connect_timeout, now)

    def _a_cancel_timer(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.timer_gen += 1
        s.deadline = None

    def _a_reset_backoff(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.inhibit_count = 0

    def _a_enqueue_pending(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.in_pending = True
        self._pending.append(s.key)

    def _a_dequeue_pending(self, s: SessionEntry, now: float, packet: Packet) -> None:
        s.in_pending = False       # removed lazily from the deque

    def _a_count_established(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._count(s, C.DIALOUTS_ESTABLISHED)
        s.failure_reason = ""

    def _a_count_timed_out(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._count(s, C.DIALOUTS_TIMED_OUT)

    def _a_count_rejected(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._count(s, C.DIALOUTS_REJECTED)

    def _a_count_reset(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._count(s, C.SESSIONS_RESET)

    def _a_delete(self, s: SessionEntry, now: float, packet: Packet) -> None:
        if s.buffer:
            self._a_drop_buffer(s, now, packet)
        if s.auth_request_id is not None:
            self._auth_ids.pop(s.auth_request_id, None)
        if s.tunnel is not None or s.call_id is not None:
            self._detach(s, close_tunnel=True)
        s.timer_gen += 1
        s.deadline = None
        del self._sessions[s.key]
        compact(self._sessions)
        s.vrobj.order.discard(int(s.key.dst))
        self._by_state[s.state] -= 1
        s.vrobj.by_state[s.state] -= 1
        if s.state in SETUP_STATES:
            self._connecting -= 1
        s.target.sessions -= 1
        self._count(s, C.SESSIONS_REMOVED)
        self._update_chassis(now)

    def _action_table(self) -> ActionTable:
        return {
            A.BUFFER: self._a_buffer,
            A.DISCARD: self._a_discard,
            A.FORWARD: self._a_forward,
            A.AUTHORIZE: self._a_authorize,
            A.START_CONNECTING_TIMER: self._a_start_connecting_timer,
            A.SELECT_TUNNEL: self._a_select_tunnel,
            A.TRY_NEXT: self._a_try_next,
            A.START_PPP: self._a_start_ppp,
            A.INSTALL_ROUTES: self._a_install_routes,
            A.FORWARD_BUFFER: self._a_forward_buffer,
            A.REMOVE_ROUTES: self._a_remove_routes,
            A.TEAR_DOWN: self._a_tear_down,
            A.RELEASE_CALL: self._a_release_call,
            A.DROP_BUFFER: self._a_drop_buffer,
            A.START_INHIBIT_TIMER: self._a_start_inhibit_timer,
            A.START_DORMANT_TIMER: self._a_start_dormant_timer,
            A.START_PENDING_TIMER: self._a_start_pending_timer,
            A.CANCEL_TIMER: self._a_cancel_timer,
            A.RESET_BACKOFF: self._a_reset_backoff,
            A.ENQUEUE_PENDING: self._a_enqueue_pending,
            A.DEQUEUE_PENDING: self._a_dequeue_pending,
            A.COUNT_ESTABLISHED: self._a_count_established,
            A.COUNT_TIMED_OUT: self._a_count_timed_out,
            A.COUNT_REJECTED: self._a_count_rejected,
            A.COUNT_RESET: self._a_count_reset,
            A.DELETE: self._a_delete,
        }
