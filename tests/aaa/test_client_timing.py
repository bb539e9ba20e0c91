"""Scripted time: retransmission, failover, dead marking, deadtime expiry, identifier
space and socket indexes."""

import random

from engine.aaa import codec
from engine.aaa.client import (
    Address,
    RadiusClient,
    RadiusReply,
    RadiusServer,
    RadiusTimeout,
    accounting_start,
    dialout_request,
)
from engine.aaa.types import RadiusEvent

P = RadiusServer("127.0.0.1", 1812, b"s1", timeout=3.0, retransmit=3, deadtime_s=60.0)
S = RadiusServer("127.0.0.2", 1812, b"s2", timeout=3.0, retransmit=3, deadtime_s=60.0)


def answer(data, secret, code=2):
    return codec.build_response(code, data[1], data[4:20], b"", secret,
                                with_message_authenticator=True)


def replied(ev: RadiusEvent | None) -> RadiusReply:
    assert isinstance(ev, RadiusReply), ev
    return ev


def run_until(c, t_end, sent):
    """Drive timers up to t_end, collecting (time, data, addr)."""
    while True:
        t = c.get_timer()
        if t is None or t > t_end:
            return
        c.handle_timer(now=t)
        sent += [(t, d, a) for d, a in c.datagrams_to_send(now=t)]


def test_primary_silent_retransmit_failover_dead_and_return():
    c = RadiusClient([P, S], rng=random.Random(1))
    rid = c.request(dialout_request("10.10.1.1@d"), now=0.0)
    sent = [(0.0, d, a) for d, a in c.datagrams_to_send(now=0.0)]
    assert c.get_timer() == 3.0
    run_until(c, 11.9, sent)
    # first send + 3 retransmissions to the primary, identical bytes, 3 s apart
    assert [t for t, _, _ in sent] == [0.0, 3.0, 6.0, 9.0]
    assert all(a == ("127.0.0.1", 1812) for _, _, a in sent)
    assert len({d for _, d, _ in sent}) == 1
    run_until(c, 12.0, sent)
    t, d2, a2 = sent[-1]
    assert (t, a2) == (12.0, ("127.0.0.2", 1812))
    assert d2[4:20] != sent[0][1][4:20]   # fresh authenticator for the other server
    snap = {s.address: s for s in c.snapshot(now=12.0)}
    assert snap["127.0.0.1"].state == "dead" and snap["127.0.0.1"].timeouts == 1
    assert snap["127.0.0.1"].retransmits == 3 and snap["127.0.0.1"].requests == 1
    c.receive_datagram(answer(d2, b"s2"), a2, now=12.5)
    ev = c.next_event()
    assert isinstance(ev, RadiusReply) and ev.request_id == rid and ev.server == ("127.0.0.2", 1812)
    assert abs(ev.rtt - 0.5) < 1e-9
    # while dead the primary is skipped
    c.request(dialout_request("10.10.1.2@d"), now=20.0)
    [(d3, a3)] = c.datagrams_to_send(now=20.0)
    assert a3 == ("127.0.0.2", 1812)
    c.receive_datagram(answer(d3, b"s2", code=3), a3, now=20.1)
    assert replied(c.next_event()).code == "reject"
    # after the deadtime the primary is used again
    assert c.snapshot(now=72.1)[0].state == "up"
    c.request(dialout_request("10.10.1.3@d"), now=72.1)
    [(d4, a4)] = c.datagrams_to_send(now=72.1)
    assert a4 == ("127.0.0.1", 1812)
    c.receive_datagram(answer(d4, b"s1"), a4, now=72.2)
    assert replied(c.next_event()).code == "accept"
    assert c.snapshot(now=72.2)[0].state == "up"


def test_all_silent_gives_timeout_event():
    c = RadiusClient([P, S], rng=random.Random(2))
    rid = c.request(dialout_request("x@d"), now=0.0)
    sent = [(0.0, d, a) for d, a in c.datagrams_to_send(now=0.0)]
    run_until(c, 1000.0, sent)
    assert len(sent) == 8
    ev = c.next_event()
    assert ev == RadiusTimeout(rid, "timeout")
    assert c.get_timer() is None and c.in_flight == 0
    # both dead now: the next request still tries them in order
    c.request(dialout_request("y@d"), now=30.0)
    [(_, a)] = c.datagrams_to_send(now=30.0)
    assert a == ("127.0.0.1", 1812)


def test_zero_deadtime_never_marks_dead():
    p = RadiusServer("127.0.0.1", 1812, b"s1", timeout=1.0, retransmit=0, deadtime_s=0.0)
    s = RadiusServer("127.0.0.2", 1812, b"s2", timeout=1.0, retransmit=0, deadtime_s=0.0)
    c = RadiusClient([p, s], rng=random.Random(3))
    c.request(dialout_request("x@d"), now=0.0)
    sent = [(0.0, d, a) for d, a in c.datagrams_to_send(now=0.0)]
    run_until(c, 1.0, sent)
    assert [a[0] for _, _, a in sent] == ["127.0.0.1", "127.0.0.2"]
    assert c.snapshot(now=1.0)[0].state == "up"
    c.request(dialout_request("y@d"), now=1.5)
    assert c.datagrams_to_send(now=1.5)[0][1][0] == "127.0.0.1"


def test_no_server_of_kind():
    c = RadiusClient([P], rng=random.Random(4))
    rid = c.request(accounting_start("sess-1"), now=0.0)
    assert c.next_event() == RadiusTimeout(rid, "no-server")
    assert c.datagrams_to_send(now=0.0) == []


def test_identifier_space_and_socket_index():
    c = RadiusClient([P], rng=random.Random(5))
    for i in range(300):
        c.request(dialout_request(f"10.0.{i // 256}.{i % 256}@d"), now=0.0)
    out = c.datagrams_to_send(now=0.0)
    assert len(out) == 300
    first = [d for d, a in out if len(a) == 2]
    second = [(d, a) for d, a in out if len(a) == 3]
    assert len(first) == 255 and len(second) == 45
    assert len({d[1] for d in first}) == 255
    assert all(a == ("127.0.0.1", 1812, 1) for _, a in second)
    assert c.socket_count == 2
    # a reply on socket 1 is matched with the 3-tuple address
    d, a = second[0]
    c.receive_datagram(answer(d, b"s1"), a, now=0.5)
    assert isinstance(c.next_event(), RadiusReply)
    # the same bytes on socket 0 would belong to another request or none
    assert c.in_flight == 299


def test_identifier_reused_after_completion():
    c = RadiusClient([P], rng=random.Random(6))
    seen = set()
    for i in range(600):
        c.request(dialout_request("a@d"), now=float(i))
        [(d, a)] = c.datagrams_to_send(now=float(i))
        assert len(a) == 2
        seen.add(d[1])
        c.receive_datagram(answer(d, b"s1"), a, now=float(i))
        assert isinstance(c.next_event(), RadiusReply)
    assert len(seen) == 256


def test_accounting_request_authenticator_and_retransmit():
    a = RadiusServer("127.0.0.1", 1813, b"acct", timeout=2.0, retransmit=1, kind="acct")
    c = RadiusClient([a], rng=random.Random(7))
    c.request(accounting_start("sess-9", user_name="cpe1"), now=0.0)
    [(d, addr)] = c.datagrams_to_send(now=0.0)
    assert d[0] == 4 and codec.verify_accounting_request(d, b"acct")
    c.handle_timer(now=2.0)
    [(d2, _)] = c.datagrams_to_send(now=2.0)
    assert d2 == d
    c.receive_datagram(codec.build_response(5, d[1], d[4:20], b"", b"acct"), addr, now=2.1)
    ev = replied(c.next_event())
    assert ev.code == "accounting-response"
    assert c.snapshot()[0].accounting_responses == 1


def test_reset_statistics_keeps_state():
    c = RadiusClient([P, S], rng=random.Random(8))
    c.request(dialout_request("x@d"), now=0.0)
    sent: list[tuple[float, bytes, Address]] = []
    run_until(c, 12.0, sent)
    c.reset_statistics()
    st = c.snapshot(now=12.0)
    assert st[0].state == "dead" and st[0].timeouts == 0 and st[0].retransmits == 0
    assert st[1].pending == 1 and st[1].requests == 0
    assert c.has_servers("auth") and not c.has_servers("acct")
