"""Control-plane loss at the state-machine level (scripted time, seeded loss): the retransmit
back-off is capped at 8 s, the window recovers after losses, and a tunnel whose peer keeps
answering is never torn down."""
import random
import struct

import pytest

from engine.l2tp import CallUp, L2tpConfig, TunnelDown
from engine.l2tp import message as M
from engine.l2tp.reliable import ReliableChannel
from tests.present import present

from .test_endpoints import SECRET
from .wire import LAC_ADDR, LNS_ADDR, of_type, pair


def lossy(rate: float, seed: int):
    rng = random.Random(seed)
    return lambda data, src, dst: rng.random() < rate


@pytest.mark.parametrize("rate,seed", [(0.1, 1), (0.3, 2), (0.3, 3), (0.3, 5), (0.3, 7)])
def test_tunnel_survives_loss_while_the_peer_answers(rate, seed):
    lns, lac, w = pair(drop=lossy(rate, seed), seed=seed)
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    n = 60
    for i in range(n):
        lns.place_outgoing_call(tid, called_number=f"555{i}", now=w.now)
    w.run_until(lambda: len(of_type(w.events[LNS_ADDR], CallUp)) == n
                or of_type(w.events[LNS_ADDR], TunnelDown), max_time=3600)
    assert not of_type(w.events[LNS_ADDR], TunnelDown)
    assert len(of_type(w.events[LNS_ADDR], CallUp)) == n


def test_retransmit_cap_defaults_to_8_seconds():
    cfg = L2tpConfig()
    assert cfg.retransmit_cap == 8.0
    ch = ReliableChannel(our_window=cfg.receive_window, retransmit_initial=cfg.retransmit_initial,
                         retransmit_cap=cfg.retransmit_cap, max_retries=7)
    ch.enqueue(bytes(12))
    ch.transmit(0.0)
    gaps, now = [], 0.0
    for _ in range(7):
        d = present(ch.deadline())
        gaps.append(d - now)
        now = d
        assert ch.on_timer(now)
        ch.transmit(now)
    assert gaps == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]


def test_window_does_not_collapse_for_good_after_losses():
    ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=7,
                         peer_window=32)
    for _ in range(200):
        ch.enqueue(bytes(12))
    ch.transmit(0.0)
    acked = 0
    while ch.window() < 32:                     # the window opens to the peer's
        acked += 1
        ch.process_ack(acked)
        ch.transmit(0.0)
    # several timeouts in a row without any acknowledgement (one loss burst)
    now = 0.0
    for _ in range(3):
        now = present(ch.deadline())
        ch.on_timer(now)
        ch.transmit(now)
    # halved once for the whole burst, not once per timeout, and not restarted from 1
    assert ch.window() == 16
    for k in range(1, 9):
        ch.process_ack(acked + k)
    assert ch.window() >= 16


def test_duplicate_acks_resend_the_lost_message_at_once():
    ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=5,
                         peer_window=8)
    for ns in range(8):
        ch.enqueue(M.encode_control(M.HELLO, 1, 0, ns, 0))
    ch.transmit(0.0)
    ch.process_ack(1)                        # message 0 delivered; message 1 lost
    ch.transmit(0.0)
    for i in range(2):
        ch.process_ack(1, now=0.1 + i / 100)     # the peer answers, still expecting 1
        assert ch.transmit(0.1) == []
    ch.process_ack(1, now=0.2)
    again = ch.transmit(0.2)
    assert struct.unpack_from("!H", again[0], 8)[0] == 1          # Ns 1 first, at once
    assert ch.fast_retransmits == 1 and ch.retransmits == 1
    assert present(ch.deadline()) > 0.2


def test_larger_receive_window_advertised_and_the_peers_honoured():
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=SECRET, receive_window=8))
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    w.run_until(lambda: lns.tunnels[tid].state == "established", max_time=10)
    assert L2tpConfig().receive_window >= 32
    assert lns.tunnels[tid].channel.peer_window == 8
    lac_t = next(iter(lac.tunnels.values()))
    assert lac_t.channel.peer_window == L2tpConfig().receive_window
    for i in range(30):
        lns.place_outgoing_call(tid, called_number=f"1{i}", now=w.now)
    lns.datagrams_to_send(now=w.now)
    assert len(lns.tunnels[tid].channel.inflight) <= 8


def test_silent_peer_still_torn_down():
    lns, lac, w = pair()
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    w.run_until(lambda: lns.tunnels[tid].state == "established", max_time=10)
    w.drop = lambda data, src, dst: True       # the LAC goes away
    lns.place_outgoing_call(tid, called_number="1", now=w.now)
    start = w.now
    w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=start + 600)
    down = of_type(w.events[LNS_ADDR], TunnelDown)
    assert down and not down[0].by_peer
    assert w.now - start <= L2tpConfig().retransmit_cycle() + 1


def _exhaust(ch):
    """Send one message and let every retry expire; returns the time of the final expiry."""
    ch.enqueue(bytes(12))
    ch.transmit(0.0)
    now = 0.0
    for _ in range(ch.max_retries):
        now = present(ch.deadline())
        assert ch.on_timer(now)
        ch.transmit(now)
    return ch.deadline()


def test_retries_run_out_only_when_the_peer_is_silent():
    ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=3)
    end = _exhaust(ch)
    assert not ch.on_timer(end, peer_heard_at=None)
    ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=3)
    end = _exhaust(ch)
    assert not ch.on_timer(end, peer_heard_at=0.5)          # heard only before the last retry


def test_peer_answering_keeps_the_message_alive_up_to_max_age():
    ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=3,
                         max_age=60.0)
    end = _exhaust(ch)
    now = end
    while now < 60.0:
        assert ch.on_timer(now, peer_heard_at=now - 0.1)     # the peer keeps talking
        ch.transmit(now)
        now = present(ch.deadline())
    assert not ch.on_timer(now, peer_heard_at=now - 0.1)


# ------------------------------------------------------------------ tunnel idle timeout
def _idle_pair(timeout):
    lns, lac, w = pair(lns_config=L2tpConfig(tunnel_idle_timeout=timeout))
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    sid = lns.place_outgoing_call(tid, called_number="1", now=w.now)
    w.run_until(lambda: of_type(w.events[LNS_ADDR], CallUp), max_time=10)
    return lns, lac, w, tid, sid


def test_idle_tunnel_kept_open_for_the_idle_timeout():
    lns, lac, w, tid, sid = _idle_pair(30.0)
    w.run_for(100)                                     # a call: never idle
    assert lns.tunnels[tid].state == "established"
    lns.disconnect_call(tid, sid, now=w.now)
    left = w.now
    w.run_for(29)
    assert lns.tunnels[tid].state == "established"
    # a new call within the timeout keeps the tunnel; leaving again restarts the clock
    sid2 = lns.place_outgoing_call(tid, called_number="2", now=w.now)
    w.run_for(10)
    lns.disconnect_call(tid, sid2, now=w.now)
    left = w.now
    w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=left + 60)
    down = of_type(w.events[LNS_ADDR], TunnelDown)[0]
    assert 30.0 <= w.now - left <= 30.1 and not down.by_peer and down.message == "tunnel idle timeout"


def test_idle_timeout_zero_closes_at_once():
    lns, lac, w, tid, sid = _idle_pair(0.0)
    lns.disconnect_call(tid, sid, now=w.now)
    left = w.now
    w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=left + 5)
    assert of_type(w.events[LNS_ADDR], TunnelDown) and w.now - left < 0.1


def test_no_idle_timeout_by_default():
    lns, lac, w, tid, sid = _idle_pair(None)
    lns.disconnect_call(tid, sid, now=w.now)
    w.run_for(1000)
    assert lns.tunnels[tid].state == "established"


def test_no_further_back_off_while_the_peer_answers():
    def gaps(heard):
        ch = ReliableChannel(our_window=64, retransmit_initial=1.0, retransmit_cap=8.0, max_retries=7)
        ch.enqueue(M.encode_control(M.HELLO, 1, 0, 0, 0))
        ch.transmit(0.0)
        out, now = [], 0.0
        for _ in range(4):
            d = present(ch.deadline())
            out.append(d - now)
            now = d
            assert ch.on_timer(now, peer_heard_at=(now + 0.0) if heard else None)
            ch.transmit(now)
        return out
    assert gaps(heard=False) == [1.0, 2.0, 4.0, 8.0]
    # the peer keeps talking (e.g. its own messages, or acknowledgements of others)
    assert gaps(heard=True) == [1.0, 2.0, 2.0, 2.0]
