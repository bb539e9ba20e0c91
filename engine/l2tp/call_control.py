"""Call control: call state machines (RFC 2661 §7.4, §7.5), call messages and their actions."""
from __future__ import annotations

import logging
from collections.abc import Callable

from . import avp as A
from . import call as C
from . import message as M
from . import tunnel as T
from .avp import Avp, Q931Cause, ResultCode
from .core import EndpointCore
from .errors import (
    CDN_ADMIN,
    CDN_GENERAL_ERROR,
    CDN_PERM_NO_FACILITIES,
    CDN_TEMP_NO_FACILITIES,
    ERR_BAD_SESSION_ID,
    ERR_BAD_VALUE,
    ERR_NO_RESOURCES,
    ERR_NONE,
)
from .events import CallDown, CallUp, IncomingCallRequested, OutgoingCallRequested
from .records import DEFAULT_FRAMING, DEFAULT_MAX_BPS, HIDE_ATTRS, MSG_EVENT, Call, Msg, Tunnel, fit_message

log = logging.getLogger(__name__)


class CallControl(EndpointCore):
    """The call state machines of every tunnel and the actions of their tables."""

    def _place(self, c: Call) -> None:
        self._cfire(c, "place_ready" if c.tunnel.state == T.ESTABLISHED else "place_wait")

    def _incoming_refusal(self, t: Tunnel) -> tuple[int, int, str, int | None] | None:
        """Why an ICRQ on ``t`` is refused (the CDN result), or None to accept it.  Under an
        acceptance policy only a tunnel admitted under a remote host with a dynamic interface
        profile takes incoming calls, and at most that host's ``max-sessions`` of them."""
        if not self.config.accept_incoming_calls:
            return (CDN_TEMP_NO_FACILITIES, ERR_NONE, "incoming calls refused", None)
        if self.acceptance is None:
            return None
        host = t.host_policy
        if host is None or host.profile is None:
            self.counters["calls_refused_no_profile"] += 1
            return (CDN_PERM_NO_FACILITIES, ERR_NONE, "no dynamic interface profile for incoming calls", None)
        if host.max_sessions and len(t.calls) > host.max_sessions:   # the new call is counted
            return (CDN_TEMP_NO_FACILITIES, ERR_NO_RESOURCES, "session limit of the remote host", None)
        return None

    def _cfire(self, c: Call, event: str, msg: Msg = None) -> None:
        _, table = C.TABLES[c.kind]
        nxt, actions = table[(c.state, event)]
        log.debug("call %d/%d: %s --%s--> %s %s", c.tunnel.local_id, c.local_id, c.state, event, nxt, actions)
        c.state = nxt
        for a in actions:
            CALL_ACTIONS[a](self, c, msg)
        if c.state == C.DEAD:
            self._destroy_call(c)

    def _t_dispatch_call(self, t: Tunnel, m: Msg) -> None:
        assert m is not None
        mt = m.msg_type
        if mt == M.OCRQ or mt == M.ICRQ:
            kind = "lac-out" if mt == M.OCRQ else "lns-in"
            peer_sid = m.get(A.ASSIGNED_SESSION_ID)
            if peer_sid in t.peer_calls:      # a second request for the same peer session
                return
            if len(t.calls) >= self.config.max_sessions_per_tunnel or peer_sid == 0:
                self._send_cdn_raw(t, peer_sid, 0, CDN_TEMP_NO_FACILITIES, ERR_BAD_VALUE if peer_sid == 0 else 4,
                                   "cannot accept call", None)
                return
            c = self._new_call(t, kind, self._now)
            c.peer_id = peer_sid
            t.peer_calls[peer_sid] = c
            c.serial = m.get(A.CALL_SERIAL_NUMBER, 0)
            c.called_number = m.get(A.CALLED_NUMBER, "")
            c.calling_number = m.get(A.CALLING_NUMBER, "")
            c.sub_address = m.get(A.SUB_ADDRESS)
            c.min_bps = m.get(A.MINIMUM_BPS, 0)
            c.max_bps = m.get(A.MAXIMUM_BPS, 0)
            c.bearer_type = m.get(A.BEARER_TYPE, 0)
            c.framing_type = m.get(A.FRAMING_TYPE, DEFAULT_FRAMING)
            if m.has(A.SEQUENCING_REQUIRED):
                c.data_seq = True
            if mt == M.OCRQ:
                self._cfire(c, "rx_ocrq_accept", m)
            else:
                refusal = self._incoming_refusal(t)
                ok = refusal is None
                if refusal is not None:
                    c.cdn = refusal
                    self.counters["calls_refused"] += 1
                self._cfire(c, "rx_icrq_accept" if ok else "rx_icrq_refuse", m)
            return
        found = t.calls.get(m.session_id) if m.session_id else None
        if found is None and mt == M.CDN:
            found = t.peer_calls.get(m.get(A.ASSIGNED_SESSION_ID))
        if found is None:
            self.counters["unknown_session"] += 1
            log.debug("tunnel %d: %s for unknown session %d", t.local_id, m.name, m.session_id)
            return
        c = found
        if mt == M.CDN:
            rc = m.get(A.RESULT_CODE)
            q = m.get(A.Q931_CAUSE)
            c.cdn = (rc.result, rc.error or 0, rc.message or "", q.cause if q else None)
        elif mt in (M.OCCN, M.ICCN):
            c.connect_speed = m.get(A.TX_CONNECT_SPEED, 0)
            if m.has(A.SEQUENCING_REQUIRED):
                c.data_seq = True
        self._cfire(c, MSG_EVENT[mt], m)

    # ---------------------------------------------------------------- call actions
    def _c_ignore(self, c: Call, msg: Msg) -> None:
        pass

    def _hide(self, t: Tunnel, attr: int) -> bool:
        return t.secret is not None and self.config.hide_avps and attr in HIDE_ATTRS

    def _c_send_ocrq(self, c: Call, msg: Msg) -> None:
        t = c.tunnel
        c.serial = self._next_serial()
        avps = [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id),
                Avp.make(A.CALL_SERIAL_NUMBER, c.serial),
                Avp.make(A.MINIMUM_BPS, c.min_bps),
                Avp.make(A.MAXIMUM_BPS, c.max_bps),
                Avp.make(A.BEARER_TYPE, c.bearer_type),
                Avp.make(A.FRAMING_TYPE, c.framing_type),
                Avp.make(A.CALLED_NUMBER, c.called_number, hidden=self._hide(t, A.CALLED_NUMBER))]
        if c.sub_address is not None:
            avps.append(Avp.make(A.SUB_ADDRESS, c.sub_address, hidden=self._hide(t, A.SUB_ADDRESS)))
        self._send(t, M.OCRQ, avps, 0)

    def _c_send_icrq(self, c: Call, msg: Msg) -> None:
        t = c.tunnel
        c.serial = self._next_serial()
        avps = [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id),
                Avp.make(A.CALL_SERIAL_NUMBER, c.serial),
                Avp.make(A.BEARER_TYPE, c.bearer_type)]
        if c.called_number:
            avps.append(Avp.make(A.CALLED_NUMBER, c.called_number, hidden=self._hide(t, A.CALLED_NUMBER)))
        if c.calling_number:
            avps.append(Avp.make(A.CALLING_NUMBER, c.calling_number, hidden=self._hide(t, A.CALLING_NUMBER)))
        self._send(t, M.ICRQ, avps, 0)

    def _c_send_ocrp(self, c: Call, msg: Msg) -> None:
        self._send(c.tunnel, M.OCRP, [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id)], c.peer_id)

    def _c_send_icrp(self, c: Call, msg: Msg) -> None:
        self._send(c.tunnel, M.ICRP, [Avp.make(A.ASSIGNED_SESSION_ID, c.local_id)], c.peer_id)

    def _connect_avps(self, c: Call) -> list[Avp]:
        framing = c.framing_type
        if framing & A.FRAMING_SYNC:
            framing = A.FRAMING_SYNC
        elif framing & A.FRAMING_ASYNC:
            framing = A.FRAMING_ASYNC
        c.framing_type = framing or A.FRAMING_SYNC
        return [Avp.make(A.TX_CONNECT_SPEED, c.connect_speed), Avp.make(A.FRAMING_TYPE, c.framing_type)]

    def _c_send_occn(self, c: Call, msg: Msg) -> None:
        self._send(c.tunnel, M.OCCN, self._connect_avps(c), c.peer_id)

    def _c_send_iccn(self, c: Call, msg: Msg) -> None:
        c.connect_speed = c.connect_speed or DEFAULT_MAX_BPS
        self._send(c.tunnel, M.ICCN, self._connect_avps(c), c.peer_id)

    def _c_request_dial(self, c: Call, msg: Msg) -> None:
        self._events.append(OutgoingCallRequested(c.tunnel.local_id, c.local_id, c.called_number, c.min_bps,
                                                  c.max_bps, c.bearer_type, c.framing_type, c.sub_address))

    def _c_report_incoming(self, c: Call, msg: Msg) -> None:
        self._events.append(IncomingCallRequested(c.tunnel.local_id, c.local_id, c.calling_number,
                                                  c.called_number, c.serial))

    def _c_record_peer(self, c: Call, msg: Msg) -> None:
        assert msg is not None
        c.peer_id = msg.get(A.ASSIGNED_SESSION_ID)
        c.tunnel.peer_calls[c.peer_id] = c

    def _c_call_up(self, c: Call, msg: Msg) -> None:
        c.up_at = self._now
        direction = "outgoing" if c.kind in ("lns-out", "lac-out") else "incoming"
        self._events.append(CallUp(c.tunnel.local_id, c.local_id, c.peer_id, direction, c.called_number,
                                   c.connect_speed))

    def _send_cdn_raw(self, t: Tunnel, peer_sid: int, local_sid: int, result: int, error: int,
                      text: str, cause: int | None) -> None:
        text = fit_message(text, self.config.max_result_message)
        rc = ResultCode(result, error if (error or text) else None, text or None)
        avps = [Avp.make(A.RESULT_CODE, rc), Avp.make(A.ASSIGNED_SESSION_ID, local_sid)]
        if cause is not None:
            avps.append(Avp.make(A.Q931_CAUSE, Q931Cause(cause, 0)))
        self._send(t, M.CDN, avps, peer_sid)

    def _c_send_cdn(self, c: Call, msg: Msg) -> None:
        r, e, text, cause = c.cdn
        self._send_cdn_raw(c.tunnel, c.peer_id, c.local_id, r, e, text, cause)

    def _c_send_cdn_fsm(self, c: Call, msg: Msg) -> None:
        if c.cdn[0] == CDN_ADMIN and not c.cdn[2]:
            c.cdn = (CDN_GENERAL_ERROR, ERR_BAD_SESSION_ID if msg is None else ERR_NONE,
                     f"unexpected {msg.name if msg else 'message'} in {c.state}", None)
        self._c_send_cdn(c, msg)

    def _call_down(self, c: Call, by_peer: bool) -> None:
        r, e, text, cause = c.cdn
        self._events.append(CallDown(c.tunnel.local_id, c.local_id, r, e, text, by_peer, cause))

    def _c_call_down_local(self, c: Call, msg: Msg) -> None:
        self._call_down(c, False)

    def _c_call_down_peer(self, c: Call, msg: Msg) -> None:
        self._call_down(c, True)

    def _c_destroy(self, c: Call, msg: Msg) -> None:
        c.state = C.DEAD


#: call state machine actions (the names used in engine/l2tp/call.py tables)
CALL_ACTIONS: dict[str, Callable[[CallControl, Call, Msg], None]] = {
    "ignore": CallControl._c_ignore,
    "send_ocrq": CallControl._c_send_ocrq,
    "send_icrq": CallControl._c_send_icrq,
    "send_ocrp": CallControl._c_send_ocrp,
    "send_icrp": CallControl._c_send_icrp,
    "send_occn": CallControl._c_send_occn,
    "send_iccn": CallControl._c_send_iccn,
    "request_dial": CallControl._c_request_dial,
    "report_incoming": CallControl._c_report_incoming,
    "record_peer": CallControl._c_record_peer,
    "call_up": CallControl._c_call_up,
    "send_cdn": CallControl._c_send_cdn,
    "send_cdn_fsm": CallControl._c_send_cdn_fsm,
    "call_down_local": CallControl._c_call_down_local,
    "call_down_peer": CallControl._c_call_down_peer,
    "destroy": CallControl._c_destroy,
}
