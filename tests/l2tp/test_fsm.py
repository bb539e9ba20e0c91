"""Every (state, event) pair of each state machine is handled or explicitly rejected."""
import itertools

import pytest

from engine.l2tp import call as C
from engine.l2tp import tunnel as T
from engine.l2tp.call_control import CALL_ACTIONS
from engine.l2tp.connection import L2tpEndpoint
from engine.l2tp.fsm import action_names
from engine.l2tp.tunnel_control import TUNNEL_ACTIONS


def test_tunnel_table_complete():
    for s, e in itertools.product(T.STATES, T.EVENTS):
        nxt, actions = T.TABLE[(s, e)]
        assert nxt in T.STATES, (s, e)
        for a in actions:
            assert callable(TUNNEL_ACTIONS.get(a)), a
    assert len(T.TABLE) == len(T.STATES) * len(T.EVENTS)


@pytest.mark.parametrize("kind", sorted(C.TABLES))
def test_call_tables_complete(kind):
    states, table = C.TABLES[kind]
    for s, e in itertools.product(states, C.EVENTS):
        nxt, actions = table[(s, e)]
        assert nxt in states, (kind, s, e)
        for a in actions:
            assert callable(CALL_ACTIONS.get(a)), a
    assert len(table) == len(states) * len(C.EVENTS)


def test_dead_states_absorb_everything():
    for e in T.EVENTS:
        assert T.TABLE[(T.DEAD, e)] == (T.DEAD, ("ignore",))
    for _kind, (_states, table) in C.TABLES.items():
        for e in C.EVENTS:
            assert table[(C.DEAD, e)][0] == C.DEAD


def test_documented_paths():
    assert T.TABLE[(T.IDLE, "open")] == (T.WAIT_CTL_REPLY, ("send_sccrq",))
    assert T.TABLE[(T.WAIT_CTL_REPLY, "rx_sccrp_ok")][0] == T.ESTABLISHED
    assert T.TABLE[(T.WAIT_CTL_CONN, "rx_scccn_ok")][0] == T.ESTABLISHED
    assert "send_stopccn" in T.TABLE[(T.WAIT_CTL_REPLY, "rx_sccrp_bad")][1]
    path = [(C.IDLE, "place_wait"), (C.WAIT_TUNNEL, "tunnel_up"), (C.WAIT_REPLY, "rx_ocrp"),
            (C.WAIT_CONNECT, "rx_occn")]
    s = C.IDLE
    for st, ev in path:
        assert s == st
        s = C.LNS_OUT[(s, ev)][0]
    assert s == C.ESTABLISHED
    # unexpected messages in a live call: CDN and clean up
    for s in (C.WAIT_REPLY, C.WAIT_CONNECT, C.ESTABLISHED):
        assert C.LNS_OUT[(s, "rx_iccn")] == (C.DEAD, ("send_cdn_fsm", "call_down_local"))
    assert C.LAC_OUT[(C.IDLE, "rx_ocrq_accept")] == (C.WAIT_CS_ANSWER, ("send_ocrp", "request_dial"))
    assert C.LAC_OUT[(C.WAIT_CS_ANSWER, "answer")] == (C.ESTABLISHED, ("send_occn", "call_up"))


def test_all_actions_implemented():
    for a in action_names(T.TABLE):
        assert a in TUNNEL_ACTIONS
    for _, table in C.TABLES.values():
        for a in action_names(table):
            assert a in CALL_ACTIONS
    # every handler in the tables is used by some row (no dead handlers)
    assert set(TUNNEL_ACTIONS) == action_names(T.TABLE)
    assert set(CALL_ACTIONS) == set().union(*(action_names(t) for _, t in C.TABLES.values()))


def _msg(mt, **avps):
    from engine.l2tp import avp as A
    from engine.l2tp.avp import Avp, ResultCode
    from engine.l2tp.message import ControlMessage
    base = [Avp.make(A.ASSIGNED_SESSION_ID, 77), Avp.make(A.RESULT_CODE, ResultCode(1)),
            Avp.make(A.ACCM, A.Accm(0, 0))]
    return ControlMessage(mt, 1, 0, 0, 0, tuple(base))


@pytest.mark.parametrize("state", T.STATES)
def test_every_tunnel_pair_executes(state):
    import random

    from engine.l2tp import message as M
    for e in T.EVENTS:
        ep = L2tpEndpoint(rng=random.Random(1))
        tid = ep.open_tunnel(("127.0.0.1", 1701), secret=b"s", now=0.0)
        t = ep.tunnels[tid]
        t.state = state
        t.peer_id = 9
        ep._fire(t, e, _msg(M.SLI))
        assert t.state == T.TABLE[(state, e)][0]
        ep.datagrams_to_send(now=0.0)
        ep.handle_timer(now=1000.0)
        ep.datagrams_to_send(now=1000.0)


@pytest.mark.parametrize("kind", sorted(C.TABLES))
def test_every_call_pair_executes(kind):
    import random

    from engine.l2tp import message as M
    from engine.l2tp import tunnel as TT
    states, table = C.TABLES[kind]
    for s, e in itertools.product(states, C.EVENTS):
        ep = L2tpEndpoint(rng=random.Random(1))
        tid = ep.open_tunnel(("127.0.0.1", 1701), secret=None, now=0.0)
        t = ep.tunnels[tid]
        t.state = TT.ESTABLISHED
        t.peer_id = 9
        c = ep._new_call(t, kind, 0.0)
        c.state = s
        ep._cfire(c, e, _msg(M.CDN))
        assert c.state == table[(s, e)][0], (kind, s, e)
        if c.state == C.DEAD:
            assert c.local_id not in t.calls
        ep.datagrams_to_send(now=0.0)
