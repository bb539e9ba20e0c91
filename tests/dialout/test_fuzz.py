"""Random input sequences: the service never raises and its bookkeeping stays consistent."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dialout import ChassisConfig, Denial, SessionState, TunnelDef
from engine.dialout.session import SETUP_STATES

from .helpers import Harness, grant, vr_config

DSTS = ["10.10.0.1", "10.10.0.2", "10.10.0.3", "10.10.0.4"]
TUNNELS = [TunnelDef("192.0.2.1", 1, "a", 2), TunnelDef("192.0.2.2", 1, "b", 1),
           TunnelDef("192.0.2.3", 2, "")]

op = st.one_of(
    *[st.tuples(st.just("step"), st.sampled_from(DSTS[:2]), st.integers(1, 3))] * 6,
    st.tuples(st.just("trigger"), st.sampled_from(DSTS)),
    st.tuples(st.just("grant"), st.sampled_from(DSTS), st.integers(1, 3)),
    st.tuples(st.just("deny"), st.sampled_from(DSTS)),
    st.tuples(st.just("tunnel"), st.integers(1, 6), st.booleans()),
    st.tuples(st.just("call"), st.sampled_from(DSTS), st.booleans()),
    st.tuples(st.just("ppp"), st.sampled_from(DSTS), st.booleans()),
    st.tuples(st.just("down"), st.sampled_from(DSTS)),
    st.tuples(st.just("advance"), st.sampled_from([1, 10, 29, 60, 200, 400])),
    st.tuples(st.just("clear"), st.sampled_from(DSTS + [None])),
    st.tuples(st.just("reset"), st.sampled_from(DSTS + [None])),
    st.tuples(st.just("clear-address"), st.sampled_from(DSTS)),
)


def _check(h: Harness) -> None:
    snap = h.svc.snapshot(now=h.now)
    by_state = dict(snap.chassis.sessions_by_state)
    assert sum(by_state.values()) == snap.chassis.sessions == len(snap.sessions)
    setup = sum(1 for s in snap.sessions if s.state in SETUP_STATES)
    assert snap.chassis.connecting == setup <= h.chassis.max_connecting
    assert sum(t.sessions for t in snap.targets) == snap.chassis.sessions
    for s in snap.sessions:
        if s.state in (SessionState.IN_SERVICE, SessionState.FAILED):
            assert s.next_timer is None
        if s.state not in (SessionState.CONNECTING, SessionState.IN_SERVICE):
            assert s.call_id is None and s.tunnel_ref is None
            assert s.tunnel_id is None and s.session_id is None and s.access_routes == ()
        assert (s.up_time is not None) == (s.state is SessionState.IN_SERVICE)
        assert s.user_name
    [vr] = snap.vrs
    assert vr.triggers_buffered == sum(s.triggers_buffered for s in snap.sessions) <= 3
    assert (str(snap.chassis.state) == "restricted") == (snap.chassis.sessions
                                                          >= h.chassis.max_sessions)
    members = sum(t.sessions for t in snap.tunnels)
    assert members == sum(1 for s in snap.sessions if s.tunnel_ref is not None)
    c = snap.chassis.counters
    assert c.sessions_created - c.sessions_removed == snap.chassis.sessions


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(op, min_size=10, max_size=60))
def test_random_sequences(ops):
    h = Harness(ChassisConfig(max_connecting=2, connect_timeout=30, dormant_timeout=100,
                              failover_within_preference=True, max_sessions=3),
                vrs=(vr_config(buffer=3),))
    for o in ops:
        kind = o[0]
        if kind == "step":                       # the next successful step for this session
            snap = h.snap(o[1])
            if snap is None or snap.state is not SessionState.CONNECTING:
                if snap is not None and snap.state is SessionState.AUTHENTICATING:
                    h.auth(o[1], grant(*TUNNELS[:o[2]]))
                else:
                    h.trigger(o[1])
            elif snap.ifname is None:
                h.svc.on_call_result(snap.call_id, True, now=h.now)
            else:
                h.svc.on_ppp_up(h.key(o[1]), (), o[1], now=h.now)
        elif kind == "trigger":
            h.trigger(o[1])
        elif kind == "grant":
            h.auth(o[1], grant(*TUNNELS[:o[2]]))
        elif kind == "deny":
            h.auth(o[1], Denial())
        elif kind == "tunnel":
            h.svc.on_tunnel_result(o[1], o[2], "x", now=h.now)
        elif kind == "call":
            snap = h.snap(o[1])
            if snap is not None and snap.call_id is not None:
                h.svc.on_call_result(snap.call_id, o[2], "x", now=h.now)
        elif kind == "ppp":
            h.svc.on_ppp_up(h.key(o[1]), (f"{o[1]}/32",) if o[2] else ("10.99.0.0/16",),
                            o[1], now=h.now)
        elif kind == "down":
            h.svc.on_call_down(h.key(o[1]), "x", now=h.now)
        elif kind == "advance":
            h.advance(o[1])
        elif kind == "clear":
            h.svc.clear("home" if o[1] else None, o[1], now=h.now)
        elif kind == "reset":
            h.svc.reset("home" if o[1] else None, o[1], now=h.now)
        elif kind == "clear-address":
            before = {str(x.destination) for x in h.svc.snapshot(now=h.now).sessions}
            n = h.svc.clear(None, o[1], now=h.now)
            after = {str(x.destination) for x in h.svc.snapshot(now=h.now).sessions}
            assert (n, after) == (int(o[1] in before), before - {o[1]})
        h.reqs()
        _check(h)
    h.svc.clear(now=h.now)
    assert h.svc.snapshot(now=h.now).tunnels == ()
