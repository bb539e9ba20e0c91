"""Reliable delivery with scripted time: loss, duplication, reordering, retransmit schedule,
teardown, HELLO, windows, StopCCN hold."""
import random

import pytest

from engine.l2tp import CallDown, CallUp, L2tpConfig, TunnelDown, TunnelUp
from engine.l2tp import message as M

from .wire import LAC_ADDR, LNS_ADDR, calls_down, of_type, pair

SECRET = b"tunnel-secret"


def ctl(data):
    """(msg_type, ns) of a control datagram, msg_type 0 for ZLB, None for data."""
    if not data[0] & 0x80:
        return None
    m = M.decode_control(data, secret=SECRET)
    return m.msg_type, m.ns


def setup_calls(w, lns, n=2):
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    sids = [lns.place_outgoing_call(tid, called_number=f"55510{i}", now=w.now) for i in range(n)]
    return tid, sids


def all_up(w, n):
    return lambda: len(of_type(w.events[LNS_ADDR], CallUp)) == n and len(of_type(w.events[LAC_ADDR], CallUp)) == n


# the sequence without loss: LNS sends SCCRQ SCCCN OCRQ OCRQ; LAC sends SCCRP OCRP OCCN OCRP OCCN
@pytest.mark.parametrize("direction,index", [("lns->lac", i) for i in range(4)] + [("lac->lns", i) for i in range(5)])
def test_each_message_lost_once(direction, index):
    src = LNS_ADDR if direction == "lns->lac" else LAC_ADDR
    seen: list = []
    dropped: list = []

    def drop(data, s, d):
        k = ctl(data)
        if s != src or k is None or k[0] == 0:
            return False
        if k not in seen:
            seen.append(k)
            if len(seen) - 1 == index:
                dropped.append(k)
                return True
        return False

    lns, lac, w = pair(drop=drop)
    setup_calls(w, lns)
    assert w.run_until(all_up(w, 2), max_time=60)
    assert len(dropped) == 1
    assert lns.counters["retransmits"] + lac.counters["retransmits"] >= 1
    assert w.now >= 1.0  # recovered through the 1 s retransmission
    assert len(of_type(w.events[LNS_ADDR], CallUp)) == 2
    w.run_for(5)
    assert all(t.channel.idle for t in list(lns.tunnels.values()) + list(lac.tunnels.values()))


def test_every_datagram_duplicated():
    lns, lac, w = pair()
    orig_flush = w.flush

    def flush():
        before = len(w.inflight)
        orig_flush()
        for x in w.inflight[before:]:
            w.seq += 1
            w.inflight.append((x[0] + 0.0005, w.seq, x[2], x[3], x[4]))
    w.flush = flush
    setup_calls(w, lns, 5)
    assert w.run_until(all_up(w, 5), max_time=30)
    assert lns.counters["duplicates"] > 0 and lac.counters["duplicates"] > 0
    assert len(of_type(w.events[LAC_ADDR], CallUp)) == 5
    assert w.now < 1.0  # no retransmission needed


def test_reordering():
    lns, lac, w = pair()
    rng = random.Random(7)
    orig_flush = w.flush

    def flush():
        before = len(w.inflight)
        orig_flush()
        for i in range(before, len(w.inflight)):
            x = w.inflight[i]
            w.inflight[i] = (x[0] + rng.uniform(0, 0.05), x[1], x[2], x[3], x[4])
    w.flush = flush
    setup_calls(w, lns, 20)
    assert w.run_until(all_up(w, 20), max_time=30)
    assert lac.counters["malformed"] == 0 and lns.counters["malformed"] == 0


def sends_of(w, src, msg_type):
    return [t for t, s, d, data in w.log if s == src and ctl(data) and ctl(data)[0] == msg_type]


@pytest.mark.parametrize("retries,schedule", [(5, [0, 1, 3, 7, 15, 31]), (2, [0, 1, 3]),
                                              (7, [0, 1, 3, 7, 15, 31, 47, 63])])
def test_retransmit_schedule_and_teardown(retries, schedule):
    # a 16 s back-off cap (RFC 2661 allows 8..): the schedule doubles until the cap
    lns, lac, w = pair(lns_config=L2tpConfig(max_retries=retries, retransmit_cap=16.0),
                       drop=lambda d, s, dst: dst == LAC_ADDR)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    sid = lns.place_outgoing_call(tid, called_number="1", now=0.0)
    assert w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=200)
    times = sends_of(w, LNS_ADDR, M.SCCRQ)
    assert [round(t, 3) for t in times] == schedule
    down = of_type(w.events[LNS_ADDR], TunnelDown)[0]
    assert round(w.now, 3) == schedule[-1] + 16 if retries >= 5 else schedule[-1] + 2 ** retries
    assert not down.by_peer and down.result_code == 2
    assert down.sessions == (sid,)                       # its call ended with it
    assert lns.tunnels == {} and lns.counters["tunnels_timed_out"] == 1
    assert lns.get_timer() is None


def test_teardown_when_call_message_never_acked():
    blocked = [False]
    lns, lac, w = pair(lns_config=L2tpConfig(retransmit_cap=16.0),
                       drop=lambda d, s, dst: blocked[0] and dst == LAC_ADDR)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    assert w.run_until(lambda: of_type(w.events[LAC_ADDR], TunnelUp), max_time=5)
    blocked[0] = True
    lns.place_outgoing_call(tid, called_number="1", now=w.now)
    t0 = w.now
    assert w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=200)
    assert w.now - t0 == pytest.approx(47, abs=0.01)
    assert len(calls_down(w.events[LNS_ADDR])) == 1


def test_hello_after_idle():
    lns, lac, w = pair()
    setup_calls(w, lns, 1)
    assert w.run_until(all_up(w, 1), max_time=5)
    t_up = w.now
    w.run_for(61)
    hellos = sends_of(w, LNS_ADDR, M.HELLO) + sends_of(w, LAC_ADDR, M.HELLO)
    assert hellos and all(h >= t_up + 59.9 for h in hellos)
    w.run_for(300)
    assert lns.tunnels and lac.tunnels  # HELLOs were acknowledged: nothing torn down
    assert all(t.state == "established" for t in lns.tunnels.values())


def test_hello_disabled():
    cfg = L2tpConfig(hello_interval=0)
    lns, lac, w = pair(lns_config=cfg, lac_config=L2tpConfig(accept_secret=SECRET, hello_interval=0))
    setup_calls(w, lns, 1)
    assert w.run_until(all_up(w, 1), max_time=5)
    w.run_for(0.1)
    assert lns.get_timer() is None and lac.get_timer() is None
    w.run_for(500)
    assert not sends_of(w, LNS_ADDR, M.HELLO) and not sends_of(w, LAC_ADDR, M.HELLO)


def test_hello_lost_peer_gone_tears_down():
    gone = [False]
    lns, lac, w = pair(drop=lambda d, s, dst: gone[0])
    setup_calls(w, lns, 1)
    assert w.run_until(all_up(w, 1), max_time=5)
    gone[0] = True
    w.run_for(60 + 47 + 1)
    assert of_type(w.events[LNS_ADDR], TunnelDown) and of_type(w.events[LAC_ADDR], TunnelDown)
    assert not lns.tunnels and not lac.tunnels


@pytest.mark.parametrize("peer_window", [1, 2, 4])
def test_peer_window_respected(peer_window):
    lac_cfg = L2tpConfig(accept_secret=SECRET, receive_window=peer_window)
    blocked = [False]
    lns, lac, w = pair(lac_config=lac_cfg, drop=lambda d, s, dst: blocked[0] and dst == LNS_ADDR)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    assert w.run_until(lambda: of_type(w.events[LAC_ADDR], TunnelUp), max_time=5)
    w.run_for(0.1)
    blocked[0] = True
    for i in range(10):
        lns.place_outgoing_call(tid, called_number=str(i), now=w.now)
    w.run_for(0.5)
    ocrqs = {ctl(d)[1] for t, s, dst, d in w.log if s == LNS_ADDR and ctl(d) and ctl(d)[0] == M.OCRQ}
    assert 1 <= len(ocrqs) <= peer_window
    blocked[0] = False
    assert w.run_until(all_up(w, 10), max_time=60)


def test_slow_start_grows_window():
    lns, lac, w = pair(lns_config=L2tpConfig(receive_window=16),
                       lac_config=L2tpConfig(accept_secret=SECRET, receive_window=16))
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    ch = lns.tunnels[tid].channel
    assert ch.cwnd == 1
    for i in range(30):
        lns.place_outgoing_call(tid, called_number=str(i), now=0.0)
    assert w.run_until(all_up(w, 30), max_time=10)
    assert ch.cwnd == ch.peer_window == 16


def test_congestion_window_halves_on_timeout():
    from engine.l2tp.reliable import ReliableChannel
    ch = ReliableChannel(our_window=4, retransmit_initial=1, retransmit_cap=16, max_retries=5, peer_window=8)
    for ns in range(8):
        ch.enqueue(M.encode_control(M.HELLO, 1, 0, ns, 0))
    assert len(ch.transmit(0.0)) == 1
    ch.process_ack(1)
    assert len(ch.transmit(0.0)) == 2
    ch.process_ack(3)
    assert ch.cwnd == 4 and len(ch.transmit(0.0)) == 4
    ch.on_timer(1.0)
    # halved once (a loss on a lossy path is not congestion: no restart from 1)
    # a loss leaves at least half the peer's window (8): no restart from 1
    assert ch.cwnd == 4 and ch.ssthresh == 4.0


def test_out_of_window_and_duplicate_counted():
    lns, lac, w = pair()
    setup_calls(w, lns, 1)
    assert w.run_until(all_up(w, 1), max_time=5)
    t = next(iter(lac.tunnels.values()))
    far = M.encode_control(M.HELLO, t.local_id, 0, (t.channel.nr + 100) & 0xFFFF, 0)
    old = M.encode_control(M.HELLO, t.local_id, 0, (t.channel.nr - 1) & 0xFFFF, 0)
    lac.receive_datagram(far, LNS_ADDR, now=w.now)
    lac.receive_datagram(old, LNS_ADDR, now=w.now)
    assert lac.counters["out_of_window"] == 1 and lac.counters["duplicates"] == 1
    out = lac.datagrams_to_send(now=w.now)
    assert [ctl(d)[0] for d, _ in out] == [0]  # one ZLB re-acknowledging


def test_stopccn_state_held_and_reacked():
    dropped: list[tuple[int, int]] = []

    def drop(data, s, d):
        k = ctl(data)
        # lose the LAC's first acknowledgement of the StopCCN
        if s == LAC_ADDR and k and k[0] == 0 and any(x for x in w.log if ctl(x[3]) and ctl(x[3])[0] == M.STOPCCN) \
                and not dropped:
            dropped.append(k)
            return True
        return False

    lns, lac, w = pair(drop=drop)
    tid, sids = setup_calls(w, lns, 1)
    assert w.run_until(all_up(w, 1), max_time=5)
    t_close = w.now
    lns.close_tunnel(tid, now=w.now)
    w.run_for(5)
    assert dropped and lac.counters["duplicates"] >= 1
    assert lns.tunnels[tid].state == "closing"
    lac_t = next(iter(lac.tunnels.values()))
    assert lac_t.state == "closing"
    down = of_type(w.events[LAC_ADDR], TunnelDown)
    assert down and down[0].by_peer and down[0].result_code == 1
    w.run_for(60)
    assert not lns.tunnels and not lac.tunnels
    assert len(sends_of(w, LNS_ADDR, M.STOPCCN)) == 2
    assert w.now - t_close > 47


def test_seq_wraparound_in_a_live_tunnel():
    lns, lac, w = pair()
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=0.0)
    assert w.run_until(lambda: of_type(w.events[LAC_ADDR], TunnelUp), max_time=5)
    w.run_for(0.1)
    # jump both sides' counters close to the wrap point
    lt = lns.tunnels[tid]
    rt = next(iter(lac.tunnels.values()))
    lt.channel.ns_next = rt.channel.nr = 65530
    rt.channel.ns_next = lt.channel.nr = 65533
    for i in range(20):
        lns.place_outgoing_call(tid, called_number=str(i), now=w.now)
    assert w.run_until(all_up(w, 20), max_time=10)
    assert lt.channel.ns_next < 100 and lns.counters["retransmits"] == 0


@pytest.mark.parametrize("seed", range(12))
def test_random_loss_both_directions_scripted(seed):
    """20% loss each way with scripted time: every call completes, then everything is cleaned up."""
    rng = random.Random(seed)
    lns, lac, w = pair(seed=seed, drop=lambda d, s, dst: rng.random() < 0.2)
    tid, sids = setup_calls(w, lns, 10)
    assert w.run_until(all_up(w, 10), max_time=300)
    for s in sids[:3]:
        lns.disconnect_call(tid, s, now=w.now)
    assert w.run_until(lambda: len(of_type(w.events[LAC_ADDR], CallDown)) == 3, max_time=w.now + 200)
    lns.close_tunnel(tid, now=w.now)
    w.run_for(400)
    assert not lns.tunnels and not lac.tunnels
    assert lns.get_timer() is None and lac.get_timer() is None
    assert len(calls_down(w.events[LAC_ADDR])) == 10
    assert lns.counters["malformed"] == 0 and lac.counters["malformed"] == 0
