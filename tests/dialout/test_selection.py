"""Tunnel selection (dialout.md §4) alone and through the service's failure paths."""
from __future__ import annotations

from engine.dialout import (
    ChassisConfig,
    CloseTunnel,
    DestinationState,
    DestinationTable,
    OpenTunnel,
    PlaceCall,
    SessionState,
    StartPpp,
    TunnelDef,
    TunnelSelector,
)

from .helpers import Harness

S = SessionState
T1a = TunnelDef("192.0.2.1", preference=1)
T1b = TunnelDef("192.0.2.2", preference=1)
T1c = TunnelDef("192.0.2.3", preference=1)
T2 = TunnelDef("192.0.2.20", preference=2)
T3 = TunnelDef("192.0.2.30", preference=3)


def eps(ts):
    return [t.server_endpoint for t in ts]


# ---------------------------------------------------------------- selector unit tests
def test_round_robin_within_level_then_next_level():
    sel = TunnelSelector(DestinationTable())
    firsts = [eps(sel.candidates([T2, T1a, T1b, T1c], now=0)) for _ in range(4)]
    assert firsts == [["192.0.2.1", "192.0.2.20"], ["192.0.2.2", "192.0.2.20"],
                      ["192.0.2.3", "192.0.2.20"], ["192.0.2.1", "192.0.2.20"]]


def test_failover_within_preference_lists_whole_level():
    sel = TunnelSelector(DestinationTable(), failover_within_preference=True)
    assert eps(sel.candidates([T1a, T1b, T2], now=0)) == ["192.0.2.1", "192.0.2.2", "192.0.2.20"]
    assert eps(sel.candidates([T1a, T1b, T2], now=0)) == ["192.0.2.2", "192.0.2.1", "192.0.2.20"]


def test_lockout_skips_until_timeout():
    d = DestinationTable(lockout_timeout=300)
    sel = TunnelSelector(d)
    d.lock_out("192.0.2.1", "no SCCRP", now=0)
    assert eps(sel.candidates([T1a, T2], now=10)) == ["192.0.2.20"]
    assert eps(sel.candidates([T1a, T2], now=300)) == ["192.0.2.1", "192.0.2.20"]
    snap = {x.address: x for x in d.snapshot(now=100)}
    assert snap["192.0.2.1"].state is DestinationState.LOCKED_OUT
    assert snap["192.0.2.1"].lockout_remaining == 200
    assert snap["192.0.2.1"].failures == 1


def test_all_locked_out_retries_the_one_that_failed_first():
    d = DestinationTable()
    sel = TunnelSelector(d)
    d.lock_out("192.0.2.20", "x", now=5)
    d.lock_out("192.0.2.1", "x", now=7)
    d.lock_out("192.0.2.30", "x", now=9)
    assert eps(sel.candidates([T1a, T2, T3], now=10)) == ["192.0.2.20"]


def test_weighted_picks_highest_weight_with_room():
    heavy = TunnelDef("192.0.2.1", preference=1, max_sessions=10)
    light = TunnelDef("192.0.2.2", preference=1, max_sessions=3)
    sel = TunnelSelector(DestinationTable(), weighted_load_balancing=True)
    load = {"192.0.2.1": 0, "192.0.2.2": 0}
    of = lambda t: load[t.server_endpoint]          # noqa: E731
    assert eps(sel.candidates([light, heavy], now=0, sessions_of=of)) == ["192.0.2.1"]
    load["192.0.2.1"] = 10                           # full
    assert eps(sel.candidates([light, heavy], now=0, sessions_of=of)) == ["192.0.2.2"]
    load["192.0.2.2"] = 3                            # both full: level skipped, fallback first
    assert eps(sel.candidates([light, heavy], now=0, sessions_of=of)) == ["192.0.2.2"]


# ---------------------------------------------------------------- through the service
DST = "10.10.1.1"


def test_tunnel_failure_locks_out_then_next_preference():
    h = Harness()
    reqs = h.to_connecting(DST, T1a, T2)
    ot = h.of(reqs, OpenTunnel)
    assert eps([r.tunnel for r in ot]) == ["192.0.2.1"]
    h.svc.on_tunnel_result(ot[0].tunnel_ref, False, "no SCCRP", now=h.now)
    assert h.state(DST) is S.CONNECTING
    reqs = h.reqs()
    assert eps([r.tunnel for r in h.of(reqs, OpenTunnel)]) == ["192.0.2.20"]
    assert eps([r.tunnel for r in h.of(reqs, PlaceCall)]) == ["192.0.2.20"]
    dests = {d.address: d for d in h.svc.snapshot(now=h.now).destinations}
    assert dests["192.0.2.1"].state is DestinationState.LOCKED_OUT
    assert dests["192.0.2.1"].last_failure_reason == "no SCCRP"
    # A second session skips the locked-out destination from the start.
    reqs = h.to_connecting("10.10.2.2", T1a, T2)
    assert eps([r.tunnel for r in h.of(reqs, PlaceCall)]) == ["192.0.2.20"]
    assert h.of(reqs, OpenTunnel) == []                     # tunnel to .20 is shared
    c = h.snap(DST).counters
    assert c.dialouts_requested == 2 and c.dialouts_rejected == 0


def test_default_mode_moves_to_next_level_not_same_level():
    h = Harness()
    reqs = h.to_connecting(DST, T1a, T1b, T2)
    first = h.of(reqs, PlaceCall)[0].tunnel.server_endpoint
    h.call_fail(DST, "CDN result 2")
    nxt = h.of(h.reqs(), PlaceCall)
    assert eps([r.tunnel for r in nxt]) == ["192.0.2.20"]
    assert first == "192.0.2.1"


def test_failover_within_preference_tries_same_level_first():
    h = Harness(ChassisConfig(failover_within_preference=True))
    h.to_connecting(DST, T1a, T1b, T2)
    h.call_fail(DST)
    assert eps([r.tunnel for r in h.of(h.reqs(), PlaceCall)]) == ["192.0.2.2"]
    h.call_fail(DST)
    assert eps([r.tunnel for r in h.of(h.reqs(), PlaceCall)]) == ["192.0.2.20"]
    h.call_fail(DST)
    assert h.state(DST) is S.INHIBITED
    snap = h.snap(DST)
    assert snap.counters.dialouts_requested == 3
    assert snap.counters.dialouts_rejected == 1
    assert snap.failure_reason == "CDN result 2"
    locked = [d.address for d in h.svc.snapshot(now=h.now).destinations
              if d.state is DestinationState.LOCKED_OUT]
    assert locked == ["192.0.2.1", "192.0.2.2", "192.0.2.20"]


def test_all_locked_out_service_retries_oldest_failure():
    h = Harness()
    h.to_connecting(DST, T1a, T2)
    h.now += 1
    h.call_fail(DST)                                  # .1 locked at t+1
    h.now += 1
    h.call_fail(DST)                                  # .20 locked at t+2 -> inhibited
    assert h.state(DST) is S.INHIBITED
    h.reqs()
    reqs = h.to_connecting("10.10.3.3", T1a, T2)
    assert eps([r.tunnel for r in h.of(reqs, PlaceCall)]) == ["192.0.2.1"]


def test_round_robin_across_sessions():
    h = Harness()
    got = []
    for i in range(4):
        reqs = h.to_connecting(f"10.10.0.{i + 1}", T1a, T1b)
        got.append(h.of(reqs, PlaceCall)[0].tunnel.server_endpoint)
    assert got == ["192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.2"]


def test_weighted_load_balancing_tracks_sessions_per_tunnel():
    heavy = TunnelDef("192.0.2.1", preference=1, max_sessions=2)
    light = TunnelDef("192.0.2.2", preference=1, max_sessions=1)
    h = Harness(ChassisConfig(weighted_load_balancing=True))
    got = []
    for i in range(3):
        reqs = h.to_connecting(f"10.10.0.{i + 1}", light, heavy)
        got.append(h.of(reqs, PlaceCall)[0].tunnel.server_endpoint)
    assert got == ["192.0.2.1", "192.0.2.1", "192.0.2.2"]
    tunnels = {t.server_endpoint: t.sessions for t in h.svc.snapshot(now=h.now).tunnels}
    assert tunnels == {"192.0.2.1": 2, "192.0.2.2": 1}


def test_tunnel_reuse_same_endpoint_and_assignment_id():
    a1 = TunnelDef("192.0.2.1", preference=1, assignment_id="x")
    a2 = TunnelDef("192.0.2.1", preference=1, assignment_id="y")
    h = Harness()
    r1 = h.to_connecting("10.10.0.1", a1)
    r2 = h.to_connecting("10.10.0.2", a1)
    r3 = h.to_connecting("10.10.0.3", a2)
    assert len(h.of(r1, OpenTunnel)) == 1 and h.of(r2, OpenTunnel) == []
    assert len(h.of(r3, OpenTunnel)) == 1
    ref = h.of(r1, OpenTunnel)[0].tunnel_ref
    assert h.of(r2, PlaceCall)[0].tunnel_ref == ref
    assert h.of(r3, PlaceCall)[0].tunnel_ref != ref
    h.svc.on_tunnel_result(ref, True, now=h.now, tunnel_id=42)
    # Established tunnel is reused by a later session too.
    r4 = h.to_connecting("10.10.0.4", a1)
    assert h.of(r4, OpenTunnel) == [] and h.of(r4, PlaceCall)[0].tunnel_ref == ref
    assert h.snap("10.10.0.4").tunnel_id == 42
    # Tunnel closed only when its last session releases it.
    for d in ("10.10.0.1", "10.10.0.2"):
        h.svc.clear("home", d, now=h.now)
        assert h.of(h.reqs(), CloseTunnel) == []
    h.svc.clear("home", "10.10.0.4", now=h.now)
    assert [c.tunnel_ref for c in h.of(h.reqs(), CloseTunnel)] == [ref]


def test_tunnel_setup_failure_fails_every_session_on_it():
    h = Harness()
    r = h.to_connecting("10.10.0.1", T1a)
    h.to_connecting("10.10.0.2", T1a)
    ref = h.of(r, OpenTunnel)[0].tunnel_ref
    h.svc.on_tunnel_result(ref, False, "StopCCN", now=h.now)
    # Each session had a single candidate, now exhausted -> inhibited.
    assert h.state("10.10.0.1") is S.INHIBITED
    assert h.state("10.10.0.2") is S.INHIBITED
    assert h.of(h.reqs(), CloseTunnel) == []       # already gone, no StopCCN to send


def test_established_tunnel_down_ends_in_service_sessions():
    h = Harness()
    reqs = h.bring_up(DST, T1a)
    ref = h.of(reqs, OpenTunnel)[0].tunnel_ref
    assert h.state(DST) is S.IN_SERVICE
    h.svc.on_tunnel_result(ref, False, "StopCCN from peer", now=h.now)
    assert h.state(DST) is S.DORMANT
    dests = {d.address: d for d in h.svc.snapshot(now=h.now).destinations}
    assert dests["192.0.2.1"].state is DestinationState.AVAILABLE   # no lockout after up


def test_call_refused_counts_and_inhibits():
    h = Harness()
    h.to_connecting(DST, T1a)
    h.call_fail(DST, "CDN result 4 (no carrier)")
    assert h.state(DST) is S.INHIBITED
    reqs = h.reqs()
    assert len(h.of(reqs, CloseTunnel)) == 1
    c = h.svc.snapshot(now=h.now).chassis.counters
    assert (c.dialouts_requested, c.dialouts_rejected, c.dialouts_established) == (1, 1, 0)
    assert h.snap(DST).failure_reason == "CDN result 4 (no carrier)"


def test_ppp_auth_failure_inhibits():
    h = Harness()
    h.to_connecting(DST, T1a)
    h.call_ok(DST)
    assert len(h.of(h.reqs(), StartPpp)) == 1
    h.svc.on_call_down(h.key(DST), "PPP authentication failed (CHAP)", now=h.now)
    assert h.state(DST) is S.INHIBITED
    snap = h.snap(DST)
    assert snap.failure_reason == "PPP authentication failed (CHAP)"
    assert snap.counters.dialouts_rejected == 1
    # A failure after the call is up does not lock the destination out.
    assert all(d.state is DestinationState.AVAILABLE
               for d in h.svc.snapshot(now=h.now).destinations)
