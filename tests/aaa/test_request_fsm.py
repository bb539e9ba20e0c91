"""Walk every (state, event) pair of the request state table."""

import random

import pytest

from engine.aaa import client as cl
from engine.aaa.client import RadiusClient, RadiusReply, RadiusServer, RadiusTimeout, dialout_request

P = RadiusServer("127.0.0.1", 1812, b"s1", timeout=1.0, retransmit=1, deadtime_s=10.0)
S = RadiusServer("127.0.0.2", 1812, b"s2", timeout=1.0, retransmit=1)

CTX = {cl.EV_START: 0, cl.EV_NO_SERVER: "no-server", cl.EV_REPLY: (2, []),
       cl.EV_BAD_REPLY: "malformed", cl.EV_RETRY: None, cl.EV_FAILOVER: 1,
       cl.EV_GIVE_UP: None, cl.EV_CANCEL: None, cl.EV_QUEUE: 0, cl.EV_DEQUEUE: 0,
       cl.EV_FAILOVER_QUEUE: 1}


def in_state(state):
    c = RadiusClient([P, S], rng=random.Random(11))
    p = c._new_pending(dialout_request("x@d"), 0.0)
    if state == cl.QUEUED:
        c._fire(p, cl.EV_QUEUE, 0.0, 0)
    elif state != cl.IDLE:
        c._fire(p, cl.EV_START, 0.0, 0)
    if state == cl.DONE:
        c._fire(p, cl.EV_REPLY, 0.5, (3, []))
    elif state == cl.FAILED:
        c._fire(p, cl.EV_GIVE_UP, 2.0)
    elif state == cl.CANCELLED:
        c._fire(p, cl.EV_CANCEL, 0.5)
    assert p.state == state
    c.datagrams_to_send(now=0.0)
    while c.next_event():
        pass
    return c, p


def test_table_is_complete():
    for s in cl.REQUEST_STATES:
        for e in cl.REQUEST_EVENTS:
            nxt, actions = cl.REQUEST_TRANSITIONS[(s, e)]
            assert nxt in cl.REQUEST_STATES
            for a in actions:
                assert hasattr(RadiusClient, "_act_" + a)


@pytest.mark.parametrize("state", cl.REQUEST_STATES)
@pytest.mark.parametrize("event", cl.REQUEST_EVENTS)
def test_every_pair(state, event):
    c, p = in_state(state)
    nxt, actions = cl.REQUEST_TRANSITIONS[(state, event)]
    c._fire(p, event, 3.0, CTX[event])
    assert p.state == nxt
    out = c.datagrams_to_send(now=3.0)
    events = []
    while (ev := c.next_event()) is not None:
        events.append(ev)
    if not actions:
        assert out == [] and events == []
        return
    if "send_to_server" in actions or "retransmit" in actions:
        [(data, addr)] = out
        expected = {cl.EV_START: "127.0.0.1", cl.EV_RETRY: "127.0.0.1",
                    cl.EV_FAILOVER: "127.0.0.2", cl.EV_DEQUEUE: "127.0.0.1"}[event]
        assert addr[0] == expected
    if "emit_reply" in actions:
        assert [type(e) for e in events] == [RadiusReply]
    if "emit_timeout" in actions:
        assert [type(e) for e in events] == [RadiusTimeout]
    if "finish" in actions:
        assert c.in_flight == 0 and c.get_timer() is None
    if "mark_dead" in actions:
        assert c.snapshot(now=3.0)[0].state == "dead"
    if "enqueue" in actions:
        assert out == [] and c.get_timer() is None
        waiting = {s.address: s.waiting for s in c.snapshot()}
        assert waiting == {P.address if event == cl.EV_QUEUE else S.address: 1,
                           S.address if event == cl.EV_QUEUE else P.address: 0}
    if "dequeue" in actions:
        assert [s.waiting for s in c.snapshot()] == [0, 0]
    if event == cl.EV_BAD_REPLY:
        assert c.snapshot()[0].malformed == 1
