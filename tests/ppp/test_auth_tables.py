"""PAP and CHAP machines: every (state, event) pair of each table, with its effects.

The expected rows are transcribed here independently of the engine's tables: next state,
packets sent (protocol:code), calls into the link, and what happens to the timer
(armed = a new deadline, off = none, = = unchanged).  Every pair not listed must be ignored:
state, timer and wire untouched.
"""
from __future__ import annotations

import random
from typing import cast

import pytest

from engine.ppp import frames as F
from engine.ppp.api import PppLinkApi
from engine.ppp.chap import ChapClient, ChapServer, build_value
from engine.ppp.config import PppConfig
from engine.ppp.pap import PapClient, PapServer, build_request
from tests.present import present

EXPECTED = {
    PapClient: """
        idle    Start  wait     pap:1   -            armed
        wait    TO+    wait     pap:1   -            armed
        wait    TO-    failed   -       failed:local =
        wait    RAA    done     -       local_ok     off
        wait    RAN    failed   -       failed:local off
    """,
    PapServer: """
        idle    Start  wait     -       -            armed
        wait    TO-    failed   -       failed:peer  =
        pending TO-    failed   -       failed:peer  =
        wait    RAR    pending  -       ask          armed
        pending RAR    pending  -       -            =
        done    RAR    done     pap:2   -            =
        failed  RAR    failed   pap:3   -            =
        pending OK     done     pap:2   peer_ok      off
        pending NO     failed   pap:3   failed:peer  off
    """,
    ChapClient: """
        idle    Start  wait     -       -            armed
        wait    RC     wait     chap:2  -            armed
        done    RC     done     chap:2  -            =
        wait    RC=    wait     chap:2  -            =
        done    RC=    done     chap:2  -            =
        wait    TO+    wait     chap:2  -            armed
        wait    TO-    failed   -       failed:local =
        wait    RS     done     -       local_ok     off
        wait    RF     failed   -       failed:local off
        done    RF     failed   -       failed:local =
    """,
    ChapServer: """
        idle    Start  wait     chap:1  -            armed
        wait    TO+    wait     chap:1  -            armed
        wait    TO-    failed   -       failed:peer  =
        pending TO-    failed   -       failed:peer  =
        wait    RR     pending  -       ask          armed
        done    RR     done     chap:3  -            =
        failed  RR     failed   chap:4  -            =
        pending OK     done     chap:3  peer_ok      off
        pending NO     failed   chap:4  failed:peer  off
    """,
}
ALL_STATES = ("idle", "wait", "pending", "done", "failed")


def _rows(cls):
    out = {}
    for line in EXPECTED[cls].strip().splitlines():
        st, ev, nxt, sends, calls, timer = line.split()
        out[(st, ev)] = (nxt, [] if sends == "-" else [sends],
                         [] if calls == "-" else [calls], timer)
    return out


class StubLink:
    """Records what a machine asks of the link (the protocol interface, nothing else)."""

    def __init__(self):
        self.config = PppConfig(username="me", password="pw", max_configure=5)
        self.rng = random.Random(3)
        self.sent = []
        self.calls = []
        self.errors = 0
        self._chap_id = 40

    @property
    def api(self) -> PppLinkApi:
        """This stub as the link a machine talks to (it has the part authentication uses)."""
        return cast(PppLinkApi, self)

    def send_packet(self, protocol, code, ident, data):
        self.sent.append(f"{F.PROTOCOL_NAMES[protocol]}:{code:d}")

    def count_error(self):
        self.errors += 1

    def next_chap_id(self):
        self._chap_id += 1
        return self._chap_id

    def ask_verdict(self, machine, protocol, username, **kw):
        self.calls.append("ask")
        return 1

    def auth_peer_ok(self, protocol, username):
        self.calls.append("peer_ok")

    def auth_local_ok(self, protocol, message):
        self.calls.append("local_ok")

    def auth_failed(self, direction, reason):
        self.calls.append("failed:" + direction)


CHALLENGE = build_value(b"0123456789abcdef", b"peer")


def _prepared(cls, state):
    link = StubLink()
    m = cls(link)
    m.state = state
    m.deadline = 99.0
    if cls is PapServer:
        m._pkt = (7, build_request(b"user", b"pw"))
        m._answer = (2, b"\x02ok") if state == "done" else (3, b"\x02no")
    elif cls is PapClient:
        m._data = build_request(b"me", b"pw")
        m._pkt = (m.ident, b"\x02ok")
    elif cls is ChapClient:
        m._answered = ((5, CHALLENGE, b"\x10" + bytes(16) + b"me"),)
        m._pkt = (5, CHALLENGE)
    elif cls is ChapServer:
        m._value = CHALLENGE
        m.challenge = b"0123456789abcdef"
        m.ident = 9
        m._pkt = (9, build_value(bytes(16), b"user"))
        m._answer = (3, b"ok") if state == "done" else (4, b"no")
    return m, link


PAIRS = [(cls, st, ev) for cls in EXPECTED for st in cls.STATES for ev in cls.EVENTS]


def test_tables_are_complete_and_match_the_transcription():
    for cls in EXPECTED:
        assert set(cls.STATES) <= set(ALL_STATES)
        assert set(cls.TABLE) == {(s, e) for s in cls.STATES for e in cls.EVENTS}
        listed = {k for k, v in cls.TABLE.items() if v is not None}
        assert listed == set(_rows(cls)), cls.__name__
        for entry in cls.TABLE.values():
            if entry is not None:
                assert entry[0] in cls.STATES
                assert all(a in cls.ACTIONS for a in entry[1])


@pytest.mark.parametrize("cls,state,event", PAIRS,
                         ids=[f"{c.__name__}-{s}-{e}" for c, s, e in PAIRS])
def test_every_state_event_pair(cls, state, event):
    m, link = _prepared(cls, state)
    if event == "RC":
        m._pkt = (6, build_value(b"fedcba9876543210", b"peer"))
    m.event(event, 1.0)
    row = _rows(cls).get((state, event))
    if row is None:
        assert (m.state, m.deadline, link.sent, link.calls) == (state, 99.0, [], [])
        return
    nxt, sends, calls, timer = row
    assert m.state == nxt
    assert link.sent == sends
    assert link.calls == calls
    if timer == "armed":
        assert m.deadline is not None and m.deadline != 99.0
    elif timer == "off":
        assert m.deadline is None
    else:
        assert m.deadline == 99.0


def test_timer_classification():
    # TO+ while retransmissions are left, TO- at Max-Configure; servers waiting for a
    # verdict and PAP servers only ever time out
    link = StubLink()
    c = ChapServer(link.api)
    c.start(0.0)
    for _ in range(4):
        assert c.timer_event() == "TO+"
        c.handle_timer(now=present(c.deadline))
    assert link.sent == ["chap:1"] * 5 and c.timer_event() == "TO-"
    c.handle_timer(now=present(c.deadline))
    assert c.state == "failed" and link.calls == ["failed:peer"]
    cc = ChapClient(StubLink().api)
    cc.start(0.0)
    assert cc.timer_event() == "TO-"           # no Challenge at all: nothing to repeat
    assert PapServer(StubLink().api).timer_event() == "TO-"
