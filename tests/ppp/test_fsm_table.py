"""RFC 1661 §4.1 state-transition table: every (state, event) pair, with its actions."""
import random

import pytest

from engine.ppp import frames as F
from engine.ppp.fsm import ACTIONS, EVENTS, TRANSITIONS, Fsm, State

# RFC 1661 §4.1, transcribed cell by cell ("-" = cannot happen; "r"/"p"/"x" option letters
# dropped).  Columns: states 0..9.
RFC_TABLE = """
Up    | 2 | irc,scr/6 | - | - | - | - | - | - | - | -
Down  | - | - | 0 | tls/1 | 0 | 1 | 1 | 1 | 1 | tld/1
Open  | tls/1 | 1 | irc,scr/6 | 3 | 5 | 5 | 6 | 7 | 8 | 9
Close | 0 | tlf/0 | 2 | 2 | 4 | 4 | irc,str/4 | irc,str/4 | irc,str/4 | tld,irc,str/4
TO+   | - | - | - | - | str/4 | str/5 | scr/6 | scr/6 | scr/8 | -
TO-   | - | - | - | - | tlf/2 | tlf/3 | tlf/3 | tlf/3 | tlf/3 | -
RCR+  | - | - | sta/2 | irc,scr,sca/8 | 4 | 5 | sca/8 | sca,tlu/9 | sca/8 | tld,scr,sca/8
RCR-  | - | - | sta/2 | irc,scr,scn/6 | 4 | 5 | scn/6 | scn/7 | scn/6 | tld,scr,scn/6
RCA   | - | - | sta/2 | sta/3 | 4 | 5 | irc/7 | scr/6 | irc,tlu/9 | tld,scr/6
RCN   | - | - | sta/2 | sta/3 | 4 | 5 | irc,scr/6 | scr/6 | irc,scr/8 | tld,scr/6
RTR   | - | - | sta/2 | sta/3 | sta/4 | sta/5 | sta/6 | sta/6 | sta/6 | tld,zrc,sta/5
RTA   | - | - | 2 | 3 | tlf/2 | tlf/3 | 6 | 6 | 8 | tld,scr/6
RUC   | - | - | scj/2 | scj/3 | scj/4 | scj/5 | scj/6 | scj/7 | scj/8 | scj/9
RXJ+  | - | - | 2 | 3 | 4 | 5 | 6 | 6 | 8 | 9
RXJ-  | - | - | tlf/2 | tlf/3 | tlf/2 | tlf/3 | tlf/3 | tlf/3 | tlf/3 | tld,irc,str/5
RXR   | - | - | 2 | 3 | 4 | 5 | 6 | 7 | 8 | ser/9
"""


def _expected() -> dict[tuple[State, str], tuple[State, tuple[str, ...]] | None]:
    out: dict[tuple[State, str], tuple[State, tuple[str, ...]] | None] = {}
    for line in RFC_TABLE.strip().splitlines():
        cells = [c.strip() for c in line.split("|")]
        ev, cells = cells[0], cells[1:]
        assert len(cells) == 10
        for st, cell in zip(State, cells, strict=False):
            if cell == "-":
                out[(st, ev)] = None
            elif "/" in cell:
                acts, nxt = cell.split("/")
                out[(st, ev)] = (State(int(nxt)), tuple(acts.split(",")))
            else:
                out[(st, ev)] = (State(int(cell)), ())
    return out


EXPECTED = _expected()
PAIRS = [(s, e) for s in State for e in EVENTS]

SEND_ACTION = {F.CONF_REQ: "scr", F.CONF_ACK: "sca", F.CONF_NAK: "scn", F.CONF_REJ: "scn",
               F.TERM_REQ: "str", F.TERM_ACK: "sta", F.CODE_REJ: "scj"}


class RecordingPolicy:
    protocol = F.PROTO_LCP
    extended_codes = frozenset((F.ECHO_REQ,))
    fatal: str | None = None

    def __init__(self) -> None:
        self.log: list[str] = []

    def reset(self) -> None:
        pass

    def build_request(self) -> bytes:
        return b"\x05\x06\x01\x02\x03\x04"

    def check_request(self, data: bytes, reject_naks: bool) -> tuple[int, bytes] | None:
        return F.CONF_ACK, data

    def commit_request(self) -> None:
        pass

    def receive_ack(self, data: bytes) -> bool:
        return True

    def receive_nak(self, data: bytes) -> bool:
        return True

    def receive_reject(self, data: bytes) -> bool:
        return True

    def this_layer_up(self, now: float) -> None:
        self.log.append("tlu")

    def this_layer_down(self, now: float) -> None:
        self.log.append("tld")

    def this_layer_started(self, now: float) -> None:
        self.log.append("tls")

    def this_layer_finished(self, now: float) -> None:
        self.log.append("tlf")

    def classify_extended(self, code: int, data: bytes, now: float) -> str:
        return "RXR"

    def receive_extended(self, code: int, ident: int, data: bytes, now: float) -> None:
        self.log.append("ser")


def state_of(fsm: Fsm) -> State:
    return fsm.state


def test_table_is_total_and_matches_rfc():
    assert set(TRANSITIONS) == set(PAIRS)
    assert len(PAIRS) == 160
    for key, val in EXPECTED.items():
        assert TRANSITIONS[key] == val, key
    used = {a for v in TRANSITIONS.values() if v for a in v[1]}
    assert used == set(ACTIONS)


@pytest.mark.parametrize("state,event", PAIRS, ids=[f"{s.name}-{e}" for s, e in PAIRS])
def test_transition(state, event):
    pol = RecordingPolicy()
    sent: list[int] = []

    def send(code: int, ident: int, data: bytes) -> None:
        sent.append(code)
        pol.log.append(SEND_ACTION[code])
    fsm = Fsm(pol, send, rng=random.Random(0), max_configure=10, max_terminate=2)
    fsm.state = state
    fsm.restart_count = 5
    fsm._pkt = (7, b"\x09\x07\x00\x04")
    fsm._code = F.ECHO_REQ
    fsm._reply = (F.CONF_NAK if event == "RCR-" else F.CONF_ACK, b"\x01\x04\x05\xdc")
    fsm.event(event, 100.0)
    exp = EXPECTED[(state, event)]
    if exp is None:
        assert fsm.state == state and pol.log == [] and sent == []
        return
    nxt, actions = exp
    assert fsm.state == nxt
    observable = [a for a in actions if a not in ("irc", "zrc")]
    assert pol.log == observable
    sends = sum(1 for a in actions if a in ("scr", "str"))
    if "irc" in actions:
        base = 2 if nxt in (State.CLOSING, State.STOPPING) else 10
        assert fsm.restart_count == base - sends
    elif "zrc" in actions:
        assert fsm.restart_count == 0
    else:
        assert fsm.restart_count == 5 - sends
    # the restart timer runs exactly in the states that wait for an answer
    if nxt in (State.CLOSING, State.STOPPING, State.REQ_SENT, State.ACK_RCVD,
               State.ACK_SENT) and (sends or "zrc" in actions):
        assert fsm.deadline == 100.0 + fsm.restart_timer
    if nxt in (State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED, State.OPENED):
        assert fsm.deadline is None


def test_timeout_gives_to_plus_then_to_minus():
    pol = RecordingPolicy()
    sent = []
    fsm = Fsm(pol, lambda c, i, d: sent.append(c), rng=random.Random(0), max_configure=3,
              restart_timer=2.0)
    fsm.open(now=0.0)
    fsm.up(now=0.0)
    assert fsm.state == State.REQ_SENT and sent == [F.CONF_REQ]
    t = 0.0
    while fsm.deadline is not None:
        t = fsm.deadline
        fsm.handle_timer(now=t)
    assert sent == [F.CONF_REQ] * 3          # Max-Configure transmissions
    assert state_of(fsm) == State.STOPPED and pol.log[-1] == "tlf" and t == 6.0
