"""Two endpoints over an in-memory wire: tunnel auth, refusals, calls both directions, CDN,
StopCCN, M-bit handling, data, tie-breaker, tracing, snapshot."""
import random

import pytest

from engine.l2tp import (
    CallDown,
    CallUp,
    IncomingCallRequested,
    L2tpConfig,
    L2tpEndpoint,
    OutgoingCallRequested,
    PppFrame,
    TunnelDown,
    TunnelUp,
)
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.avp import Avp

from .wire import LAC_ADDR, LNS_ADDR, Wire, of_type, pair

SECRET = b"tunnel-secret"


def established(w, lns, n_calls=0, secret=SECRET, **kw):
    tid = lns.open_tunnel(LAC_ADDR, secret=secret, now=w.now, **kw)
    sids = [lns.place_outgoing_call(tid, called_number=f"555{i}", now=w.now) for i in range(n_calls)]
    w.run_until(lambda: len(of_type(w.events[LAC_ADDR], CallUp)) == n_calls
                and of_type(w.events[LNS_ADDR], TunnelUp) and len(of_type(w.events[LNS_ADDR], CallUp)) == n_calls,
                max_time=10)
    w.run_for(0.1)
    return tid, sids


def sent(w, src, mt):
    out = []
    for _t, s, _d, data in w.log:
        if s == src and data[0] & 0x80:
            m = M.decode_control(data, secret=SECRET)
            if m.msg_type == mt:
                out.append(m)
    return out


def inject(ep, tunnel, mt, avps, session_id=0, src=LNS_ADDR):
    """Feed a message into `tunnel` of `ep` as the next in-sequence message from the peer."""
    data = M.encode_control(mt, tunnel.local_id, session_id, tunnel.channel.nr, tunnel.channel.ns_next, avps)
    ep.receive_datagram(data, src, now=0.5)
    return [M.decode_control(d, secret=SECRET) for d, _ in ep.datagrams_to_send(now=0.5) if d[0] & 0x80]


def test_tunnel_with_mutual_authentication():
    lns, lac, w = pair()
    tid, _ = established(w, lns)
    up = of_type(w.events[LNS_ADDR], TunnelUp)[0]
    assert up.peer_host_name == "lac1" and up.peer_addr == LAC_ADDR
    assert of_type(w.events[LAC_ADDR], TunnelUp)[0].peer_host_name == "lns"
    sccrq, sccrp, scccn = sent(w, LNS_ADDR, M.SCCRQ)[0], sent(w, LAC_ADDR, M.SCCRP)[0], sent(w, LNS_ADDR, M.SCCCN)[0]
    assert sccrq.has(A.CHALLENGE) and sccrp.has(A.CHALLENGE) and sccrp.has(A.CHALLENGE_RESPONSE)
    assert scccn.has(A.CHALLENGE_RESPONSE)
    from engine.l2tp import challenge_response
    assert sccrp.get(A.CHALLENGE_RESPONSE) == challenge_response(2, SECRET, sccrq.get(A.CHALLENGE))
    assert scccn.get(A.CHALLENGE_RESPONSE) == challenge_response(3, SECRET, sccrp.get(A.CHALLENGE))
    for m in (sccrq, sccrp):
        assert m.get(A.PROTOCOL_VERSION) == (1, 0) and m.has(A.FRAMING_CAPABILITIES)
        assert m.has(A.BEARER_CAPABILITIES) and m.has(A.FIRMWARE_REVISION) and m.has(A.VENDOR_NAME)
        assert m.get(A.RECEIVE_WINDOW_SIZE) == 64


@pytest.mark.parametrize("lns_secret,lac_secret", [(b"wrong", SECRET), (None, SECRET), (SECRET, None)])
def test_authentication_failures_stopccn_4(lns_secret, lac_secret):
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=lac_secret))
    tid = lns.open_tunnel(LAC_ADDR, secret=lns_secret, now=0.0)
    sid = lns.place_outgoing_call(tid, called_number="1", now=0.0)
    w.run_for(100)
    down = of_type(w.events[LNS_ADDR], TunnelDown)
    assert down and down[0].result_code == 4
    assert down[0].sessions == (sid,) and not of_type(w.events[LNS_ADDR], CallDown)
    stops = sent(w, LNS_ADDR, M.STOPCCN) + sent(w, LAC_ADDR, M.STOPCCN)
    assert stops and stops[0].get(A.RESULT_CODE).result == 4
    assert not lns.tunnels and not lac.tunnels
    assert not of_type(w.events[LAC_ADDR], CallUp)


def test_expected_peer_host_name_mismatch():
    lns, lac, w = pair()
    lns.open_tunnel(LAC_ADDR, secret=SECRET, expected_peer_host="other", now=0.0)
    w.run_for(1)
    assert of_type(w.events[LNS_ADDR], TunnelDown)[0].result_code == 4
    assert of_type(w.events[LAC_ADDR], TunnelDown)[0].by_peer


def test_refused_tunnel():
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=SECRET, accept_tunnels=False, refuse_result=2,
                                             refuse_error=4))
    lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    w.run_for(1)
    d = of_type(w.events[LNS_ADDR], TunnelDown)[0]
    assert (d.result_code, d.error_code, d.by_peer) == (2, 4, True)
    assert lac.counters["tunnels_refused"] == 1
    w.run_for(100)
    assert not lns.tunnels and not lac.tunnels


def test_outgoing_call_avps_and_hidden_called_number():
    lns, lac, w = pair()
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    lns.place_outgoing_call(tid, called_number="5551001", min_bps=9600, max_bps=128000, bearer_type=2,
                            framing_type=3, sub_address="77", now=0.0)
    w.run_until(lambda: of_type(w.events[LNS_ADDR], CallUp), max_time=5)
    ocrq = sent(w, LNS_ADDR, M.OCRQ)[0]
    hidden = {a.attr for a in ocrq.avps if a.hidden}
    assert hidden == {A.CALLED_NUMBER, A.SUB_ADDRESS} and ocrq.has(A.RANDOM_VECTOR)
    assert ocrq.get(A.CALLED_NUMBER) == "5551001" and ocrq.get(A.MINIMUM_BPS) == 9600
    req = of_type(w.events[LAC_ADDR], OutgoingCallRequested)[0]
    assert (req.called_number, req.min_bps, req.max_bps, req.bearer_type, req.framing_type, req.sub_address) == \
        ("5551001", 9600, 128000, 2, 3, "77")
    occn = sent(w, LAC_ADDR, M.OCCN)[0]
    assert occn.get(A.TX_CONNECT_SPEED) == 64000 and occn.get(A.FRAMING_TYPE) == 1
    up = of_type(w.events[LNS_ADDR], CallUp)[0]
    assert up.direction == "outgoing" and up.connect_speed == 64000 and up.called_number == "5551001"
    assert sent(w, LAC_ADDR, M.OCRP)[0].session_id == up.session_id


def test_no_hidden_avps_without_secret():
    lns, lac, w = pair(lac_config=L2tpConfig())
    established(w, lns, 1, secret=None)
    ocrq = sent(w, LNS_ADDR, M.OCRQ)[0]
    assert not any(a.hidden for a in ocrq.avps) and not ocrq.has(A.CHALLENGE)


def test_call_rejected_by_lac_with_cause():
    lns, lac, w = pair(auto_answer=False)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    sid = lns.place_outgoing_call(tid, called_number="999", now=0.0)
    w.run_until(lambda: of_type(w.events[LAC_ADDR], OutgoingCallRequested), max_time=5)
    req = of_type(w.events[LAC_ADDR], OutgoingCallRequested)[0]
    lac.reject_outgoing_call(req.tunnel_id, req.session_id, result=8, cause=17, message="busy", now=w.now)
    w.run_for(1)
    d = of_type(w.events[LNS_ADDR], CallDown)[0]
    assert (d.session_id, d.result_code, d.cause, d.message, d.by_peer) == (sid, 8, 17, "busy", True)
    assert not lns.tunnels[tid].calls and not lac.tunnels[req.tunnel_id].calls
    assert lns.tunnels[tid].state == "established"


def test_cdn_from_lns_and_from_lac():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 3)
    lns.disconnect_call(tid, sids[0], result=3, now=w.now)
    w.run_for(1)
    d = of_type(w.events[LAC_ADDR], CallDown)[0]
    assert d.by_peer and d.result_code == 3
    assert of_type(w.events[LNS_ADDR], CallDown)[0].by_peer is False
    lac_tid = next(iter(lac.tunnels))
    lac_sid = [e for e in of_type(w.events[LAC_ADDR], CallUp) if e.peer_session_id == sids[1]][0].session_id
    lac.disconnect_call(lac_tid, lac_sid, result=1, cause=16, now=w.now)
    w.run_for(1)
    d2 = [e for e in of_type(w.events[LNS_ADDR], CallDown) if e.session_id == sids[1]][0]
    assert d2.by_peer and d2.result_code == 1 and d2.cause == 16
    assert len(lns.tunnels[tid].calls) == 1


def test_cdn_before_ocrp_uses_assigned_session_id():
    lns, lac, w = pair(auto_answer=False)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelUp), max_time=5)
    sid = lns.place_outgoing_call(tid, called_number="1", now=w.now)
    lns.disconnect_call(tid, sid, now=w.now)    # OCRQ queued; CDN follows before any OCRP
    w.run_for(2)
    cdn = sent(w, LNS_ADDR, M.CDN)[0]
    assert cdn.session_id == 0 and cdn.get(A.ASSIGNED_SESSION_ID) == sid
    assert not next(iter(lac.tunnels.values())).calls


def test_stopccn_tears_down_calls_both_sides():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 4)
    lns.close_tunnel(tid, now=w.now)
    w.run_for(1)
    # one TunnelDown each side names the calls that ended with the tunnel
    assert not of_type(w.events[LAC_ADDR], CallDown) and not of_type(w.events[LNS_ADDR], CallDown)
    assert sorted(of_type(w.events[LNS_ADDR], TunnelDown)[0].sessions) == sorted(sids)
    assert len(of_type(w.events[LAC_ADDR], TunnelDown)[0].sessions) == 4
    assert of_type(w.events[LAC_ADDR], TunnelDown)[0].by_peer
    stop = sent(w, LNS_ADDR, M.STOPCCN)[0]
    assert stop.get(A.ASSIGNED_TUNNEL_ID) == tid and stop.get(A.RESULT_CODE).result == 1
    with pytest.raises(KeyError):
        lns.place_outgoing_call(tid, called_number="x", now=w.now)


def test_tunnel_down_drops_its_call_tables_at_once(monkeypatch):
    """A tunnel that goes down is one event naming its calls, however many (no event per
    call), and its call tables go with it, not call by call (no shrink check per call)."""
    from engine import compact as shrink
    lns, lac, w = pair()
    tid, sids = established(w, lns, 40)
    checks: list[int] = []

    def counted(d):
        checks.append(len(d))
        return shrink.compact(d)
    monkeypatch.setattr("engine.l2tp.core.compact", counted)
    t = lns.tunnels[tid]
    lns.close_tunnel(tid, now=w.now)
    events = []
    while (ev := lns.next_event()) is not None:
        events.append(ev)
    assert events == [TunnelDown(tid, events[0].result_code, 0, "", False, "closed", tuple(sids))]
    assert not of_type(events, CallDown)
    assert t.calls == {} and t.peer_calls == {} and checks == []


def test_incoming_call_both_sides():
    lns, lac, w = pair()
    tid, _ = established(w, lns)
    sid = lns.place_incoming_call(tid, calling_number="0301234", called_number="100", now=w.now)
    w.run_until(lambda: of_type(w.events[LNS_ADDR], CallUp), max_time=5)
    ir = of_type(w.events[LAC_ADDR], IncomingCallRequested)[0]
    assert ir.calling_number == "0301234" and ir.called_number == "100"
    up = of_type(w.events[LNS_ADDR], CallUp)[0]
    assert up.session_id == sid and up.direction == "incoming"
    w.run_for(0.1)
    assert of_type(w.events[LAC_ADDR], CallUp)[0].direction == "incoming"
    iccn = sent(w, LNS_ADDR, M.ICCN)[0]
    assert iccn.has(A.TX_CONNECT_SPEED) and iccn.has(A.FRAMING_TYPE)


def test_incoming_call_refused():
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=SECRET, accept_incoming_calls=False))
    tid, _ = established(w, lns)
    sid = lns.place_incoming_call(tid, now=w.now)
    w.run_for(1)
    d = of_type(w.events[LNS_ADDR], CallDown)[0]
    assert d.session_id == sid and d.result_code == 4 and d.by_peer


def test_ppp_frames_both_ways():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 2)
    lac_up = {e.peer_session_id: e for e in of_type(w.events[LAC_ADDR], CallUp)}
    assert lns.send_ppp(tid, sids[0], b"\xff\x03\xc0\x21\x01\x01\x00\x04")
    peer = lac_up[sids[0]]
    assert lac.send_ppp(peer.tunnel_id, peer.session_id, b"\xff\x03\xc0\x21\x02\x01\x00\x04")
    w.run_for(0.1)
    f1 = of_type(w.events[LAC_ADDR], PppFrame)[0]
    f2 = of_type(w.events[LNS_ADDR], PppFrame)[0]
    assert (f1.session_id, f1.frame) == (peer.session_id, b"\xff\x03\xc0\x21\x01\x01\x00\x04")
    assert (f2.tunnel_id, f2.session_id, f2.frame[4]) == (tid, sids[0], 2)
    assert not lns.send_ppp(tid, 12345, b"x")
    snap = lns.snapshot()
    c = [c for c in snap.calls if c.session_id == sids[0]][0]
    assert c.tx_packets == 1 and c.rx_packets == 1


def test_data_with_sequence_and_length_bits():
    cfg = L2tpConfig(data_length_bit=True, data_sequencing=True)
    lns, lac, w = pair(lns_config=cfg)
    tid, sids = established(w, lns, 1)
    lns.send_ppp(tid, sids[0], b"abc")
    data = lns.datagrams_to_send(now=w.now)[0][0]
    dm = M.decode_data(data)
    assert dm.ns == 0 and dm.payload == b"abc" and data[0] & 0x48 == 0x48


def test_unknown_mandatory_avp_in_tunnel_message_stopccn_error_8():
    lns, lac, w = pair()
    established(w, lns)
    t = next(iter(lac.tunnels.values()))
    out = inject(lac, t, M.HELLO, [Avp(250, b"?", 0, True)])
    stop = [m for m in out if m.msg_type == M.STOPCCN][0]
    rc = stop.get(A.RESULT_CODE)
    assert (rc.result, rc.error) == (2, 8)
    assert of_type([lac.next_event() for _ in range(5)], TunnelDown)


def test_unknown_mandatory_avp_in_call_message_cdn_error_8():
    lns, lac, w = pair()
    established(w, lns, 1)
    t = next(iter(lac.tunnels.values()))
    sid = next(iter(t.calls))
    out = inject(lac, t, M.SLI, [Avp.make(A.ACCM, A.Accm(0, 0)), Avp(250, b"?", 0, True)], session_id=sid)
    cdn = [m for m in out if m.msg_type == M.CDN][0]
    assert (cdn.get(A.RESULT_CODE).result, cdn.get(A.RESULT_CODE).error) == (2, 8)
    assert t.state == "established" and not t.calls


def test_unknown_optional_avp_ignored():
    lns, lac, w = pair()
    established(w, lns)
    t = next(iter(lac.tunnels.values()))
    out = inject(lac, t, M.HELLO, [Avp(250, b"?", 0, False), Avp(1, b"x", 9, False)])
    assert [m.msg_type for m in out] == [0]
    assert lac.counters["unknown_avp_ignored"] == 2 and t.state == "established"


def test_ocrq_missing_mandatory_avp_gets_cdn():
    lns, lac, w = pair()
    established(w, lns)
    t = next(iter(lac.tunnels.values()))
    out = inject(lac, t, M.OCRQ, [Avp.make(A.ASSIGNED_SESSION_ID, 4242), Avp.make(A.CALL_SERIAL_NUMBER, 1)])
    cdn = [m for m in out if m.msg_type == M.CDN][0]
    assert cdn.session_id == 4242 and cdn.get(A.RESULT_CODE).result == 2
    assert not t.calls and t.state == "established"


def test_wen_and_sli_accepted():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 1)
    t = lns.tunnels[tid]
    out = inject(lns, t, M.SLI, [Avp.make(A.ACCM, A.Accm(0xFFFFFFFF, 0))], session_id=sids[0], src=LAC_ADDR)
    out += inject(lns, t, M.WEN, [Avp.make(A.CALL_ERRORS, A.CallErrors(1, 2, 3, 4, 5, 6))], session_id=sids[0],
                  src=LAC_ADDR)
    assert [m.msg_type for m in out] == [0, 0]
    assert sids[0] in t.calls


def test_unexpected_call_message_gets_cdn():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 1)
    t = lns.tunnels[tid]
    out = inject(lns, t, M.ICCN, [Avp.make(A.TX_CONNECT_SPEED, 1), Avp.make(A.FRAMING_TYPE, 1)],
                 session_id=sids[0], src=LAC_ADDR)
    assert [m.msg_type for m in out if m.msg_type] == [M.CDN]
    assert sids[0] not in t.calls


def test_many_calls_unique_ids():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 300)
    assert len(set(sids)) == 300 and all(1 <= s <= 65535 for s in sids)
    lac_sids = [e.session_id for e in of_type(w.events[LAC_ADDR], CallUp)]
    assert len(set(lac_sids)) == 300


def test_ids_come_from_injected_rng():
    a = L2tpEndpoint(rng=random.Random(42))
    b = L2tpEndpoint(rng=random.Random(42))
    assert a.open_tunnel(LAC_ADDR, secret=None, now=0) == b.open_tunnel(LAC_ADDR, secret=None, now=0)


def test_tie_breaker():
    cfg = L2tpConfig(send_tie_breaker=True, accept_secret=None)
    a = L2tpEndpoint(rng=random.Random(1), host_name="a", config=cfg)
    b = L2tpEndpoint(rng=random.Random(2), host_name="b", config=cfg)
    w = Wire({LNS_ADDR: a, LAC_ADDR: b})
    a.open_tunnel(LAC_ADDR, secret=None, now=0.0)
    b.open_tunnel(LNS_ADDR, secret=None, now=0.0)
    w.run_for(2)
    ups = of_type(w.events[LNS_ADDR], TunnelUp) + of_type(w.events[LAC_ADDR], TunnelUp)
    assert len(ups) == 2  # exactly one tunnel, seen from both ends
    assert len(a.tunnels) == 1 and len(b.tunnels) == 1
    lost = of_type(w.events[LNS_ADDR], TunnelDown) + of_type(w.events[LAC_ADDR], TunnelDown)
    assert len(lost) == 1 and lost[0].result_code == 3


def test_trace_masks_secrets():
    lines: list[str] = []
    lns, lac, w = pair()
    lns.trace = lines.append
    established(w, lns, 1)
    text = "\n".join(lines)
    assert "SCCRQ" in text and "SCCRP" in text and "OCRQ" in text and "OCCN" in text and "ZLB" in text
    assert "Challenge[M]=<masked>" in text and "Ns=0" in text
    ch = lns.tunnels[next(iter(lns.tunnels))].challenge
    assert ch.hex() not in text and "tunnel-secret" not in text


def test_snapshot():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 2)
    s = lns.snapshot()
    t = s.tunnels[0]
    assert (t.tunnel_id, t.peer_host_name, t.state, t.sessions, t.role) == (tid, "lac1", "established", 2, "originator")
    assert t.ns == 4 and t.nr == 5 and t.up_at is not None and t.peer_addr == LAC_ADDR
    assert {c.session_id for c in s.calls} == set(sids) and all(c.state == "established" for c in s.calls)
    assert s.counters["malformed"] == 0


def test_stopccn_to_tunnel_zero_refuses_pending_sccrq():
    lns = L2tpEndpoint(rng=random.Random(1))
    tid = lns.open_tunnel(LAC_ADDR, secret=None, now=0.0)
    lns.datagrams_to_send(now=0.0)
    stop = M.encode_control(M.STOPCCN, 0, 0, 0, 1, [Avp.make(A.ASSIGNED_TUNNEL_ID, 77),
                                                    Avp.make(A.RESULT_CODE, A.ResultCode(2, 4))])
    lns.receive_datagram(stop, LAC_ADDR, now=0.1)
    ev = [lns.next_event() for _ in range(2)]
    assert isinstance(ev[0], TunnelDown) and ev[0].by_peer and ev[0].result_code == 2
    out = lns.datagrams_to_send(now=0.1)
    zlb = M.decode_control(out[0][0])
    assert zlb.is_zlb and zlb.tunnel_id == 77 and zlb.nr == 1
    assert lns.tunnels[tid].state == "closing"


def test_sccrq_with_unknown_mandatory_avp_answered_with_stopccn_error_8():
    lac = L2tpEndpoint(rng=random.Random(7), host_name="lac1", config=L2tpConfig())
    avps = [Avp.make(A.PROTOCOL_VERSION, (1, 0)), Avp.make(A.HOST_NAME, "lns"),
            Avp.make(A.FRAMING_CAPABILITIES, 3), Avp.make(A.ASSIGNED_TUNNEL_ID, 4321),
            Avp(250, b"?", 0, True)]
    data = M.encode_control(M.SCCRQ, 0, 0, 0, 0, avps)
    for _ in range(2):                       # a retransmission finds the same tunnel
        lac.receive_datagram(data, LNS_ADDR, now=0.0)
    out = [(M.decode_control(d), a) for d, a in lac.datagrams_to_send(now=0.0) if d[0] & 0x80]
    stops = [(m, a) for m, a in out if m.msg_type == M.STOPCCN]
    assert len(stops) == 1 and stops[0][1] == LNS_ADDR
    stop = stops[0][0]
    assert stop.tunnel_id == 4321
    assert (stop.get(A.RESULT_CODE).result, stop.get(A.RESULT_CODE).error) == (2, 8)
    assert len(lac.tunnels) == 1 and next(iter(lac.tunnels.values())).state == "closing"
    assert lac.counters["malformed"] == 0


@pytest.mark.parametrize("length,seq,offset,prio", [
    (False, False, False, False), (True, False, False, False), (False, True, False, False),
    (True, True, True, False), (False, False, True, True), (True, False, False, True)])
def test_every_data_header_form_delivers_the_frame(length, seq, offset, prio):
    lns, lac, w = pair()
    tid, sids = established(w, lns, 1)
    t = next(iter(lac.tunnels.values()))
    lac_sid = next(iter(t.calls))
    peer_sid = t.calls[lac_sid].peer_id
    data = M.encode_data(t.peer_id, peer_sid, b"\xc0\x21frame", length=length,
                         ns=0 if seq else None, nr=0 if seq else None,
                         offset=3 if offset else None, priority=prio)
    rx = lns.counters["rx_data"]
    lns.receive_datagram(data, LAC_ADDR, now=w.now)
    assert lns.next_event() == PppFrame(tid, sids[0], b"\xc0\x21frame")
    assert lns.counters["rx_data"] == rx + 1
    if length:                   # bytes after the Length field are not part of the message
        lns.receive_datagram(data + b"junk", LAC_ADDR, now=w.now)
        assert lns.next_event() == PppFrame(tid, sids[0], b"\xc0\x21frame")


@pytest.mark.parametrize("data", [
    bytes([0x00, 0x02, 0x00]),                        # shorter than a header
    bytes([0x40, 0x02, 0x00, 0x05, 0, 1, 0, 1]),      # Length below the minimum
    bytes([0x40, 0x02, 0x00, 0x40, 0, 1, 0, 1]),      # Length beyond the datagram
    bytes([0x40, 0x02, 0x00, 0x07, 0, 1, 0]),         # Length leaves no session id
    bytes([0x00, 0x03, 0, 1, 0, 1, 0xff]),            # version 3
])
def test_malformed_data_headers_are_counted_not_delivered(data):
    lns, lac, w = pair()
    established(w, lns, 1)
    before = lns.counters["malformed"]
    lns.receive_datagram(data, LAC_ADDR, now=w.now)
    assert lns.counters["malformed"] == before + 1 and lns.next_event() is None


def test_data_for_an_unknown_session_or_from_another_port_is_dropped():
    lns, lac, w = pair()
    tid, sids = established(w, lns, 1)
    t = next(iter(lac.tunnels.values()))
    data = M.encode_data(t.peer_id, 4321, b"x")
    before = lns.counters["unknown_session"]
    lns.receive_datagram(data, LAC_ADDR, now=w.now)
    assert lns.counters["unknown_session"] == before + 1 and lns.next_event() is None
    good = M.encode_data(t.peer_id, t.calls[next(iter(t.calls))].peer_id, b"x")
    lns.receive_datagram(good, (LAC_ADDR[0], LAC_ADDR[1] + 1), now=w.now)
    assert lns.counters["wrong_source"] >= 1 and lns.next_event() is None
