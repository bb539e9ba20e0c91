"""The dial-out session state machine (dialout.md §7, Table 74).

Theory of operation
-------------------
One session exists per triggered destination: the key is (virtual router, trigger destination
address).  The machine below is pure: ``transition(state, event)`` returns the next state and
the ordered actions the service (``service.py``) performs.  The service owns the timers, the
tunnel selection and the requests to the outside world; this module owns *which* step follows
*which* input.

* A new session is created in ``dormant`` (with no timer) and fed the trigger, so that a
  fresh trigger and a trigger for a dormant session follow the same row: ``authenticating``
  when a connecting slot is free (``TRIGGER``), else ``pending`` (``TRIGGER_NO_SLOT``).
* ``authenticating``: an AuthorizeRequest is out; the trigger packet is buffered.  A guard timer
  (the connecting timer value) protects against an AAA layer that never answers.
  Grant -> ``connecting``; deny (or guard expiry) -> ``inhibited``.
* ``connecting``: the connecting timer (chassis connect-timeout) runs from the grant.  A failed
  tunnel or call set-up (``SETUP_FAILED``) locks the destination out and tries the next tunnel
  candidate (``TRY_NEXT``); when none is left the service feeds ``CALL_FAILED``.  The call
  established (OCCN, ``CALL_UP``) starts PPP; PPP up with the access routes covering the trigger
  destination -> ``inService`` (routes installed, buffered triggers forwarded in order); PPP up
  with routes that do not cover it -> ``failed``; call down / PPP failure / timer -> ``inhibited``.
* ``inhibited``: triggers discarded; the inhibit timer is connect-timeout × 1, 2, 4, 8, 8, ...
  (the multiplier doubles at each successive inhibition, capped at 8×; a session reaching
  inService, or a reset, starts again at 1×).
* ``postInhibited`` (defined in dialout.md): next trigger -> ``authenticating``; no trigger for
  the dormant time -> ``dormant``.
* ``dormant``: kept for analysis; a trigger -> ``authenticating``; the dormant timer deletes it.
* ``pending``: max-connecting reached; triggers discarded; a freed slot -> ``authenticating``
  (oldest pending first); no slot within the connecting-timer value -> ``dormant``.
* ``failed``: left only by reset (-> ``dormant``) or clear (deleted).
* ``RESET`` (``l2tp dial-out session reset``) applies to failed, inhibited and postInhibited
  sessions; the service does not feed it to other states.  ``CLEAR`` deletes from any state.

A pair missing from ``TRANSITIONS`` is a programming error: ``transition`` raises
``InvalidTransition`` and the service checks its inputs (stale results are counted and ignored)
before feeding the machine.  ``next_state`` None means the session is deleted.
"""
from __future__ import annotations

import enum


class SessionState(str, enum.Enum):
    AUTHENTICATING = "authenticating"
    CONNECTING = "connecting"
    IN_SERVICE = "inService"
    INHIBITED = "inhibited"
    POST_INHIBITED = "postInhibited"
    DORMANT = "dormant"
    PENDING = "pending"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class SessionEvent(str, enum.Enum):
    TRIGGER = "trigger"                    # trigger packet, a connecting slot is free
    TRIGGER_NO_SLOT = "trigger-no-slot"    # trigger packet, max-connecting reached
    AUTH_GRANT = "auth-grant"
    AUTH_DENY = "auth-deny"
    SETUP_FAILED = "setup-failed"          # one tunnel/call attempt failed (no SCCRP, StopCCN, CDN)
    CALL_FAILED = "call-failed"            # no candidate left, or call/PPP failed before inService
    CALL_UP = "call-up"                    # OCCN received: call established
    PPP_UP_ROUTED = "ppp-up-routed"        # PPP + IPCP up, access routes cover the destination
    PPP_UP_UNROUTED = "ppp-up-unrouted"    # PPP up but the trigger cannot be forwarded
    CALL_DOWN = "call-down"                # an established session's call ended
    TIMER = "timer"                        # the state's timer expired
    DEADLINE = "deadline"                  # inactivity or Session-Timeout of an inService session
    SLOT_FREE = "slot-free"                # a connecting slot became free (pending only)
    RESET = "reset"
    CLEAR = "clear"

    def __str__(self) -> str:
        return self.value


class Action(str, enum.Enum):
    BUFFER = "buffer"                      # buffer the trigger (per-VR limit) or discard it
    DISCARD = "discard"                    # discard the trigger
    FORWARD = "forward"                    # forward the trigger at once (route race)
    AUTHORIZE = "authorize"                # emit AuthorizeRequest, start the AAA guard timer
    START_CONNECTING_TIMER = "start-connecting-timer"
    SELECT_TUNNEL = "select-tunnel"        # compute candidates, OpenTunnel?/PlaceCall
    TRY_NEXT = "try-next"                  # lock the failed destination out, next candidate
    START_PPP = "start-ppp"
    INSTALL_ROUTES = "install-routes"
    FORWARD_BUFFER = "forward-buffer"      # ForwardPackets with the buffered triggers, in order
    REMOVE_ROUTES = "remove-routes"
    TEAR_DOWN = "tear-down"                # emit TearDown for the call (and release the tunnel)
    RELEASE_CALL = "release-call"          # call already gone: release the tunnel only
    DROP_BUFFER = "drop-buffer"            # buffered triggers discarded
    START_INHIBIT_TIMER = "start-inhibit-timer"
    START_DORMANT_TIMER = "start-dormant-timer"
    START_PENDING_TIMER = "start-pending-timer"
    CANCEL_TIMER = "cancel-timer"
    RESET_BACKOFF = "reset-backoff"
    ENQUEUE_PENDING = "enqueue-pending"
    DEQUEUE_PENDING = "dequeue-pending"
    COUNT_ESTABLISHED = "count-established"
    COUNT_TIMED_OUT = "count-timed-out"
    COUNT_REJECTED = "count-rejected"
    COUNT_RESET = "count-reset"
    DELETE = "delete"


class InvalidTransition(RuntimeError):
    def __init__(self, state: SessionState, event: SessionEvent) -> None:
        super().__init__(f"no transition for event {event} in state {state}")
        self.state = state
        self.event = event


S, E, A = SessionState, SessionEvent, Action

_NEW_SETUP = (A.BUFFER, A.AUTHORIZE)
_NO_SLOT = (A.DISCARD, A.ENQUEUE_PENDING, A.START_PENDING_TIMER)

# (state, event) -> (next state or None = deleted, actions).  References: "T74" = dialout.md §7
# Table 74; "§n" = dialout.md sections; RFC 2661 for the L2TP facts behind the events.
TRANSITIONS: dict[tuple[SessionState, SessionEvent],
                  tuple[SessionState | None, tuple[Action, ...]]] = {
    # -- authenticating: waiting for AAA (T74; §2 Access-Request, §3 Access-Accept) ------
    (S.AUTHENTICATING, E.TRIGGER): (S.AUTHENTICATING, (A.BUFFER,)),          # §7 buffer
    (S.AUTHENTICATING, E.TRIGGER_NO_SLOT): (S.AUTHENTICATING, (A.BUFFER,)),  # holds its slot
    (S.AUTHENTICATING, E.AUTH_GRANT): (S.CONNECTING, (                       # T74 grant
        A.START_CONNECTING_TIMER, A.SELECT_TUNNEL)),
    (S.AUTHENTICATING, E.AUTH_DENY): (S.INHIBITED, (                         # T74 deny, §3
        A.DROP_BUFFER, A.START_INHIBIT_TIMER)),
    (S.AUTHENTICATING, E.TIMER): (S.INHIBITED, (                             # AAA guard expiry
        A.COUNT_TIMED_OUT, A.DROP_BUFFER, A.START_INHIBIT_TIMER)),
    (S.AUTHENTICATING, E.CLEAR): (None, (A.DROP_BUFFER, A.DELETE)),
    # -- connecting: outgoing call (T74; §4; RFC 2661 §6.11-§6.13 OCRQ/OCRP/OCCN) ----------
    (S.CONNECTING, E.TRIGGER): (S.CONNECTING, (A.BUFFER,)),                  # T74 buffer
    (S.CONNECTING, E.TRIGGER_NO_SLOT): (S.CONNECTING, (A.BUFFER,)),
    (S.CONNECTING, E.SETUP_FAILED): (S.CONNECTING, (A.TRY_NEXT,)),  # §4; RFC 2661 §6.2/6.4/6.14
    (S.CONNECTING, E.CALL_FAILED): (S.INHIBITED, (                           # T74 call failure
        A.COUNT_REJECTED, A.RELEASE_CALL, A.DROP_BUFFER, A.START_INHIBIT_TIMER)),
    (S.CONNECTING, E.CALL_UP): (S.CONNECTING, (A.START_PPP,)),        # §5; RFC 2661 §6.13 OCCN
    (S.CONNECTING, E.PPP_UP_ROUTED): (S.IN_SERVICE, (          # §6, T74 success; RFC 1332 IPCP
        A.CANCEL_TIMER, A.COUNT_ESTABLISHED, A.INSTALL_ROUTES, A.FORWARD_BUFFER,
        A.RESET_BACKOFF)),
    (S.CONNECTING, E.PPP_UP_UNROUTED): (S.FAILED, (                          # §6 route check
        A.CANCEL_TIMER, A.TEAR_DOWN, A.DROP_BUFFER)),
    (S.CONNECTING, E.TIMER): (S.INHIBITED, (                                 # T74 timer expiry
        A.COUNT_TIMED_OUT, A.TEAR_DOWN, A.DROP_BUFFER, A.START_INHIBIT_TIMER)),
    (S.CONNECTING, E.CLEAR): (None, (A.TEAR_DOWN, A.DROP_BUFFER, A.DELETE)),
    # -- inService (T74; §6: the access route now catches the traffic) ---------------------
    (S.IN_SERVICE, E.TRIGGER): (S.IN_SERVICE, (A.FORWARD,)),
    (S.IN_SERVICE, E.TRIGGER_NO_SLOT): (S.IN_SERVICE, (A.FORWARD,)),
    (S.IN_SERVICE, E.CALL_DOWN): (S.DORMANT, (       # T74, §6; RFC 2661 §6.14, RFC 1661 §5.5
        A.REMOVE_ROUTES, A.RELEASE_CALL, A.START_DORMANT_TIMER)),
    (S.IN_SERVICE, E.DEADLINE): (S.DORMANT, (        # idle / Session-Timeout (RFC 2865 §5.27-28)
        A.REMOVE_ROUTES, A.TEAR_DOWN, A.START_DORMANT_TIMER)),
    (S.IN_SERVICE, E.CLEAR): (None, (A.REMOVE_ROUTES, A.TEAR_DOWN, A.DELETE)),
    # -- inhibited (T74: triggers discarded; backoff 1×, 2×, 4×, 8×) ------------------------
    (S.INHIBITED, E.TRIGGER): (S.INHIBITED, (A.DISCARD,)),
    (S.INHIBITED, E.TRIGGER_NO_SLOT): (S.INHIBITED, (A.DISCARD,)),
    (S.INHIBITED, E.TIMER): (S.POST_INHIBITED, (A.START_DORMANT_TIMER,)),    # T74 postInhibited
    (S.INHIBITED, E.RESET): (S.DORMANT, (
        A.COUNT_RESET, A.RESET_BACKOFF, A.START_DORMANT_TIMER)),
    (S.INHIBITED, E.CLEAR): (None, (A.DELETE,)),
    # -- postInhibited (defined in dialout.md T74) -----------------------------------------
    (S.POST_INHIBITED, E.TRIGGER): (S.AUTHENTICATING, _NEW_SETUP),
    (S.POST_INHIBITED, E.TRIGGER_NO_SLOT): (S.PENDING, _NO_SLOT),
    (S.POST_INHIBITED, E.TIMER): (S.DORMANT, (A.START_DORMANT_TIMER,)),
    (S.POST_INHIBITED, E.RESET): (S.DORMANT, (
        A.COUNT_RESET, A.RESET_BACKOFF, A.START_DORMANT_TIMER)),
    (S.POST_INHIBITED, E.CLEAR): (None, (A.DELETE,)),
    # -- dormant (T74; also the creation state of a new session, with no timer) ------------
    (S.DORMANT, E.TRIGGER): (S.AUTHENTICATING, _NEW_SETUP),
    (S.DORMANT, E.TRIGGER_NO_SLOT): (S.PENDING, _NO_SLOT),
    (S.DORMANT, E.TIMER): (None, (A.DELETE,)),                               # dormant expiry
    (S.DORMANT, E.CLEAR): (None, (A.DELETE,)),
    # -- pending (T74: max-connecting reached) ---------------------------------------------
    (S.PENDING, E.TRIGGER): (S.PENDING, (A.DISCARD,)),
    (S.PENDING, E.TRIGGER_NO_SLOT): (S.PENDING, (A.DISCARD,)),
    (S.PENDING, E.SLOT_FREE): (S.AUTHENTICATING, (A.CANCEL_TIMER, A.AUTHORIZE)),
    (S.PENDING, E.TIMER): (S.DORMANT, (A.DEQUEUE_PENDING, A.START_DORMANT_TIMER)),
    (S.PENDING, E.CLEAR): (None, (A.DEQUEUE_PENDING, A.DELETE)),
    # -- failed (T74, §6: only reset leaves it) --------------------------------------------
    (S.FAILED, E.TRIGGER): (S.FAILED, (A.DISCARD,)),
    (S.FAILED, E.TRIGGER_NO_SLOT): (S.FAILED, (A.DISCARD,)),
    (S.FAILED, E.RESET): (S.DORMANT, (
        A.COUNT_RESET, A.RESET_BACKOFF, A.START_DORMANT_TIMER)),
    (S.FAILED, E.CLEAR): (None, (A.DELETE,)),
}

# States in which a session holds a connecting slot (max-connecting).
SETUP_STATES = frozenset({S.AUTHENTICATING, S.CONNECTING})
# States that `reset` applies to.
RESETTABLE_STATES = frozenset({S.FAILED, S.INHIBITED, S.POST_INHIBITED})


def transition(state: SessionState, event: SessionEvent
               ) -> tuple[SessionState | None, tuple[Action, ...]]:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


def inhibit_multiplier(previous_inhibits: int) -> int:
    """Backoff multiplier for the n-th successive inhibition (0-based): 1, 2, 4, 8, 8, ..."""
    return 1 << min(previous_inhibits, 3)
