"""Tunnel-selection glue: a granted session's candidate tunnels, the shared-tunnel registry
(one L2TP tunnel per VR, server endpoint and RFC 2868 Tunnel-Assignment-Id, or more than one
when ``l2tp tunnel max-sessions`` caps the sessions of each) and tunnel results.

``_place`` emits ``OpenTunnel`` only when no tunnel with the same key is open or opening, then
``PlaceCall`` naming it; ``_detach`` releases a session's call and emits ``CloseTunnel`` when
the last session leaves a tunnel.  A tunnel gone down (``on_tunnel_down``) is forgotten at once;
its sessions are ended a bounded number at a time (``tunnel_down_step``), the integration ending
the calls released in the same step.
"""
from __future__ import annotations

from collections.abc import Callable

from engine.compact import compact
from engine.dialout.core import Packet, ServiceCore
from engine.dialout.model import CloseTunnel, OpenTunnel, PlaceCall
from engine.dialout.records import SessionEntry, TunnelEntry
from engine.dialout.selection import TunnelDef
from engine.dialout.session import SessionEvent, SessionState
from engine.dialout.targets import Counter as C

S, E = SessionState, SessionEvent


class TunnelGlue(ServiceCore):
    """Candidate walk, tunnel sharing and the tunnel-result input."""

    def _sessions_of(self, vr: str) -> Callable[[TunnelDef], int]:
        def count(t: TunnelDef) -> int:
            tun = self._tunnel_by_key.get((vr, t.server_endpoint, t.assignment_id))
            return 0 if tun is None else len(tun.sessions)
        return count

    def _a_select_tunnel(self, s: SessionEntry, now: float, packet: Packet) -> None:
        assert s.grant is not None
        s.candidates = self.selector.candidates(s.grant.tunnels, now=now,
                                                sessions_of=self._sessions_of(s.key.vr))
        s.cand_index = 0
        self._attempt(s, now, first=True)

    def _a_try_next(self, s: SessionEntry, now: float, packet: Packet) -> None:
        self._attempt(s, now, first=False)

    def _attempt(self, s: SessionEntry, now: float, *, first: bool) -> None:
        while s.cand_index < len(s.candidates):
            tdef: TunnelDef = s.candidates[s.cand_index]
            s.cand_index += 1
            if not first and self.destinations.is_locked(tdef.server_endpoint, now=now):
                continue
            self._place(s, tdef, now)
            return
        if not s.failure_reason:
            s.failure_reason = "no tunnel available"
        self._fire(s, E.CALL_FAILED, now=now)

    def _place(self, s: SessionEntry, tdef: TunnelDef, now: float) -> None:
        vr = s.key.vr
        tkey = (vr, tdef.server_endpoint, tdef.assignment_id)
        tun = self._tunnel_by_key.get(tkey)
        limit = self._cfg.tunnel_max_sessions
        if tun is not None and limit and len(tun.sessions) >= limit:
            tun = None                  # full: another tunnel to the same endpoint
        if tun is None:
            self._next_tref += 1
            tun = TunnelEntry(self._next_tref, vr, tdef)
            self._tunnels[tun.ref] = tun
            self._tunnel_by_key[tkey] = tun
            self._requests.append(OpenTunnel(tun.ref, vr, tdef))
            if self.tracing:
                self._trace(vr, s.key.dst, f"session {s.key}: opening tunnel {tun.ref} to "
                            f"{tdef.server_endpoint} (preference {tdef.preference})", now)
        else:
            if self.tracing:
                self._trace(vr, s.key.dst, f"session {s.key}: reusing tunnel {tun.ref} to "
                            f"{tdef.server_endpoint}", now)
        tun.sessions.add(s.key)
        s.tunnel = tun
        s.tdef = tdef
        s.tunnel_id = tun.tunnel_id
        s.session_id = None
        s.call_established = False
        self._next_call += 1
        s.call_id = self._next_call
        self._calls[s.call_id] = s.key
        self._count(s, C.DIALOUTS_REQUESTED)
        assert s.grant is not None
        self._requests.append(PlaceCall(s.call_id, s.key, tun.ref, tdef, s.grant.call))

    def _forget_tunnel(self, tun: TunnelEntry) -> None:
        self._tunnels.pop(tun.ref, None)
        if self._tunnel_by_key.get(tun.key) is tun:
            del self._tunnel_by_key[tun.key]

    def _detach(self, s: SessionEntry, *, close_tunnel: bool) -> None:
        """Release the session's call: tunnel membership, call id, interface name."""
        tun = s.tunnel
        if tun is not None:
            tun.sessions.discard(s.key)
            if close_tunnel and not tun.sessions and tun.ref in self._tunnels:
                self._forget_tunnel(tun)
                self._requests.append(CloseTunnel(tun.ref, "no sessions"))
        s.tunnel = None
        if s.call_id is not None:
            self._calls.pop(s.call_id, None)
            compact(self._calls)
        s.call_established_before = s.call_established
        s.call_id = None
        s.call_established = False
        s.tunnel_id = s.session_id = None
        s.peer_ip = s.local_ip = None
        if s.ifnum is not None:
            self._ifnums.give(s.ifnum)
            s.ifnum = None
        s.ifname = None

    def on_tunnel_result(self, tunnel_ref: int, ok: bool, reason: str = "", *, now: float,
                         tunnel_id: int | None = None) -> None:
        """The tunnel ``tunnel_ref`` came up (ok) or failed / went down (not ok: every session
        on it is ended now; ``on_tunnel_down`` + ``tunnel_down_step`` spread that work)."""
        if not ok:
            if self.on_tunnel_down(tunnel_ref, reason, now=now) is not None:
                self.tunnel_down_step(tunnel_ref, now=now)
            return
        tun = self._tunnels.get(tunnel_ref)
        if tun is None:
            self.stale_inputs += 1
            return
        if tun.state == "established":
            self.stale_inputs += 1
            return
        tun.state = "established"
        tun.tunnel_id = tunnel_id
        self.destinations.success(tun.tdef.server_endpoint, now=now)
        for key in tun.sessions:
            s = self._sessions.get(key)
            if s is not None:
                s.tunnel_id = tunnel_id
        if self.tracing:
            self._trace(tun.vr, None, f"tunnel {tunnel_ref} to {tun.tdef.server_endpoint} "
                        "established", now)

    def on_tunnel_down(self, tunnel_ref: int, reason: str = "", *, now: float) -> int | None:
        """The tunnel ``tunnel_ref`` failed or went down.  At once: it takes no new call (a
        new trigger opens another tunnel to the same endpoint) and, when it failed during
        set-up, its destination is locked out.  Its sessions are ended by
        ``tunnel_down_step``, a bounded number per call.  Returns how many sessions are left
        to end (None: an unknown tunnel, counted as a stale input)."""
        tun = self._tunnels.get(tunnel_ref)
        if tun is None:
            self.stale_inputs += 1
            return None
        was_setup = tun.state == "connecting"
        self._forget_tunnel(tun)
        tun.state = "down"
        tun.down_reason = reason or ("tunnel set-up failed" if was_setup else "tunnel down")
        if self.tracing:
            self._trace(tun.vr, None, f"tunnel {tunnel_ref} to {tun.tdef.server_endpoint} "
                        f"down: {tun.down_reason}", now)
        if was_setup:
            self.destinations.lock_out(tun.tdef.server_endpoint, tun.down_reason, now=now)
        if tun.sessions:
            self._downed[tunnel_ref] = tun
        return len(tun.sessions)

    def tunnel_down_step(self, tunnel_ref: int, *, now: float,
                         limit: int | None = None) -> list[int]:
        """End up to ``limit`` (None: all) sessions still on the tunnel ``tunnel_ref`` gone
        down (``on_tunnel_down``): each released from its call and fed the call's end with
        the tunnel's reason (call-down from inService -> dormant; during set-up the next
        candidate, or call-failed).  Returns the call ids released: the calls the
        integration ends now, in the same step, without a report."""
        tun = self._downed.get(tunnel_ref)
        if tun is None:
            return []
        released: list[int] = []
        pending = tun.sessions
        while pending and (limit is None or len(released) < limit):
            key = pending.pop()
            s = self._sessions.get(key)
            if s is None or s.tunnel is not tun:
                continue
            call_id = s.call_id
            self._detach(s, close_tunnel=False)
            if call_id is not None:
                released.append(call_id)
            s.failure_reason = tun.down_reason
            if s.state is S.CONNECTING:
                self._fire(s, E.CALL_FAILED if s.call_established_before else E.SETUP_FAILED,
                           now=now)
            elif s.state is S.IN_SERVICE:
                self._count(s, C.DIALOUTS_TORN_DOWN)
                self._fire(s, E.CALL_DOWN, now=now)
        if not pending:
            del self._downed[tunnel_ref]
        self._drain_pending(now)
        return released

    def tunnel_down_left(self, tunnel_ref: int) -> int:
        """Sessions still to end on the tunnel ``tunnel_ref`` gone down."""
        tun = self._downed.get(tunnel_ref)
        return 0 if tun is None else len(tun.sessions)
