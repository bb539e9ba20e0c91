"""A tunnel gone down, scripted: the service forgets it at once (a new trigger opens another
tunnel to the same endpoint; a tunnel that failed during set-up locks its destination out at
once) and ends its sessions a bounded number per ``tunnel_down_step``, each with the tunnel's
reason, releasing their calls for the integration to end in the same step."""
from __future__ import annotations

import ipaddress

from engine.dialout import OpenTunnel, PlaceCall, RemoveRoutes, TearDown
from engine.dialout.selection import DestinationState
from engine.dialout.session import SessionState as S

from .helpers import LAC_A, Harness

N = 10


def dst(i: int) -> str:
    return str(ipaddress.IPv4Address("10.10.1.1") + i)


def up_on_one_tunnel(h: Harness, n: int) -> int:
    refs = set()
    for i in range(n):
        for r in h.bring_up(dst(i), LAC_A):
            if isinstance(r, PlaceCall):
                refs.add(r.tunnel_ref)
    [ref] = refs
    return ref


def test_sessions_end_a_bounded_number_per_step():
    h = Harness()
    ref = up_on_one_tunnel(h, N)
    calls = {h.call_id(dst(i)): dst(i) for i in range(N)}
    reason = "StopCCN result 1: LAC going away"
    assert h.svc.on_tunnel_down(ref, reason, now=h.now) == N
    # nothing ended yet: every session still inService, no request
    assert all(h.state(dst(i)) is S.IN_SERVICE for i in range(N))
    assert h.reqs() == [] and h.svc.tunnel_down_left(ref) == N
    assert h.svc.snapshot(now=h.now).tunnels == ()           # forgotten at once
    ended: list[int] = []
    steps = 0
    while h.svc.tunnel_down_left(ref):
        h.now += 0.001
        released = h.svc.tunnel_down_step(ref, now=h.now, limit=3)
        steps += 1
        assert 1 <= len(released) <= 3
        reqs = h.reqs()
        # each released session: dormant, its access route removed; no TearDown (the call
        # died with its tunnel: the integration ends it itself)
        assert h.of(reqs, TearDown) == []
        assert len(h.of(reqs, RemoveRoutes)) == len(released)
        for cid in released:
            assert h.state(calls[cid]) is S.DORMANT
            assert h.snap(calls[cid]).failure_reason == reason
        ended += released
    assert steps == 4 and sorted(ended) == sorted(calls)
    assert h.svc.tunnel_down_step(ref, now=h.now, limit=3) == []
    c = h.svc.snapshot(now=h.now).chassis.counters
    assert c.dialouts_torn_down == N
    # not set-up: the destination is not locked out
    [d] = h.svc.snapshot(now=h.now).destinations
    assert d.state is DestinationState.AVAILABLE


def test_trigger_meanwhile_opens_a_new_tunnel_to_the_same_endpoint():
    h = Harness()
    ref = up_on_one_tunnel(h, N)
    h.svc.on_tunnel_down(ref, "no answer", now=h.now)
    released = h.svc.tunnel_down_step(ref, now=h.now, limit=2)
    h.reqs()
    again = next(d for d in map(dst, range(N)) if h.snap(d).call_id is None)
    assert len(released) == 2
    out = h.to_connecting(again, LAC_A)
    [ot] = h.of(out, OpenTunnel)
    [pc] = h.of(out, PlaceCall)
    assert ot.tunnel_ref != ref and pc.tunnel_ref == ot.tunnel_ref
    # a session still queued on the dead tunnel: a trigger forwards (dropped by the
    # integration), places no call
    queued = next(d for d in map(dst, range(N)) if h.state(d) is S.IN_SERVICE)
    h.trigger(queued)
    assert h.of(h.reqs(), PlaceCall) == []
    # the rest end; the session on the new tunnel is not touched
    h.svc.tunnel_down_step(ref, now=h.now)
    assert h.svc.tunnel_down_left(ref) == 0
    assert h.state(again) is S.CONNECTING and h.snap(again).call_id == pc.call_id
    assert [t.sessions for t in h.svc.snapshot(now=h.now).tunnels] == [1]


def test_setup_failure_locks_out_at_once_and_sessions_follow():
    h = Harness()
    out = h.to_connecting(dst(0), LAC_A)
    for i in range(1, 4):
        h.to_connecting(dst(i), LAC_A)
    [ot] = h.of(out, OpenTunnel)
    assert h.svc.on_tunnel_down(ot.tunnel_ref, "tunnel refused by peer: StopCCN result 4",
                                now=h.now) == 4
    [d] = h.svc.snapshot(now=h.now).destinations
    assert d.state is DestinationState.LOCKED_OUT and d.failures == 1
    assert "StopCCN result 4" in d.last_failure_reason
    assert all(h.state(dst(i)) is S.CONNECTING for i in range(4))     # not yet ended
    h.svc.tunnel_down_step(ot.tunnel_ref, now=h.now, limit=2)
    assert sum(h.state(dst(i)) is S.INHIBITED for i in range(4)) == 2
    h.svc.tunnel_down_step(ot.tunnel_ref, now=h.now, limit=2)
    assert all(h.state(dst(i)) is S.INHIBITED for i in range(4))
    assert {h.snap(dst(i)).failure_reason for i in range(4)} == {
        "tunnel refused by peer: StopCCN result 4"}


def test_sessions_cleared_while_queued_are_skipped():
    h = Harness()
    ref = up_on_one_tunnel(h, N)
    h.svc.on_tunnel_down(ref, "StopCCN result 2", now=h.now)
    h.svc.clear("home", dst(0), now=h.now)
    reqs = h.reqs()
    assert len(h.of(reqs, TearDown)) == 1           # the clear ends its call itself
    assert h.svc.tunnel_down_left(ref) == N - 1
    released = h.svc.tunnel_down_step(ref, now=h.now)
    assert len(released) == N - 1 and h.svc.tunnel_down_left(ref) == 0


def test_unknown_tunnel_is_a_stale_input():
    h = Harness()
    assert h.svc.on_tunnel_down(99, "x", now=h.now) is None
    assert h.svc.tunnel_down_step(99, now=h.now) == []
    assert h.svc.snapshot(now=h.now).chassis.stale_inputs == 1
