"""Who may open a tunnel to the LNS: destination profiles, tunnel authentication both ways,
stateless refusals, half-open caps, incoming calls without a dynamic profile."""
from __future__ import annotations

import logging
import random

import pytest

from engine.l2tp import IncomingCallRequested, L2tpConfig, L2tpEndpoint, TunnelDown, TunnelUp
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.acceptance import CLOSED, AcceptancePolicy, HostPolicy, PeerPolicy
from engine.l2tp.avp import Avp
from engine.l2tp.events import CallDown
from tests.l2tp.wire import LAC_ADDR, LNS_ADDR, Wire, of_type

SECRET = b"lac-tunnel-pw"


def policy(*hosts: HostPolicy, address: str = LAC_ADDR[0], **kw: int) -> AcceptancePolicy:
    return AcceptancePolicy((PeerPolicy("lac1", address, "default", hosts),), **kw)


def dialin_pair(pol: AcceptancePolicy, *, lac_host: str = "lac1", seed: int = 1):
    """Our LNS (with ``pol``) and a LAC that opens tunnels to it."""
    lns = L2tpEndpoint(rng=random.Random(seed), host_name="lns", config=L2tpConfig())
    lns.acceptance = pol
    lac = L2tpEndpoint(rng=random.Random(seed + 1000), host_name=lac_host, config=L2tpConfig())
    return lns, lac, Wire({LNS_ADDR: lns, LAC_ADDR: lac})


def from_lns(w: Wire, mt: int, secret: bytes | None = None) -> list[M.ControlMessage]:
    out = []
    for _t, src, _d, data in w.log:
        if src == LNS_ADDR and data[0] & 0x80:
            m = M.decode_control(data, secret=secret)
            if m.msg_type == mt:
                out.append(m)
    return out


def sccrq(peer_tid: int, host: str = "lac1", challenge: bytes | None = None) -> bytes:
    avps = [Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, host),
            Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, peer_tid)]
    if challenge is not None:
        avps.append(Avp.make(A.CHALLENGE, challenge))
    return M.encode_control(M.SCCRQ, 0, 0, 0, 0, avps)


def test_unknown_peer_is_refused_once_without_state() -> None:
    lns, lac, w = dialin_pair(policy(HostPolicy(None), address="192.0.2.9"))
    lac.open_tunnel(LNS_ADDR, secret=None, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelDown)), max_time=5)
    down = of_type(w.events[LAC_ADDR], TunnelDown)[0]
    assert down.result_code == 4 and down.by_peer
    stops = from_lns(w, M.STOPCCN)
    assert len(stops) == 1 and stops[0].ns == 0 and stops[0].nr == 1
    assert stops[0].get(A.RESULT_CODE).result == 4
    assert not lns.tunnels and not lns._sccrq_index
    assert lns.counters["sccrq_refused_unknown_peer"] == 1
    assert not of_type(w.events[LNS_ADDR], TunnelUp)
    w.run_for(60)
    assert len(from_lns(w, M.STOPCCN)) == 1           # never retransmitted


def test_closed_policy_refuses_everyone() -> None:
    lns, lac, w = dialin_pair(CLOSED)
    lac.open_tunnel(LNS_ADDR, secret=None, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelDown)), max_time=5)
    assert lns.counters["sccrq_refused_unknown_peer"] == 1 and not lns.tunnels


def test_unknown_host_refused_and_default_host_admits() -> None:
    lns, lac, w = dialin_pair(policy(HostPolicy("other-lac")), lac_host="lac1")
    lac.open_tunnel(LNS_ADDR, secret=None, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelDown)), max_time=5)
    assert lns.counters["sccrq_refused_unknown_host"] == 1 and not lns.tunnels

    lns, lac, w = dialin_pair(policy(HostPolicy("other-lac"), HostPolicy(None, local_host_name="edge")))
    lac.open_tunnel(LNS_ADDR, secret=None, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LNS_ADDR], TunnelUp)), max_time=5)
    assert of_type(w.events[LAC_ADDR], TunnelUp)[0].peer_host_name == "edge"
    info = lns.snapshot().tunnels[0]
    assert info.dest_profile == "lac1" and info.state == "established"
    assert lns.half_open_total == 0


def test_tunnel_password_challenges_both_ways() -> None:
    """The LAC's SCCRQ carries a Challenge (it authenticates us); we challenge it back in the
    SCCRP and check its SCCCN."""
    lns, lac, w = dialin_pair(policy(HostPolicy("lac1", secret=SECRET)))
    lac.open_tunnel(LNS_ADDR, secret=SECRET, now=w.now)
    assert w.run_until(lambda: bool(of_type(w.events[LNS_ADDR], TunnelUp))
                       and bool(of_type(w.events[LAC_ADDR], TunnelUp)), max_time=5)
    sccrp = from_lns(w, M.SCCRP, SECRET)[0]
    assert sccrp.has(A.CHALLENGE_RESPONSE) and sccrp.has(A.CHALLENGE)


def test_wrong_tunnel_password_fails_both_ways() -> None:
    lns, lac, w = dialin_pair(policy(HostPolicy("lac1", secret=SECRET)))
    lac.open_tunnel(LNS_ADDR, secret=b"wrong", now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelDown)), max_time=5)
    assert not of_type(w.events[LNS_ADDR], TunnelUp)
    w.run_for(120)
    assert not lns.tunnels and lns.half_open_total == 0 and not lns._half_open_by_source


def test_unauthenticated_peer_cannot_answer_our_challenge() -> None:
    """No Challenge in the SCCRQ and no secret at the LAC: our SCCRP challenges it, it cannot
    answer; a forged SCCCN without the response is refused."""
    lns, lac, w = dialin_pair(policy(HostPolicy("lac1", secret=SECRET)))
    lac.open_tunnel(LNS_ADDR, secret=None, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelDown)), max_time=5)
    assert not of_type(w.events[LNS_ADDR], TunnelUp)

    lns, _lac, _w = dialin_pair(policy(HostPolicy("lac1", secret=SECRET)))
    lns.receive_datagram(sccrq(77), LAC_ADDR, now=0.0)
    out = [M.decode_control(d, secret=SECRET) for d, _ in lns.datagrams_to_send(now=0.0)]
    assert [m.msg_type for m in out] == [M.SCCRP] and out[0].has(A.CHALLENGE)
    t = next(iter(lns.tunnels.values()))
    scccn = M.encode_control(M.SCCCN, t.local_id, 0, 1, 1, [])
    lns.receive_datagram(scccn, LAC_ADDR, now=0.1)
    out = [M.decode_control(d, secret=SECRET) for d, _ in lns.datagrams_to_send(now=0.1) if d[0] & 0x80]
    stop = [m for m in out if m.msg_type == M.STOPCCN]
    assert stop and stop[0].get(A.RESULT_CODE).result == 4
    assert t.state == "closing" and t.up_at is None


def test_peer_challenge_without_a_password_is_refused() -> None:
    lns, _lac, _w = dialin_pair(policy(HostPolicy("lac1")))
    lns.receive_datagram(sccrq(5, challenge=b"x" * 16), LAC_ADDR, now=0.0)
    out = [M.decode_control(d) for d, _ in lns.datagrams_to_send(now=0.0)]
    assert out[0].msg_type == M.STOPCCN and out[0].get(A.RESULT_CODE).result == 4


def _incoming_call(host: HostPolicy, n: int = 1):
    lns, lac, w = dialin_pair(policy(host))
    tid = lac.open_tunnel(LNS_ADDR, secret=host.secret, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LNS_ADDR], TunnelUp)), max_time=5)
    for i in range(n):
        lac.place_incoming_call(tid, calling_number=f"100{i}", now=w.now)
    w.run_for(2)
    return lns, lac, w


def test_incoming_call_without_dynamic_profile_gets_cdn() -> None:
    lns, lac, w = _incoming_call(HostPolicy("lac1"))
    assert not of_type(w.events[LNS_ADDR], IncomingCallRequested)
    down = of_type(w.events[LAC_ADDR], CallDown)
    assert len(down) == 1 and down[0].result_code == 5 and down[0].by_peer
    assert not lns.snapshot().calls
    assert lns.counters["calls_refused_no_profile"] == 1


def test_incoming_call_with_profile_is_offered_up_to_max_sessions() -> None:
    lns, lac, w = _incoming_call(HostPolicy("lac1", profile="dialin", max_sessions=2), n=3)
    assert len(of_type(w.events[LNS_ADDR], IncomingCallRequested)) == 2
    down = of_type(w.events[LAC_ADDR], CallDown)
    assert len(down) == 1 and down[0].result_code == 4


def _dial_out_tunnel(pol: AcceptancePolicy, lac_host: str = "lac1"):
    """A tunnel our LNS opened to the LAC (dial-out), established."""
    lns = L2tpEndpoint(rng=random.Random(1), host_name="lns", config=L2tpConfig())
    lns.acceptance = pol
    lac = L2tpEndpoint(rng=random.Random(2), host_name=lac_host, config=L2tpConfig(accept_secret=SECRET))
    w = Wire({LNS_ADDR: lns, LAC_ADDR: lac})
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    w.run_until(lambda: bool(of_type(w.events[LAC_ADDR], TunnelUp)), max_time=5)
    ltid = of_type(w.events[LAC_ADDR], TunnelUp)[0].tunnel_id
    return lns, lac, w, tid, ltid


def test_incoming_call_on_a_dial_out_tunnel_is_refused() -> None:
    """A tunnel we opened to a LAC without a destination profile, or whose remote host has no
    dynamic interface profile, takes no incoming calls."""
    for pol in (policy(HostPolicy("lac1", profile="dialin"), address="192.0.2.9"),
                policy(HostPolicy("lac1"))):
        lns, lac, w, _tid, ltid = _dial_out_tunnel(pol)
        lac.place_incoming_call(ltid, now=w.now)
        w.run_for(2)
        assert not of_type(w.events[LNS_ADDR], IncomingCallRequested)
        assert of_type(w.events[LAC_ADDR], CallDown)[0].result_code == 5


def test_dial_out_tunnel_shares_incoming_calls_of_a_profiled_lac() -> None:
    """Our dial-out tunnel to a LAC with a destination profile and a matching remote host with a
    dynamic profile takes its incoming calls, up to that host's max-sessions (dial-out calls on
    the tunnel count too); released by dial-out, it lives until its last call is gone."""
    lns, lac, w, tid, ltid = _dial_out_tunnel(policy(HostPolicy("lac1", profile="dialin", max_sessions=2)))
    assert lns.tunnels[tid].dest_profile == "lac1"
    lns.place_outgoing_call(tid, called_number="555", now=w.now)
    w.run_for(1)
    for i in range(2):
        lac.place_incoming_call(ltid, calling_number=f"100{i}", now=w.now)
    w.run_for(2)
    offered = of_type(w.events[LNS_ADDR], IncomingCallRequested)
    assert len(offered) == 1 and offered[0].tunnel_id == tid
    assert [d.result_code for d in of_type(w.events[LAC_ADDR], CallDown)] == [4]
    assert len(lns.tunnels[tid].calls) == 2
    lns.release_tunnel(tid, now=w.now)
    w.run_for(1)
    assert tid in lns.tunnels and not of_type(w.events[LNS_ADDR], TunnelDown)
    lns.disconnect_call(tid, offered[0].session_id, now=w.now)
    w.run_for(1)
    assert tid in lns.tunnels                       # the outgoing call is still there
    out = next(iter(lns.tunnels[tid].calls))
    lns.disconnect_call(tid, out, now=w.now)
    w.run_for(2)
    assert of_type(w.events[LNS_ADDR], TunnelDown)         # StopCCN once the last call is gone
    assert of_type(w.events[LAC_ADDR], TunnelDown)


def test_half_open_caps_per_source_and_total() -> None:
    lns, _lac, _w = dialin_pair(policy(HostPolicy(None), max_half_open=100, max_half_open_per_source=5))
    for i in range(1, 21):
        lns.receive_datagram(sccrq(i), (LAC_ADDR[0], 2000 + i), now=0.0)
    out = lns.datagrams_to_send(now=0.0)
    assert len(out) == 20                                  # one answer per SCCRQ
    assert len(lns.tunnels) == 5 and lns.half_open_total == 5
    assert lns.counters["sccrq_refused_half_open_source"] == 15

    pol = AcceptancePolicy(tuple(PeerPolicy(f"p{i}", f"10.0.0.{i}", "default", (HostPolicy(None),))
                                 for i in range(1, 11)), max_half_open=12, max_half_open_per_source=5)
    lns, _lac, _w = dialin_pair(pol)
    for i in range(1, 11):
        for j in range(3):
            lns.receive_datagram(sccrq(j + 1), (f"10.0.0.{i}", 1701), now=0.0)
    assert len(lns.tunnels) == 12
    assert lns.counters["sccrq_refused_half_open_total"] == 18
    # the SCCRPs go unanswered: the tunnels die after their retransmissions, the caps free up
    for k in range(200):
        now = k * 1.0
        lns.handle_timer(now=now)
        lns.datagrams_to_send(now=now)
    assert not lns.tunnels and lns.half_open_total == 0
    lns.receive_datagram(sccrq(99), ("10.0.0.1", 1701), now=300.0)
    assert len(lns.tunnels) == 1


def test_retransmitted_sccrq_is_the_same_tunnel() -> None:
    lns, _lac, _w = dialin_pair(policy(HostPolicy(None)))
    lns.receive_datagram(sccrq(7), LAC_ADDR, now=0.0)
    lns.receive_datagram(sccrq(7), LAC_ADDR, now=1.0)
    assert len(lns.tunnels) == 1 and lns.half_open_total == 1


def test_flood_keeps_no_state_and_dial_out_completes(caplog: pytest.LogCaptureFixture) -> None:
    """70,000 SCCRQs from random sources (some spoofing the configured LAC) while a dial-out
    tunnel to that LAC is opened and a call placed on it."""
    caplog.set_level(logging.DEBUG, logger="engine.l2tp")
    lns = L2tpEndpoint(rng=random.Random(1), host_name="lns", config=L2tpConfig())
    lns.acceptance = policy(HostPolicy("lac1", secret=SECRET), max_half_open=50, max_half_open_per_source=8)
    lac = L2tpEndpoint(rng=random.Random(2), host_name="lac1", config=L2tpConfig(accept_secret=SECRET))
    w = Wire({LNS_ADDR: lns, LAC_ADDR: lac})
    rnd = random.Random(7)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    answers = 0
    peak = 0
    for i in range(70_000):
        src = LAC_ADDR[0] if i % 100 == 0 else f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        lns.receive_datagram(sccrq(rnd.randrange(1, 65536), host=rnd.choice(["lac1", "x"])),
                             (src, rnd.randrange(1024, 65536)), now=w.now)
        if i % 500 == 0:
            answers += sum(1 for _d, dst in lns.datagrams_to_send(now=w.now) if dst != LAC_ADDR)
            peak = max(peak, len(lns.tunnels))
            if i == 35_000:
                sid = lns.place_outgoing_call(tid, called_number="5551234", now=w.now)
            w.step()
    answers += sum(1 for _d, dst in lns.datagrams_to_send(now=w.now) if dst != LAC_ADDR)
    w.run_for(2)
    assert lns.snapshot().calls and lns.snapshot().calls[0].session_id == sid
    assert lns.snapshot().calls[0].state == "established"
    assert peak <= 1 + 8                                    # the dial-out + the per-source cap
    refused = sum(lns.counters[k] for k in ("sccrq_refused_unknown_peer", "sccrq_refused_unknown_host",
                                            "sccrq_refused_half_open_source",
                                            "sccrq_refused_half_open_total"))
    assert lns.counters["sccrq_refused_unknown_peer"] == 69_300    # every stranger, statelessly
    assert refused >= 70_000 - 700 // 2                     # of the spoofed LAC's, the caps admit few
    assert answers <= 70_000 * 1.01                         # one answer per SCCRQ (+ few SCCRP retries)
    assert len(lns._sccrq_index) <= 8 and len(lns._half_open_by_source) <= 1
    w.run_for(300)
    assert set(lns.tunnels) == {tid} and lns.half_open_total == 0
    assert "lac-tunnel-pw" not in caplog.text and "Traceback" not in caplog.text


def test_secrets_stay_out_of_reprs() -> None:
    from engine.dialout.selection import TunnelDef
    pol = policy(HostPolicy("lac1", secret=SECRET))
    lns, _lac, _w = dialin_pair(pol)
    lns.receive_datagram(sccrq(3), LAC_ADDR, now=0.0)
    t = next(iter(lns.tunnels.values()))
    cfg = L2tpConfig(accept_secret=SECRET)
    td = TunnelDef("192.0.2.1", password=SECRET)
    for obj in (pol, t, cfg, td, t.host_policy):
        assert SECRET.decode() not in repr(obj) and repr(SECRET) not in repr(obj), type(obj)


def test_refused_sccrq_does_not_win_the_tie_breaker() -> None:
    """Our SCCRQ to the LAC is outstanding; an SCCRQ from its address that the policy refuses
    (unknown host name) carries a winning tie-breaker: our tunnel stays."""
    lns, _lac, _w = dialin_pair(policy(HostPolicy("lac1")))
    lns.config = L2tpConfig(send_tie_breaker=True)
    tid = lns.open_tunnel(LAC_ADDR, secret=None, now=0.0)
    lns.datagrams_to_send(now=0.0)
    ours = lns.tunnels[tid].tie_breaker
    assert ours is not None
    data = M.encode_control(M.SCCRQ, 0, 0, 0, 0, [
        Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, "intruder"),
        Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, 9),
        Avp.make(A.TIE_BREAKER, b"\x00" * 8)])
    lns.receive_datagram(data, LAC_ADDR, now=0.1)
    assert tid in lns.tunnels and lns.tunnels[tid].state == "wait-ctl-reply"
    assert lns.counters["sccrq_refused_unknown_host"] == 1
    # the same SCCRQ from the listed host does win (RFC 2661 §4.4.3: the lower value wins)
    data = M.encode_control(M.SCCRQ, 0, 0, 0, 0, [
        Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, "lac1"),
        Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, 10),
        Avp.make(A.TIE_BREAKER, b"\x00" * 8)])
    lns.receive_datagram(data, LAC_ADDR, now=0.2)
    assert tid not in lns.tunnels and len(lns.tunnels) == 1
