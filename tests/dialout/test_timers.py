"""Scripted-clock tests of the session timers (dialout.md §7, §8)."""
from __future__ import annotations

from engine.dialout import AuthorizeRequest, ChassisConfig, CloseTunnel, Denial, SessionState, TearDown

from .helpers import Harness, grant

S = SessionState
DST = "10.10.1.1"


def test_connecting_timer_expiry_inhibits_and_tears_down():
    h = Harness(ChassisConfig(connect_timeout=45))
    h.to_connecting(DST)
    granted_at = h.now
    assert h.svc.get_timer() == granted_at + 45
    h.advance(44.9)
    assert h.state(DST) is S.CONNECTING
    h.advance(0.1)
    assert h.state(DST) is S.INHIBITED
    reqs = h.reqs()
    td = h.of(reqs, TearDown)
    assert len(td) == 1 and td[0].reason == "connecting timer expired"
    assert len(h.of(reqs, CloseTunnel)) == 1
    snap = h.snap(DST)
    assert snap.counters.dialouts_timed_out == 1
    assert snap.counters.dialouts_torn_down == 1
    assert snap.failure_reason == "connecting timer expired"
    assert snap.call_id is None and snap.tunnel_ref is None
    # First inhibition lasts the connecting timer value.
    assert snap.next_timer == 45


def test_aaa_guard_timer():
    h = Harness()
    h.trigger(DST)
    h.advance(60)
    assert h.state(DST) is S.INHIBITED
    assert h.snap(DST).failure_reason == "no answer from AAA"
    # A late answer is stale and ignored.
    h.auth(DST, grant())
    assert h.state(DST) is S.INHIBITED
    assert h.svc.snapshot(now=h.now).chassis.stale_inputs == 1


def test_inhibit_backoff_1_2_4_8_8_and_post_inhibited_trigger():
    h = Harness(ChassisConfig(connect_timeout=30, dormant_timeout=3600))
    durations = []
    for _ in range(5):
        h.trigger(DST)
        assert h.state(DST) is S.AUTHENTICATING
        h.auth(DST, Denial("reject"))
        assert h.state(DST) is S.INHIBITED
        start = h.now
        # Triggers while inhibited are discarded.
        h.trigger(DST)
        h.fire_next_timer()
        durations.append(h.now - start)
        assert h.state(DST) is S.POST_INHIBITED
    assert durations == [30, 60, 120, 240, 240]
    c = h.snap(DST).counters
    assert c.auth_requests == 5 and c.auth_denies == 5
    # 5 discarded while inhibited + 5 buffered first triggers dropped by the denies.
    assert c.triggers_discarded == 10 and c.triggers_enqueued == 5
    # Reaching inService resets the backoff.
    h.bring_up(DST)
    assert h.state(DST) is S.IN_SERVICE
    assert h.snap(DST).inhibit_count == 0


def test_post_inhibited_to_dormant_to_deleted():
    h = Harness(ChassisConfig(dormant_timeout=100))
    h.trigger(DST)
    h.auth(DST, Denial())
    h.advance(60)
    assert h.state(DST) is S.POST_INHIBITED
    h.advance(99)
    assert h.state(DST) is S.POST_INHIBITED
    h.advance(1)
    assert h.state(DST) is S.DORMANT
    h.advance(100)
    assert h.state(DST) is None
    snap = h.svc.snapshot(now=h.now)
    assert snap.chassis.sessions == 0
    assert snap.chassis.counters.sessions_created == 1
    assert snap.chassis.counters.sessions_removed == 1
    assert h.svc.get_timer() is None


def test_dormant_trigger_reauthenticates_and_zero_dormant_timer():
    h = Harness(ChassisConfig(dormant_timeout=0))
    h.bring_up(DST)
    h.svc.on_call_down(h.key(DST), "peer hung up", now=h.now)
    assert h.state(DST) is S.DORMANT
    h.trigger(DST)
    assert h.state(DST) is S.AUTHENTICATING
    h.auth(DST, Denial())
    h.advance(60)                    # inhibited -> postInhibited
    h.advance(0)                     # dormant time 0: -> dormant -> deleted
    assert h.state(DST) is None


def test_pending_slot_frees_in_order_and_pending_expiry():
    h = Harness(ChassisConfig(max_connecting=2, connect_timeout=30))
    for d in ("10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.4"):
        h.trigger(d)
    assert [h.state(d) for d in ("10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.4")] == [
        S.AUTHENTICATING, S.AUTHENTICATING, S.PENDING, S.PENDING]
    assert len(h.of(h.reqs(), AuthorizeRequest)) == 2
    # Triggers are discarded while pending (and the first one was not buffered).
    h.trigger("10.10.0.3")
    assert h.snap("10.10.0.3").triggers_buffered == 0
    assert h.snap("10.10.0.3").counters.triggers_discarded == 2
    # One slot frees -> the oldest pending session authenticates.
    h.auth("10.10.0.1", Denial())
    assert h.state("10.10.0.3") is S.AUTHENTICATING
    assert h.state("10.10.0.4") is S.PENDING
    reqs = h.of(h.reqs(), AuthorizeRequest)
    assert [str(r.session_key.dst) for r in reqs] == ["10.10.0.3"]
    # Still no slot for .4 within the connecting-timer value -> dormant.
    h.advance(29)
    assert h.state("10.10.0.4") is S.PENDING
    h.advance(1)
    assert h.state("10.10.0.4") is S.DORMANT
    assert h.svc.snapshot(now=h.now).chassis.connecting <= 2


def test_failed_until_reset():
    h = Harness(ChassisConfig(dormant_timeout=50))
    h.to_connecting(DST)
    h.call_ok(DST)
    h.ppp_up(DST, routes=("10.20.0.0/16",))
    assert h.state(DST) is S.FAILED
    reqs = h.reqs()
    assert len(h.of(reqs, TearDown)) == 1
    assert h.svc.get_timer() is None                 # failed has no timer
    h.advance(100000)
    h.trigger(DST)
    assert h.state(DST) is S.FAILED
    assert "does not cover 10.10.1.1" in h.snap(DST).failure_reason
    assert h.svc.reset("home", now=h.now) == 1
    assert h.state(DST) is S.DORMANT
    assert h.snap(DST).counters.sessions_reset == 1
    h.trigger(DST)
    assert h.state(DST) is S.AUTHENTICATING


def test_reset_inhibited_restarts_backoff():
    h = Harness(ChassisConfig(connect_timeout=30))
    for _ in range(3):
        h.trigger(DST)
        h.auth(DST, Denial())
        h.fire_next_timer()
    assert h.snap(DST).inhibit_count == 3
    h.trigger(DST)
    h.auth(DST, Denial())
    assert h.snap(DST).next_timer == 240
    h.svc.reset(now=h.now)
    assert h.state(DST) is S.DORMANT and h.snap(DST).inhibit_count == 0
    h.trigger(DST)
    h.auth(DST, Denial())
    assert h.snap(DST).next_timer == 30


def test_get_timer_is_earliest_and_none_when_idle():
    h = Harness(ChassisConfig(connect_timeout=30, dormant_timeout=10))
    assert h.svc.get_timer() is None
    h.trigger("10.10.0.1")
    h.now += 5
    h.trigger("10.10.0.2")
    assert h.svc.get_timer() == h.now - 5 + 30
    h.svc.clear("home", "10.10.0.1", now=h.now)
    assert h.svc.get_timer() == h.now + 30
