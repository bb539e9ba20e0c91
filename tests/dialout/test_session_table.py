"""Every (state, event) pair of the Table 74 machine: the table alone, then through the service."""
from __future__ import annotations

import itertools

import pytest

from engine.dialout import TRANSITIONS, ChassisConfig, Denial, InvalidTransition, SessionEvent, SessionState, transition
from engine.dialout.session import Action, inhibit_multiplier

from .helpers import LAC_A, LAC_B, Harness, grant

S, E = SessionState, SessionEvent
ALL_PAIRS = list(itertools.product(SessionState, SessionEvent))
DST = "10.10.1.1"
BLOCKER = "10.10.9.9"


@pytest.mark.parametrize("state,event", ALL_PAIRS, ids=lambda x: str(x))
def test_every_pair_is_a_row_or_an_explicit_error(state, event):
    if (state, event) in TRANSITIONS:
        nxt, actions = transition(state, event)
        assert nxt is None or isinstance(nxt, SessionState)
        assert all(isinstance(a, Action) for a in actions)
        if nxt is None:
            assert actions[-1] is Action.DELETE
    else:
        with pytest.raises(InvalidTransition):
            transition(state, event)


def test_table_shape():
    for st in SessionState:
        assert (st, E.CLEAR) in TRANSITIONS, st
        assert (st, E.TRIGGER) in TRANSITIONS, st
        assert (st, E.TRIGGER_NO_SLOT) in TRANSITIONS, st
    # Only the documented states leave on reset.
    assert {s for (s, e) in TRANSITIONS if e is E.RESET} == {
        S.FAILED, S.INHIBITED, S.POST_INHIBITED}
    # failed has no timer and is left only by reset / clear.
    assert {e for (s, e) in TRANSITIONS if s is S.FAILED} == {
        E.TRIGGER, E.TRIGGER_NO_SLOT, E.RESET, E.CLEAR}


def test_inhibit_multiplier():
    assert [inhibit_multiplier(n) for n in range(6)] == [1, 2, 4, 8, 8, 8]


# ---------------------------------------------------------------- drive the real service
def _harness(state: SessionState, event: SessionEvent) -> Harness:
    """A harness with session DST in ``state``, prepared so that ``event`` can be produced."""
    needs_no_slot = event is E.TRIGGER_NO_SLOT or state is S.PENDING or event is E.SLOT_FREE
    h = Harness(ChassisConfig(max_connecting=1) if needs_no_slot else None)
    tunnels = (LAC_A, LAC_B) if event is E.SETUP_FAILED else (LAC_A,)
    if state is S.PENDING:
        h.trigger(BLOCKER)
        h.trigger(DST)
    elif state is S.AUTHENTICATING:
        h.trigger(DST)
    elif state is S.CONNECTING:
        h.to_connecting(DST, *tunnels)
        if event in (E.PPP_UP_ROUTED, E.PPP_UP_UNROUTED, E.CALL_FAILED):
            h.call_ok(DST)
    elif state is S.IN_SERVICE:
        h.bring_up(DST, session_timeout=30.0 if event is E.DEADLINE else 0.0)
    elif state in (S.INHIBITED, S.POST_INHIBITED):
        h.trigger(DST)
        h.auth(DST, Denial("reject"))
        if state is S.POST_INHIBITED:
            h.fire_next_timer()
    elif state is S.DORMANT:
        h.bring_up(DST)
        h.svc.on_call_down(h.key(DST), "LCP terminate", now=h.now)
    elif state is S.FAILED:
        h.to_connecting(DST)
        h.call_ok(DST)
        h.ppp_up(DST, routes=("10.99.0.0/16",))
    assert h.state(DST) is state
    if event is E.TRIGGER_NO_SLOT and state not in (S.AUTHENTICATING, S.CONNECTING, S.PENDING):
        h.trigger(BLOCKER)                     # takes the only connecting slot
    h.reqs()
    return h


def _produce(h: Harness, event: SessionEvent) -> None:
    k = h.key(DST)
    if event in (E.TRIGGER, E.TRIGGER_NO_SLOT):
        h.trigger(DST)
    elif event is E.AUTH_GRANT:
        h.auth(DST, grant(LAC_A))
    elif event is E.AUTH_DENY:
        h.auth(DST, Denial("reject"))
    elif event is E.SETUP_FAILED:
        h.call_fail(DST)
    elif event is E.CALL_FAILED:
        h.svc.on_call_down(k, "PPP authentication failed", now=h.now)
    elif event is E.CALL_UP:
        h.call_ok(DST)
    elif event is E.PPP_UP_ROUTED:
        h.ppp_up(DST)
    elif event is E.PPP_UP_UNROUTED:
        h.ppp_up(DST, routes=("10.99.0.0/16",))
    elif event is E.CALL_DOWN:
        h.svc.on_call_down(k, "CDN", now=h.now)
    elif event in (E.TIMER, E.DEADLINE):
        h.fire_next_timer()
    elif event is E.SLOT_FREE:
        h.svc.clear("home", BLOCKER, now=h.now)
    elif event is E.RESET:
        assert h.svc.reset("home", DST, now=h.now) == 1
    elif event is E.CLEAR:
        assert h.svc.clear("home", DST, now=h.now) == 1
    else:  # pragma: no cover
        raise AssertionError(event)


@pytest.mark.parametrize("state,event", sorted(TRANSITIONS, key=str), ids=lambda x: str(x))
def test_every_row_through_the_service(state, event):
    h = _harness(state, event)
    _produce(h, event)
    expected, _actions = TRANSITIONS[(state, event)]
    assert h.state(DST) is expected


@pytest.mark.parametrize("state", [s for s in SessionState if (s, E.RESET) not in TRANSITIONS])
def test_reset_ignored_outside_resettable_states(state):
    h = _harness(state, E.CLEAR)
    assert h.svc.reset("home", DST, now=h.now) == 0
    assert h.state(DST) is state


def test_every_action_has_a_handler():
    """The service's Action -> method table covers every action the transitions name."""
    from engine.dialout import DialoutService
    table = DialoutService()._actions
    assert set(table) == set(Action)
    assert all(callable(f) for f in table.values())
