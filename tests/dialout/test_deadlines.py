"""Inactivity and Session-Timeout deadlines of inService sessions, with scripted time."""
from __future__ import annotations

from engine.dialout import RemoveRoutes, SessionState, TearDown
from engine.dialout.causes import TerminateCause
from engine.dialout.deadlines import SessionDeadlines

from .helpers import Harness

S = SessionState
DST = "10.10.1.1"


# ---------------------------------------------------------------- the heap alone
def test_idle_expires_after_the_last_activity():
    d: SessionDeadlines[str] = SessionDeadlines()
    d.start("a", 1, now=0.0, idle=10.0)
    assert d.get_timer() == 10.0
    d.activity("a", now=4.0)
    assert d.expire(now=10.0) == []                  # moved to 14
    assert d.get_timer() == 14.0
    d.activity("a", now=13.0)
    assert d.expire(now=14.0) == []
    [x] = d.expire(now=23.0)
    assert (x.key, x.token, x.cause) == ("a", 1, TerminateCause.IDLE_TIMEOUT)
    assert d.get_timer() is None and len(d) == 0


def test_session_timeout_ignores_activity_and_first_deadline_wins():
    d: SessionDeadlines[str] = SessionDeadlines()
    d.start("a", 1, now=0.0, idle=10.0, session_timeout=25.0)
    for t in range(1, 25):
        d.activity("a", now=float(t))
        assert d.expire(now=float(t)) == []
    [x] = d.expire(now=25.0)
    assert x.cause is TerminateCause.SESSION_TIMEOUT
    assert d.expire(now=100.0) == []                 # the idle entry died with the session


def test_stop_and_restart_drop_old_entries():
    d: SessionDeadlines[str] = SessionDeadlines()
    d.start("a", 1, now=0.0, session_timeout=5.0)
    d.stop("a")
    assert d.get_timer() is None
    d.start("a", 1, now=0.0, session_timeout=5.0)
    d.start("a", 2, now=3.0, session_timeout=5.0)     # a new call under the same key
    assert d.expire(now=5.0) == []
    [x] = d.expire(now=8.0)
    assert x.token == 2


def test_no_limit_no_timer():
    d: SessionDeadlines[str] = SessionDeadlines()
    d.start("a", 1, now=0.0)
    assert d.get_timer() is None and len(d) == 0


# ---------------------------------------------------------------- through the service
def test_session_timeout_tears_the_session_down_to_dormant():
    h = Harness()
    h.bring_up(DST, session_timeout=60.0)
    h.reqs()
    assert h.svc.get_timer() == h.now + 60.0
    h.advance(59.0)
    assert h.state(DST) is S.IN_SERVICE and not h.reqs()
    h.advance(1.0)
    assert h.state(DST) is S.DORMANT
    reqs = h.reqs()
    [td] = h.of(reqs, TearDown)
    assert td.cause is TerminateCause.SESSION_TIMEOUT
    assert td.reason == "Session-Timeout expired"
    assert h.of(reqs, RemoveRoutes)
    assert h.snap(DST).failure_reason == "Session-Timeout expired"


def test_idle_deadline_follows_reported_activity():
    h = Harness()
    h.bring_up(DST, idle=30.0)
    h.reqs()
    k = h.key(DST)
    for _ in range(5):                               # traffic every 20 s keeps it up
        h.advance(20.0)
        h.svc.deadlines.activity(k, now=h.now)
    assert h.state(DST) is S.IN_SERVICE and not h.of(h.reqs(), TearDown)
    h.advance(30.0)
    assert h.state(DST) is S.DORMANT
    [td] = h.of(h.reqs(), TearDown)
    assert td.cause is TerminateCause.IDLE_TIMEOUT
    assert td.reason == "ip inactivity-timer expired"


def test_deadline_of_a_session_that_went_down_does_not_fire():
    h = Harness()
    h.bring_up(DST, session_timeout=60.0)
    h.svc.on_call_down(h.key(DST), "CDN", now=h.now)
    h.reqs()
    h.trigger(DST)                                   # dormant -> new set-up, no limits yet
    assert h.state(DST) is S.AUTHENTICATING
    h.advance(61.0)
    assert not h.of(h.reqs(), TearDown)


def test_clear_carries_admin_reset_and_resets_the_cause():
    h = Harness()
    h.bring_up(DST)
    h.reqs()
    h.svc.clear("home", DST, now=h.now)
    [td] = h.of(h.reqs(), TearDown)
    assert td.cause is TerminateCause.ADMIN_RESET


def test_service_teardown_without_a_named_cause_is_nas_request():
    h = Harness()
    h.to_connecting(DST)
    h.call_ok(DST)
    h.ppp_up(DST, routes=("10.99.0.0/16",))          # route check fails
    [td] = h.of(h.reqs(), TearDown)
    assert td.cause is TerminateCause.NAS_REQUEST
