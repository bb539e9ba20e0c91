"""Spoofed datagrams from a peer's IP address but another port (or out of window) never touch an
established tunnel: RFC 2661 §8.1 lets the peer's port change only in its first answer."""
from engine.l2tp import CallDown, L2tpConfig, TunnelDown
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.avp import Avp, ResultCode

from .test_endpoints import SECRET, established
from .wire import LAC_ADDR, LNS_ADDR, Wire, of_type, pair

SPOOF_FROM_LAC_IP = (LAC_ADDR[0], 5555)


def _spoof(ep, tunnel, mt, avps, src, session_id=0, ns=None, now=1.0):
    ns = tunnel.channel.nr if ns is None else ns
    data = M.encode_control(mt, tunnel.local_id, session_id, ns, tunnel.channel.ns_next, avps)
    ep.receive_datagram(data, src, now=now)


def _stopccn():
    return [Avp.make(A.ASSIGNED_TUNNEL_ID, 4242), Avp.make(A.RESULT_CODE, ResultCode(1, None, None))]


def test_spoofed_stopccn_from_another_port_is_dropped():
    lns, lac, w = pair()
    tid, _ = established(w, lns, n_calls=1)
    t = lns.tunnels[tid]
    _spoof(lns, t, M.STOPCCN, _stopccn(), SPOOF_FROM_LAC_IP, now=w.now)
    w.run_for(2.0)
    assert t.state == "established" and not of_type(w.events[LNS_ADDR], TunnelDown)
    assert lns.counters["wrong_source"] == 1
    # the same datagram from the peer's real address and port is honoured
    _spoof(lns, t, M.STOPCCN, _stopccn(), LAC_ADDR, now=w.now)
    w.run_for(1.0)
    assert of_type(w.events[LNS_ADDR], TunnelDown)


def test_spoofed_cdn_from_another_port_keeps_the_call():
    lns, lac, w = pair()
    tid, sids = established(w, lns, n_calls=1)
    t = lns.tunnels[tid]
    c = t.calls[sids[0]]
    avps = [Avp.make(A.RESULT_CODE, ResultCode(1, None, None)), Avp.make(A.ASSIGNED_SESSION_ID, c.peer_id)]
    _spoof(lns, t, M.CDN, avps, SPOOF_FROM_LAC_IP, session_id=c.local_id, now=w.now)
    w.run_for(2.0)
    assert sids[0] in t.calls and not of_type(w.events[LNS_ADDR], CallDown)


def test_spoofed_data_from_another_port_is_dropped():
    lns, lac, w = pair()
    tid, sids = established(w, lns, n_calls=1)
    c = lns.tunnels[tid].calls[sids[0]]
    before = c.rx_packets
    lns.receive_datagram(M.encode_data(tid, c.local_id, b"\xc0\x21\x09\x01\x00\x08junk"), SPOOF_FROM_LAC_IP,
                         now=w.now)
    assert c.rx_packets == before and lns.counters["wrong_source"] == 1


def test_out_of_window_stopccn_from_the_peer_is_ignored():
    lns, lac, w = pair()
    tid, _ = established(w, lns)
    t = lns.tunnels[tid]
    _spoof(lns, t, M.STOPCCN, _stopccn(), LAC_ADDR, ns=(t.channel.nr + 1000) & 0xFFFF, now=w.now)
    w.run_for(2.0)
    assert t.state == "established" and lns.counters["out_of_window"] == 1


def test_out_of_window_message_does_not_acknowledge_our_messages():
    lns, lac, w = pair()
    tid, _ = established(w, lns)
    t = lns.tunnels[tid]
    lns.close_tunnel(tid, now=w.now)           # a StopCCN in flight, not yet acknowledged
    lns.datagrams_to_send(now=w.now)
    assert t.channel.inflight
    _spoof(lns, t, M.HELLO, [], LAC_ADDR, ns=(t.channel.nr + 1000) & 0xFFFF, now=w.now)
    assert t.channel.inflight


def test_peer_port_may_change_in_its_first_answer_only():
    lns, lac, _ = pair()
    moved = (LAC_ADDR[0], 40999)
    # the LAC answers from another port: deliver everything it sends as coming from `moved`
    class MovedWire(Wire):
        def flush(self) -> None:
            super().flush()
            self.inflight = [(at, seq, data, moved if src == LAC_ADDR else src, dst)
                             for at, seq, data, src, dst in self.inflight]
    w = MovedWire({LNS_ADDR: lns, moved: lac, LAC_ADDR: lac})
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    w.run_until(lambda: lns.tunnels[tid].state == "established", max_time=10)
    t = lns.tunnels[tid]
    assert t.peer_addr == moved
    # from now on the original port is someone else
    _spoof(lns, t, M.STOPCCN, _stopccn(), LAC_ADDR, now=w.now)
    assert t.state == "established" and lns.counters["wrong_source"] == 1


def test_recipient_accepts_only_the_sccrq_source():
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=SECRET))
    tid, _ = established(w, lns)
    lt = next(iter(lac.tunnels.values()))
    _spoof(lac, lt, M.STOPCCN, _stopccn(), (LNS_ADDR[0], LNS_ADDR[1] + 1), now=w.now)
    w.run_for(2.0)
    assert lt.state == "established" and lac.counters["wrong_source"] == 1
