"""Tunnel control: control connection state machine (RFC 2661 §7.2), its checks and actions."""
from __future__ import annotations

import logging
from collections.abc import Callable

from . import avp as A
from . import call as C
from . import message as M
from . import tunnel as T
from .avp import Avp, ResultCode
from .call_control import CallControl
from .errors import (
    CDN_GENERAL_ERROR,
    ERR_NONE,
    STOPCCN_BAD_VERSION,
    STOPCCN_FSM_ERROR,
    STOPCCN_GENERAL_ERROR,
    STOPCCN_NOT_AUTHORIZED,
)
from .events import TunnelDown, TunnelUp
from .records import Msg, Rejected, Tunnel, fit_message

log = logging.getLogger(__name__)


class TunnelControl(CallControl):
    """The control connection state machine of every tunnel and the actions of its table."""

    # ---------------------------------------------------------------- state machine plumbing
    def _fire(self, t: Tunnel, event: str, msg: Msg = None) -> None:
        nxt, actions = T.TABLE[(t.state, event)]
        log.debug("tunnel %d: %s --%s--> %s %s", t.local_id, t.state, event, nxt, actions)
        t.state = nxt
        for a in actions:
            TUNNEL_ACTIONS[a](self, t, msg)

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self, t: Tunnel, m: M.ControlMessage | Rejected) -> None:
        if isinstance(m, Rejected):
            self._trace_text(f"l2tp rx tunnel {t.local_id} Ns={m.header.ns} rejected: {m.error.message}")
            t.stop_result = (STOPCCN_GENERAL_ERROR, m.error.error, m.error.message)
            if m.msg_type in M.CALL_MESSAGES and m.header.session_id and t.state == T.ESTABLISHED:
                c = t.calls.get(m.header.session_id)
                if c is not None:
                    c.cdn = (CDN_GENERAL_ERROR, m.error.error, m.error.message, None)
                    self._cfire(c, "rx_fatal")
                    return
            if m.msg_type in (M.OCRQ, M.ICRQ) and t.state == T.ESTABLISHED:
                # refuse the new call with a CDN; the tunnel survives
                peer_sid = next((a.value for a in m.error.avps if a.attr == A.ASSIGNED_SESSION_ID
                                 and a.vendor == 0), 0)
                self.counters["calls_refused"] += 1
                self._send_cdn_raw(t, peer_sid, 0, CDN_GENERAL_ERROR, m.error.error, m.error.message, None)
                return
            if m.msg_type in M.CALL_MESSAGES and t.state == T.ESTABLISHED:
                self.counters["unknown_session"] += 1
                return
            self._fire(t, "rx_fatal")
            return
        self._trace_msg("rx", t, m)
        if m.ignored_avps:
            self.counters["unknown_avp_ignored"] += len(m.ignored_avps)
        mt = m.msg_type
        if mt == M.SCCRQ:
            self._fire(t, self._check_sccrq(t, m), m)
        elif mt == M.SCCRP:
            self._fire(t, self._check_sccrp(t, m), m)
        elif mt == M.SCCCN:
            self._fire(t, self._check_scccn(t, m), m)
        elif mt == M.STOPCCN:
            rc = m.get(A.RESULT_CODE)
            t.down_result = (rc.result, rc.error or 0, rc.message or "")
            self._fire(t, "rx_stopccn", m)
        elif mt == M.HELLO:
            self._fire(t, "rx_hello", m)
        elif mt in M.CALL_MESSAGES:
            self._fire(t, "rx_call_message", m)
        else:
            log.debug("ignoring unknown optional message type %s", mt)

    def _check_sccrq(self, t: Tunnel, m: M.ControlMessage) -> str:
        self._learn_peer(t, m)
        cfg = self.config
        if m.get(A.PROTOCOL_VERSION) != (1, 0):
            t.stop_result = (STOPCCN_BAD_VERSION, ERR_NONE, "protocol version 1.0 only")
            return "rx_sccrq_refuse"
        if self.acceptance is not None:
            pass        # admitted under a destination profile before the tunnel was made
        elif not cfg.accept_tunnels:
            t.stop_result = (cfg.refuse_result, cfg.refuse_error, "tunnel refused")
            return "rx_sccrq_refuse"
        elif cfg.accept_host_names is not None and t.peer_host_name not in cfg.accept_host_names:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "host name not allowed")
            return "rx_sccrq_refuse"
        if not self._take_peer_challenge(t, m):
            return "rx_sccrq_refuse"
        if t.secret is not None:
            t.challenge = self.rng.randbytes(16)
        return "rx_sccrq_accept"

    def _check_sccrp(self, t: Tunnel, m: M.ControlMessage) -> str:
        if t.state != T.WAIT_CTL_REPLY:
            return "rx_sccrp_ok"  # the table turns this into an FSM error
        self._learn_peer(t, m)
        t.peer_id = m.get(A.ASSIGNED_TUNNEL_ID)
        if m.get(A.PROTOCOL_VERSION) != (1, 0):
            t.stop_result = (STOPCCN_BAD_VERSION, ERR_NONE, "protocol version 1.0 only")
            return "rx_sccrp_bad"
        if t.expected_peer_host is not None and t.peer_host_name != t.expected_peer_host:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE,
                             f"peer host name {t.peer_host_name!r} not {t.expected_peer_host!r}")
            return "rx_sccrp_bad"
        if t.secret is not None:
            resp = m.get(A.CHALLENGE_RESPONSE)
            if resp is None or resp != t.response_to(M.SCCRP, t.challenge):
                t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge response mismatch")
                return "rx_sccrp_bad"
        if not self._take_peer_challenge(t, m):
            return "rx_sccrp_bad"
        self._adopt_host_policy(t)
        return "rx_sccrp_ok"

    def _adopt_host_policy(self, t: Tunnel) -> None:
        """A tunnel we opened to a LAC that also has a destination profile and a remote host
        matching its Host Name takes that host's incoming calls (its dynamic interface profile
        and ``max-sessions``), as a tunnel the LAC opened would: dial-out and dial-in sessions
        then share the tunnel."""
        policy = self.acceptance
        peer = policy.peer(t.peer_addr[0]) if policy is not None else None
        host = peer.host(t.peer_host_name) if peer is not None else None
        if peer is not None and host is not None:
            t.host_policy = host
            t.dest_profile = peer.name

    @staticmethod
    def _take_peer_challenge(t: Tunnel, m: M.ControlMessage) -> bool:
        """Keep the peer's Challenge (§4.4.3: answered in our next message); a challenge we
        cannot answer without a secret refuses the tunnel."""
        ch = m.get(A.CHALLENGE)
        if ch is None:
            return True
        if t.secret is None:
            t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge but no secret")
            return False
        t.peer_challenge = ch
        return True

    def _check_scccn(self, t: Tunnel, m: M.ControlMessage) -> str:
        if t.state == T.WAIT_CTL_CONN and t.challenge is not None:
            resp = m.get(A.CHALLENGE_RESPONSE)
            if resp is None or resp != t.response_to(M.SCCCN, t.challenge):
                t.stop_result = (STOPCCN_NOT_AUTHORIZED, ERR_NONE, "challenge response mismatch")
                return "rx_scccn_bad"
        return "rx_scccn_ok"

    def _learn_peer(self, t: Tunnel, m: M.ControlMessage) -> None:
        t.peer_host_name = m.get(A.HOST_NAME, "")
        t.peer_vendor = m.get(A.VENDOR_NAME, "")
        t.peer_firmware = m.get(A.FIRMWARE_REVISION)
        t.peer_framing = m.get(A.FRAMING_CAPABILITIES, 0)
        t.peer_bearer = m.get(A.BEARER_CAPABILITIES, 0)
        t.channel.set_peer_window(m.get(A.RECEIVE_WINDOW_SIZE, 4) or 4)

    # ---------------------------------------------------------------- tunnel actions
    def _t_ignore(self, t: Tunnel, msg: Msg) -> None:
        pass

    def _t_send_sccrq(self, t: Tunnel, msg: Msg) -> None:
        avps = self._sccrx_avps(t)
        if t.secret is not None:
            t.challenge = self.rng.randbytes(16)
            avps.append(Avp.make(A.CHALLENGE, t.challenge))
        if self.config.send_tie_breaker:
            t.tie_breaker = self.rng.randbytes(8)
            avps.append(Avp.make(A.TIE_BREAKER, t.tie_breaker))
        self._send(t, M.SCCRQ, avps)

    def _sccrx_avps(self, t: Tunnel) -> list[Avp]:
        cfg = self.config
        window = t.channel.our_window
        return [Avp.make(A.PROTOCOL_VERSION, (1, 0)),
                Avp.make(A.HOST_NAME, t.host_name),
                Avp.make(A.FRAMING_CAPABILITIES, cfg.framing_capabilities),
                Avp.make(A.BEARER_CAPABILITIES, cfg.bearer_capabilities),
                Avp.make(A.FIRMWARE_REVISION, cfg.firmware_revision),
                Avp.make(A.VENDOR_NAME, cfg.vendor_name),
                Avp.make(A.ASSIGNED_TUNNEL_ID, t.local_id),
                Avp.make(A.RECEIVE_WINDOW_SIZE, window)]

    def _t_send_sccrp(self, t: Tunnel, msg: Msg) -> None:
        avps = self._sccrx_avps(t)
        if t.peer_challenge is not None:
            avps.append(Avp.make(A.CHALLENGE_RESPONSE, t.response_to(M.SCCRP, t.peer_challenge)))
        if t.challenge is not None:
            avps.append(Avp.make(A.CHALLENGE, t.challenge))
        self._send(t, M.SCCRP, avps)

    def _t_send_scccn(self, t: Tunnel, msg: Msg) -> None:
        avps: list[Avp] = []
        if t.peer_challenge is not None:
            avps.append(Avp.make(A.CHALLENGE_RESPONSE, t.response_to(M.SCCCN, t.peer_challenge)))
        self._send(t, M.SCCCN, avps)

    def _t_send_stopccn(self, t: Tunnel, msg: Msg) -> None:
        r, e, text = t.stop_result
        text = fit_message(text, self.config.max_result_message)
        rc = ResultCode(r, e if (e or text) else None, text or None)
        t.down_result = (r, e, text)
        self._send(t, M.STOPCCN, [Avp.make(A.ASSIGNED_TUNNEL_ID, t.local_id), Avp.make(A.RESULT_CODE, rc)])

    def _t_send_stopccn_fsm(self, t: Tunnel, msg: Msg) -> None:
        t.stop_result = (STOPCCN_FSM_ERROR, ERR_NONE, f"unexpected {msg.name if msg else 'message'} in {t.state}")
        self._t_send_stopccn(t, msg)

    def _t_send_stopccn_error(self, t: Tunnel, msg: Msg) -> None:
        self._t_send_stopccn(t, msg)

    def _t_send_hello(self, t: Tunnel, msg: Msg) -> None:
        t.last_rx = self._now
        if t.channel.idle:
            self._send(t, M.HELLO, [])

    def _t_tunnel_up(self, t: Tunnel, msg: Msg) -> None:
        t.up_at = self._now
        self._half_open_done(t)
        if not t.calls:
            t.idle_since = self._now
        self._events.append(TunnelUp(t.local_id, t.peer_id, t.peer_addr, t.peer_host_name))
        for c in list(t.calls.values()):
            if c.state == C.WAIT_TUNNEL:
                self._cfire(c, "tunnel_up")

    def _emit_tunnel_down(self, t: Tunnel, *, by_peer: bool) -> None:
        """The tunnel is gone and its calls with it: one TunnelDown names them all (a tunnel
        may hold tens of thousands; the application ends them at its pace), and the tunnel's
        call tables go at once, not call by call."""
        r, e, text = t.down_result
        calls = t.calls
        sessions: tuple[int, ...] = ()
        if calls:
            t.calls, t.peer_calls = {}, {}
            t.idle_since = self._now
            sessions = tuple(calls)
            for c in calls.values():
                c.state = C.DEAD
        via = "closed" if t.up_at is not None else "refused"
        self._events.append(TunnelDown(t.local_id, r, e, text, by_peer, via, sessions))

    def _t_tunnel_down_local(self, t: Tunnel, msg: Msg) -> None:
        self._emit_tunnel_down(t, by_peer=False)

    def _t_tunnel_down_peer(self, t: Tunnel, msg: Msg) -> None:
        t.channel.unsent.clear()
        t.channel.inflight.clear()
        self._emit_tunnel_down(t, by_peer=True)

    def _t_tunnel_down_timeout(self, t: Tunnel, msg: Msg) -> None:
        self.counters["tunnels_timed_out"] += 1
        t.down_result = (STOPCCN_GENERAL_ERROR, ERR_NONE, "no acknowledgement from peer")
        self._emit_tunnel_down(t, by_peer=False)

    def _t_report_refused(self, t: Tunnel, msg: Msg) -> None:
        self.counters["tunnels_refused"] += 1

    def _t_report_refused_by_peer(self, t: Tunnel, msg: Msg) -> None:
        self.counters["tunnels_refused_by_peer"] += 1

    def _t_start_hold(self, t: Tunnel, msg: Msg) -> None:
        t.hold_until = self._now + self.config.effective_hold_time()

    def _t_destroy(self, t: Tunnel, msg: Msg) -> None:
        t.state = T.DEAD
        for c in list(t.calls.values()):
            self._destroy_call(c)
        self._forget(t)


#: control connection state machine actions (the names used in engine/l2tp/tunnel.py)
TUNNEL_ACTIONS: dict[str, Callable[[TunnelControl, Tunnel, Msg], None]] = {
    "ignore": TunnelControl._t_ignore,
    "send_sccrq": TunnelControl._t_send_sccrq,
    "send_sccrp": TunnelControl._t_send_sccrp,
    "send_scccn": TunnelControl._t_send_scccn,
    "send_stopccn": TunnelControl._t_send_stopccn,
    "send_stopccn_fsm": TunnelControl._t_send_stopccn_fsm,
    "send_stopccn_error": TunnelControl._t_send_stopccn_error,
    "send_hello": TunnelControl._t_send_hello,
    "tunnel_up": TunnelControl._t_tunnel_up,
    "tunnel_down_local": TunnelControl._t_tunnel_down_local,
    "tunnel_down_peer": TunnelControl._t_tunnel_down_peer,
    "tunnel_down_timeout": TunnelControl._t_tunnel_down_timeout,
    "report_refused": TunnelControl._t_report_refused,
    "report_refused_by_peer": TunnelControl._t_report_refused_by_peer,
    "start_hold": TunnelControl._t_start_hold,
    "destroy": TunnelControl._t_destroy,
    "dispatch_call": TunnelControl._t_dispatch_call,
}
