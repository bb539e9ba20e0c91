"""Reply checks (BlastRADIUS, wrong source), failover when every server is dead,
max-sessions queueing, failure reasons and the per-server counters, scripted time."""

import random

import pytest

from engine.aaa import codec
from engine.aaa.client import (
    RadiusClient,
    RadiusReply,
    RadiusServer,
    RadiusTimeout,
    accounting_start,
    dialout_request,
)
from engine.aaa.server import COUNTER_NAMES, COUNTERS, DEFAULT_DEADTIME_MIN, ServerStats
from engine.aaa.types import REASON_INVALID
from tests.aaa.verdicts import denied

P = RadiusServer("127.0.0.1", 1812, b"s1", timeout=1.0, retransmit=1, deadtime_s=60.0)
S = RadiusServer("127.0.0.2", 1812, b"s2", timeout=1.0, retransmit=1, deadtime_s=60.0)


def reply(data, secret, code=2, attrs=b"", ma=True):
    return codec.build_response(code, data[1], data[4:20], attrs, secret,
                                with_message_authenticator=ma)


def short_ma_reply(data, secret, code=2):
    """A reply with a Message-Authenticator of length 10 and a valid Response
    Authenticator (what a forger with an MD5 collision produces)."""
    attrs = bytes((80, 10)) + b"\x00" * 8
    return codec.build_response(code, data[1], data[4:20], attrs, secret)


def run_until(c, t_end):
    sent = []
    while (t := c.get_timer()) is not None and t <= t_end:
        c.handle_timer(now=t)
        sent += [(t, d, a) for d, a in c.datagrams_to_send(now=t)]
    return sent


def events(c):
    out = []
    while (ev := c.next_event()) is not None:
        out.append(ev)
    return out


# ---------------------------------------------------------------- Message-Authenticator

@pytest.mark.parametrize("code", [2, 3, 11])
def test_access_reply_without_message_authenticator_dropped_and_counted(code):
    c = RadiusClient([P], rng=random.Random(1))
    rid = c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"s1", code=code, ma=False), a, now=0.1)
    assert events(c) == [] and c.in_flight == 1
    assert c.snapshot()[0].missing_message_authenticators == 1
    # the genuine, signed reply still completes the request
    c.receive_datagram(reply(d, b"s1", code=code), a, now=0.2)
    [ev] = events(c)
    assert isinstance(ev, RadiusReply) and ev.request_id == rid
    assert ev.code == codec.CODE_NAMES[code]


def test_message_authenticator_not_required_when_switched_off():
    srv = RadiusServer("127.0.0.1", 1812, b"s1", require_message_authenticator=False)
    c = RadiusClient([srv], rng=random.Random(1))
    c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"s1", ma=False), a, now=0.1)
    assert [e.code for e in events(c)] == ["accept"]


@pytest.mark.parametrize("required", [True, False])
def test_message_authenticator_of_wrong_length_always_dropped(required):
    srv = RadiusServer("127.0.0.1", 1812, b"s1", require_message_authenticator=required)
    c = RadiusClient([srv], rng=random.Random(1))
    c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(short_ma_reply(d, b"s1"), a, now=0.1)
    assert events(c) == []
    assert c.snapshot()[0].malformed == 1


def test_two_message_authenticators_dropped():
    c = RadiusClient([P], rng=random.Random(1))
    c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    extra = bytes((80, 18)) + b"\x00" * 16
    c.receive_datagram(reply(d, b"s1", attrs=extra), a, now=0.1)
    assert events(c) == [] and c.snapshot()[0].malformed == 1


def test_accounting_response_needs_no_message_authenticator():
    a_srv = RadiusServer("127.0.0.1", 1813, b"acct", kind="acct")
    c = RadiusClient([a_srv], rng=random.Random(1))
    c.request(accounting_start("s1"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"acct", code=5, ma=False), a, now=0.1)
    assert [e.code for e in events(c)] == ["accounting-response"]


def test_bad_authenticator_counted():
    c = RadiusClient([P], rng=random.Random(1))
    c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"not-the-secret"), a, now=0.1)
    assert events(c) == [] and c.snapshot()[0].bad_authenticators == 1


def test_reply_from_wrong_port_counted_on_the_server():
    c = RadiusClient([P], rng=random.Random(1))
    c.request(dialout_request("x@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"s1"), ("127.0.0.1", 40000), now=0.1)
    c.receive_datagram(reply(d, b"s1"), ("192.0.2.9", 1812), now=0.1)
    assert events(c) == []
    assert c.snapshot()[0].wrong_source == 1 and c.counters["unknown_source"] == 1


# ---------------------------------------------------------------- failover

def test_every_server_dead_each_tried_once_and_revived_on_answer():
    c = RadiusClient([P, S], rng=random.Random(3))
    c.request(dialout_request("a@d"), now=0.0)
    c.datagrams_to_send(now=0.0)
    run_until(c, 100.0)
    assert [e.reason for e in events(c)] == ["timeout"]
    assert [s.state for s in c.snapshot(now=10.0)] == ["dead", "dead"]
    # both dead: the primary first, then the secondary, each once
    rid = c.request(dialout_request("b@d"), now=10.0)
    [(_, a1)] = c.datagrams_to_send(now=10.0)
    sent = run_until(c, 11.9)
    assert a1 == ("127.0.0.1", 1812) and [a for _, _, a in sent] == [("127.0.0.1", 1812)]
    [(t, d2, a2)] = run_until(c, 12.0)
    assert a2 == ("127.0.0.2", 1812)
    # the restarted secondary answers: it is up again, the primary stays dead
    c.receive_datagram(reply(d2, b"s2"), a2, now=12.1)
    [ev] = events(c)
    assert isinstance(ev, RadiusReply) and ev.request_id == rid
    assert [s.state for s in c.snapshot(now=12.1)] == ["dead", "up"]
    # and takes the next request at once
    c.request(dialout_request("c@d"), now=13.0)
    [(_, a3)] = c.datagrams_to_send(now=13.0)
    assert a3 == ("127.0.0.2", 1812)


def test_every_server_dead_all_silent_ends_after_each_once():
    c = RadiusClient([P, S], rng=random.Random(4))
    c.request(dialout_request("a@d"), now=0.0)
    c.datagrams_to_send(now=0.0)
    run_until(c, 100.0)
    events(c)
    rid = c.request(dialout_request("b@d"), now=200.0 - 150.0)
    first = c.datagrams_to_send(now=50.0)
    sent = run_until(c, 1000.0)
    assert len(first) + len(sent) == 4          # (1 + 1 retransmission) per server
    assert events(c) == [RadiusTimeout(rid, "timeout")]


def test_dead_server_shows_time_left():
    c = RadiusClient([P], rng=random.Random(5))
    c.request(dialout_request("a@d"), now=0.0)
    c.datagrams_to_send(now=0.0)
    run_until(c, 100.0)
    st = c.snapshot(now=12.0)[0]
    assert st.state == "dead" and st.dead_for == pytest.approx(60.0 - 10.0)


def test_default_deadtime_is_not_zero():
    assert DEFAULT_DEADTIME_MIN > 0
    assert RadiusServer("127.0.0.1", 1812, b"s").deadtime_s == DEFAULT_DEADTIME_MIN * 60.0


# ---------------------------------------------------------------- reasons

def test_only_invalid_replies_reported_as_invalid_not_as_no_answer():
    c = RadiusClient([P], rng=random.Random(6))
    rid = c.request(dialout_request("a@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"wrong-key"), a, now=0.1)
    run_until(c, 100.0)
    [ev] = events(c)
    assert ev == RadiusTimeout(rid, REASON_INVALID)
    denial = denied(ev)
    assert denial.message == "invalid replies from RADIUS"
    assert denied(RadiusTimeout(1)).message == "no answer from RADIUS"


# ---------------------------------------------------------------- max-sessions

def test_max_sessions_queues_beyond_the_limit():
    srv = RadiusServer("127.0.0.1", 1812, b"s1", timeout=1.0, retransmit=0, max_sessions=2)
    c = RadiusClient([srv], rng=random.Random(7))
    rids = [c.request(dialout_request(f"{i}@d"), now=0.0) for i in range(4)]
    out = c.datagrams_to_send(now=0.0)
    assert len(out) == 2
    st = c.snapshot()[0]
    assert (st.pending, st.waiting, st.queued) == (2, 2, 2)
    # an answer frees a place: the oldest queued request goes out
    c.receive_datagram(reply(out[0][0], b"s1"), out[0][1], now=0.1)
    assert [e.request_id for e in events(c)] == [rids[0]]
    [(d3, a3)] = c.datagrams_to_send(now=0.1)
    assert c.snapshot()[0].pending == 2 and c.snapshot()[0].waiting == 1
    # a cancelled queued request never goes out
    c.cancel(rids[3], now=0.15)
    assert c.snapshot()[0].waiting == 0
    c.receive_datagram(reply(d3, b"s1"), a3, now=0.2)
    assert [e.request_id for e in events(c)] == [rids[2]]
    assert c.datagrams_to_send(now=0.2) == []
    run_until(c, 10.0)
    assert [e.request_id for e in events(c)] == [rids[1]]
    assert c.in_flight == 0 and c.snapshot()[0].requests == 3


def test_no_limit_by_default():
    c = RadiusClient([RadiusServer("127.0.0.1", 1812, b"s")], rng=random.Random(8))
    for i in range(300):
        c.request(dialout_request(f"{i}@d"), now=0.0)
    assert len(c.datagrams_to_send(now=0.0)) == 300


# ---------------------------------------------------------------- counters

def test_one_list_of_counter_names():
    fields = [f for f in ServerStats.__dataclass_fields__ if f in COUNTER_NAMES]
    assert tuple(fields) == COUNTER_NAMES
    assert len({label for _, label in COUNTERS}) == len(COUNTERS)
    c = RadiusClient([P], rng=random.Random(9))
    c.request(dialout_request("a@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"x"), a, now=0.1)
    shown = dict(c.snapshot()[0].counters())
    assert shown["Bad authenticators"] == 1 and shown["Requests"] == 1
    c.reset_statistics()
    assert set(dict(c.snapshot()[0].counters()).values()) == {0}


def test_dropped_replies_go_to_the_log_not_to_a_terminal(caplog):
    """Nothing above INFO: warnings reach the shell's terminal through logging's
    last-resort handler, in the middle of a command's output."""
    import logging
    caplog.set_level(logging.DEBUG)
    c = RadiusClient([P, S], rng=random.Random(10))
    c.request(dialout_request("a@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(reply(d, b"wrong"), a, now=0.1)
    c.receive_datagram(reply(d, b"s1", ma=False), a, now=0.1)
    c.receive_datagram(b"\x02", a, now=0.1)
    run_until(c, 100.0)
    assert any("failed authenticator check" in r.getMessage() for r in caplog.records)
    assert any("marked dead" in r.getMessage() for r in caplog.records)
    assert all(r.levelno <= logging.INFO for r in caplog.records)


def test_cpe_verdict_says_what_happened():
    from engine.aaa.client import cpe_verdict
    assert cpe_verdict(RadiusReply(1, "accept")) == (True, "Authentication success")
    assert cpe_verdict(RadiusReply(1, "reject")) == (False, "credentials refused")
    assert cpe_verdict(RadiusTimeout(1)) == (False, "RADIUS server unreachable")
    assert cpe_verdict(RadiusTimeout(1, REASON_INVALID)) == (False, "invalid RADIUS reply")
    assert cpe_verdict(RadiusTimeout(1, "no-server")) == (False, "no RADIUS server")
