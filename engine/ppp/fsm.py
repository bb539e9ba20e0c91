"""The RFC 1661 option-negotiation automaton, shared by LCP and IPCP.

Theory of operation
-------------------
``TRANSITIONS`` is RFC 1661 §4.1's state-transition table written out:
``{(state, event): (next_state, actions)}``.  ``None`` marks the table's "-" cells (events that
cannot happen in that state, e.g. a packet while the lower layer is down): they are logged and
ignored, never an exception.  Every (state, event) pair is present; a test walks all of them.

Options ``r`` (restart) and ``p`` (passive) of the RFC are not implemented: Open in
Stopped/Closing/Stopping/Opened stays put, TO- in Req-Sent/Ack-Rcvd/Ack-Sent goes to Stopped.

The protocol-specific parts (which options to request, how to judge the peer's request, what
to do when the layer comes up or goes down, extra codes such as LCP Echo) live in a *policy*
object (see :class:`Policy`).  The automaton owns identifiers, the restart timer and counters:

* restart counter: ``irc`` loads Max-Terminate when heading for Closing/Stopping, Max-Configure
  otherwise; every scr/str transmission decrements it; a timeout gives TO+ while it is > 0,
  else TO- (RFC 1661 §4.6);
* Max-Failure: after that many Configure-Naks sent without a Configure-Ack, naked options are
  rejected instead (RFC 1661 §4.6);
* Max-Configure also bounds the Configure-Naks *received* in a row (each RCN re-loads the
  restart counter, so without this bound a stubborn peer could loop forever): then the layer
  closes.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Protocol

from . import frames as F
from .config import PppConfig
from .frames import CODE_REJ, CONF_ACK, CONF_NAK, CONF_REQ, TERM_ACK, TERM_REQ

log = logging.getLogger(__name__)

_DEFAULT = PppConfig()      # restart timer and counters: the defaults live there


class State(IntEnum):
    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9


STATE_NAMES = {
    State.INITIAL: "initial", State.STARTING: "starting", State.CLOSED: "closed",
    State.STOPPED: "stopped", State.CLOSING: "closing", State.STOPPING: "stopping",
    State.REQ_SENT: "req-sent", State.ACK_RCVD: "ack-rcvd", State.ACK_SENT: "ack-sent",
    State.OPENED: "opened",
}

EVENTS = ("Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-", "RCA", "RCN",
          "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR")
ACTIONS = ("tlu", "tld", "tls", "tlf", "irc", "zrc", "scr", "sca", "scn", "str", "sta",
           "scj", "ser")

S = State
Transitions = dict[tuple[State, str], tuple[State, tuple[str, ...]] | None]
_I, _ST, _C, _SP, _CG, _SG, _RS, _AR, _AS, _O = (S.INITIAL, S.STARTING, S.CLOSED, S.STOPPED,
                                                  S.CLOSING, S.STOPPING, S.REQ_SENT,
                                                  S.ACK_RCVD, S.ACK_SENT, S.OPENED)


def _row(event: str, cells: Sequence[tuple[str, int] | None]) -> Transitions:
    """One row of the RFC table: cells for states 0..9, each None or 'actions/next'."""
    out: Transitions = {}
    for st, cell in zip(State, cells, strict=True):
        if cell is None:
            out[(st, event)] = None
        else:
            acts, nxt = cell
            out[(st, event)] = (State(nxt), tuple(acts.split(",")) if acts else ())
    return out


# RFC 1661 §4.1 State Transition Table (cells: (actions, next state); None = "-").
TRANSITIONS: Transitions = {}
for _ev, _cells in (
    # §4.3 Up/Down (lower layer), Open/Close (administrative)
    ("Up", [("", 2), ("irc,scr", 6), None, None, None, None, None, None, None, None]),
    ("Down", [None, None, ("", 0), ("tls", 1), ("", 0), ("", 1), ("", 1), ("", 1), ("", 1),
              ("tld", 1)]),
    ("Open", [("tls", 1), ("", 1), ("irc,scr", 6), ("", 3), ("", 5), ("", 5), ("", 6),
              ("", 7), ("", 8), ("", 9)]),
    ("Close", [("", 0), ("tlf", 0), ("", 2), ("", 2), ("", 4), ("", 4), ("irc,str", 4),
               ("irc,str", 4), ("irc,str", 4), ("tld,irc,str", 4)]),
    # §4.3 Timeout with counter > 0 / counter expired
    ("TO+", [None, None, None, None, ("str", 4), ("str", 5), ("scr", 6), ("scr", 6),
             ("scr", 8), None]),
    ("TO-", [None, None, None, None, ("tlf", 2), ("tlf", 3), ("tlf", 3), ("tlf", 3),
             ("tlf", 3), None]),
    # §4.3 Receive-Configure-Request good / bad
    ("RCR+", [None, None, ("sta", 2), ("irc,scr,sca", 8), ("", 4), ("", 5), ("sca", 8),
              ("sca,tlu", 9), ("sca", 8), ("tld,scr,sca", 8)]),
    ("RCR-", [None, None, ("sta", 2), ("irc,scr,scn", 6), ("", 4), ("", 5), ("scn", 6),
              ("scn", 7), ("scn", 6), ("tld,scr,scn", 6)]),
    # §4.3 Receive-Configure-Ack / Receive-Configure-Nak-or-Reject
    ("RCA", [None, None, ("sta", 2), ("sta", 3), ("", 4), ("", 5), ("irc", 7), ("scr", 6),
             ("irc,tlu", 9), ("tld,scr", 6)]),
    ("RCN", [None, None, ("sta", 2), ("sta", 3), ("", 4), ("", 5), ("irc,scr", 6),
             ("scr", 6), ("irc,scr", 8), ("tld,scr", 6)]),
    # §4.3 Receive-Terminate-Request / Receive-Terminate-Ack
    ("RTR", [None, None, ("sta", 2), ("sta", 3), ("sta", 4), ("sta", 5), ("sta", 6),
             ("sta", 6), ("sta", 6), ("tld,zrc,sta", 5)]),
    ("RTA", [None, None, ("", 2), ("", 3), ("tlf", 2), ("tlf", 3), ("", 6), ("", 6),
             ("", 8), ("tld,scr", 6)]),
    # §4.3 Receive-Unknown-Code
    ("RUC", [None, None, ("scj", 2), ("scj", 3), ("scj", 4), ("scj", 5), ("scj", 6),
             ("scj", 7), ("scj", 8), ("scj", 9)]),
    # §4.3 Receive-Code-Reject / Protocol-Reject, permitted (+) or catastrophic (-)
    ("RXJ+", [None, None, ("", 2), ("", 3), ("", 4), ("", 5), ("", 6), ("", 6), ("", 8),
              ("", 9)]),
    ("RXJ-", [None, None, ("tlf", 2), ("tlf", 3), ("tlf", 2), ("tlf", 3), ("tlf", 3),
              ("tlf", 3), ("tlf", 3), ("tld,irc,str", 5)]),
    # §4.3 Receive-Echo-Request / Echo-Reply / Discard-Request
    ("RXR", [None, None, ("", 2), ("", 3), ("", 4), ("", 5), ("", 6), ("", 7), ("", 8),
             ("ser", 9)]),
):
    TRANSITIONS.update(_row(_ev, _cells))

_NO_PKT: tuple[int, bytes] = (0, b"")
_NO_REPLY: tuple[int, bytes] = (F.CONF_ACK, b"")
_TIMER_STATES = frozenset((S.CLOSING, S.STOPPING, S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT))
_TERMINATING = frozenset((S.CLOSING, S.STOPPING))


class Policy(Protocol):
    """What a protocol (LCP, IPCP) plugs into the automaton."""

    protocol: int
    extended_codes: frozenset[int]  # codes beyond 1..7 this protocol understands (RXJ/RXR)
    fatal: str | None              # set to a reason to make the automaton close the layer

    def reset(self) -> None: ...            # fresh negotiation: wanted options from config
    def build_request(self) -> bytes: ...   # options of our Configure-Request
    def check_request(self, data: bytes, reject_naks: bool) -> tuple[int, bytes] | None: ...
    def commit_request(self) -> None: ...   # the peer's last checked request was acked
    def receive_ack(self, data: bytes) -> bool: ...
    def receive_nak(self, data: bytes) -> bool: ...
    def receive_reject(self, data: bytes) -> bool: ...
    def this_layer_up(self, now: float) -> None: ...
    def this_layer_down(self, now: float) -> None: ...
    def this_layer_started(self, now: float) -> None: ...
    def this_layer_finished(self, now: float) -> None: ...
    # "RXJ+"/"RXJ-"/"RXR"/"RUC" for a code in extended_codes
    def classify_extended(self, code: int, data: bytes, now: float) -> str: ...
    def receive_extended(self, code: int, ident: int, data: bytes, now: float) -> None: ...


_PROTOCOL_NAMES = {0xC021: "lcp", 0x8021: "ipcp"}


class Fsm:
    """One instance of the automaton; ``send(code, ident, data)`` puts a packet on the wire."""

    __slots__ = ("policy", "send", "owner", "state", "restart_timer", "max_configure",
                 "max_terminate", "max_failure", "restart_count", "deadline", "req_id",
                 "last_request", "naks_sent", "naks_received", "_rng", "_pkt", "_reply",
                 "terminate_reason", "_code", "_replied", "_peer_acked")

    def __init__(self, policy: Policy, send: Callable[[int, int, bytes], None], *,
                 rng: random.Random, restart_timer: float = _DEFAULT.restart_timer,
                 max_configure: int = _DEFAULT.max_configure,
                 max_terminate: int = _DEFAULT.max_terminate,
                 max_failure: int = _DEFAULT.max_failure, name: str = "") -> None:
        self.policy = policy
        self.send = send
        self.owner = name            # whose automaton (a link's name), for the log
        self.state = State.INITIAL
        self.restart_timer = restart_timer
        self.max_configure = max_configure
        self.max_terminate = max_terminate
        self.max_failure = max_failure
        self.restart_count = 0
        self.deadline: float | None = None
        self._rng = rng
        self.req_id = rng.getrandbits(8)
        self.last_request = b""
        self._replied = False        # a Configure-Ack/Nak/Reject for req_id was processed
        self._peer_acked: tuple[int, bytes] | None = None   # the peer's request we acked
        self.naks_sent = 0
        self.naks_received = 0
        self._code = 0
        self._pkt = _NO_PKT          # identifier, data of the packet being processed
        self._reply = _NO_REPLY
        self.terminate_reason = b""

    @property
    def name(self) -> str:
        """``<owner>/<protocol>`` for the log; made when logged, not kept per link."""
        proto = _PROTOCOL_NAMES.get(self.policy.protocol)
        return f"{self.owner}/{proto}" if proto and self.owner else self.owner

    # ---- administrative / lower-layer events -------------------------------------------
    def up(self, *, now: float) -> None:
        self.event("Up", now)

    def down(self, *, now: float) -> None:
        self.event("Down", now)

    def open(self, *, now: float) -> None:
        self.event("Open", now)

    def close(self, reason: str = "", *, now: float) -> None:
        self.terminate_reason = reason.encode()[:64]
        self.event("Close", now)

    def handle_timer(self, *, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self.event("TO+" if self.restart_count > 0 else "TO-", now)

    # ---- packets ------------------------------------------------------------------------
    def acked_before(self, ident: int, data: bytes) -> bool:
        """This Configure-Request is a repetition of the peer's request we last acked."""
        return self._peer_acked == (ident, data)

    def receive(self, code: int, ident: int, data: bytes, *, now: float) -> None:
        try:
            self._receive(code, ident, data, now)
        finally:
            # an idle link keeps no reference to the last packet
            self._pkt = _NO_PKT
            self._reply = _NO_REPLY

    def _receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        st = self.state
        self._pkt = (ident, data)
        self._code = code
        pol = self.policy
        if code == F.CONF_REQ:
            if st == S.OPENED and self._peer_acked == (ident, data):
                # the peer repeats the very request we acked: our Configure-Ack was lost.
                # Ack it again instead of tearing the layer down (RFC 1661 §5.1 lets a
                # retransmission keep its Identifier; a new request after our Ack must not)
                log.debug("%s: repeated Configure-Request id %d acked again", self.name, ident)
                self.send(CONF_ACK, ident, data)
                return
            if st in (S.STOPPED, S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT, S.OPENED):
                if st == S.STOPPED:
                    pol.reset()
                reply = pol.check_request(data, self.naks_sent >= self.max_failure)
                if reply is None:          # malformed options: counted by the policy, dropped
                    return
                self._reply = reply
                rcode = reply[0]
                self.event("RCR+" if rcode == F.CONF_ACK else "RCR-", now)
            else:
                self.event("RCR+", now)
        elif code == F.CONF_ACK:
            if ident != self.req_id or self._replied or not pol.receive_ack(data):
                # a reply to an older request, or a duplicate of one already processed
                log.debug("%s: stray or bad Configure-Ack id %d dropped", self.name, ident)
                return
            self._replied = True
            self.naks_received = 0
            self.event("RCA", now)
        elif code == F.CONF_NAK or code == F.CONF_REJ:
            if ident != self.req_id or self._replied or st not in (
                    S.CLOSED, S.STOPPED, S.CLOSING, S.STOPPING, S.REQ_SENT, S.ACK_RCVD,
                    S.ACK_SENT, S.OPENED):
                log.debug("%s: stray Configure-Nak/Reject id %d dropped", self.name, ident)
                return
            if st in (S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT, S.OPENED):
                ok = pol.receive_nak(data) if code == F.CONF_NAK else pol.receive_reject(data)
                if not ok:
                    log.debug("%s: bad Configure-Nak/Reject dropped", self.name)
                    return
                self._replied = True
                self.naks_received += 1
                if pol.fatal is None and self.naks_received > self.max_configure:
                    pol.fatal = "configuration not converging"
                if pol.fatal is not None:
                    self.close(pol.fatal, now=now)
                    return
            self.event("RCN", now)
        elif code == F.TERM_REQ:
            self.event("RTR", now)
        elif code == F.TERM_ACK:
            self.event("RTA", now)
        elif code == F.CODE_REJ:
            rc = data[0] if data else 0
            self.event("RXJ-" if 1 <= rc <= 7 else "RXJ+", now)
        elif code in pol.extended_codes:
            ev = pol.classify_extended(code, data, now)
            self.event(ev, now)
        else:
            self._pkt = (ident, bytes((code, ident, (len(data) + 4) >> 8,
                                       (len(data) + 4) & 0xFF)) + data)
            self.event("RUC", now)
        if pol.fatal is not None and self.state not in (S.CLOSING, S.CLOSED, S.INITIAL,
                                                        S.STARTING, S.STOPPING, S.STOPPED):
            self.close(pol.fatal, now=now)

    # ---- the automaton --------------------------------------------------------------------
    def event(self, ev: str, now: float) -> None:
        entry = TRANSITIONS[(self.state, ev)]
        if entry is None:
            log.debug("%s: event %s ignored in state %s", self.name, ev,
                      STATE_NAMES[self.state])
            return
        nxt, actions = entry
        prev = self.state
        self.state = nxt
        for a in actions:
            _ACTION[a](self, ev, prev, nxt, now)
        if nxt not in _TIMER_STATES:
            self.deadline = None

    # ---- the actions of RFC 1661 §4.4 (dispatched through _ACTION) -----------------------
    def _a_scr(self, ev: str, prev: State, nxt: State, now: float) -> None:
        if ev != "TO+" or self._replied:
            # a retransmission keeps identifier and options (RFC 1661 §5.1), so a late
            # answer to the previous copy still counts; after a valid reply the Identifier
            # must change
            self.req_id = (self.req_id + 1) & 0xFF
            self.last_request = self.policy.build_request()
            self._replied = False
        self.send(CONF_REQ, self.req_id, self.last_request)
        self.restart_count -= 1
        self.deadline = now + self.restart_timer

    def _a_irc(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.restart_count = self.max_terminate if nxt in _TERMINATING else self.max_configure
        if prev in (S.STARTING, S.CLOSED, S.STOPPED) and nxt not in _TERMINATING:
            if prev != S.STOPPED:     # (Stopped: reset before judging the RCR)
                self.policy.reset()
            self.naks_sent = 0
            self.naks_received = 0

    def _a_zrc(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.restart_count = 0
        self.deadline = now + self.restart_timer

    def _a_sca(self, ev: str, prev: State, nxt: State, now: float) -> None:
        rdata = self._reply[1]
        self.send(CONF_ACK, self._pkt[0], rdata)
        self._peer_acked = (self._pkt[0], rdata)
        self.naks_sent = 0
        self.policy.commit_request()

    def _a_scn(self, ev: str, prev: State, nxt: State, now: float) -> None:
        rcode, rdata = self._reply
        if rcode == CONF_NAK:
            self.naks_sent += 1
        self.send(rcode, self._pkt[0], rdata)

    def _a_str(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.req_id = (self.req_id + 1) & 0xFF
        self.send(TERM_REQ, self.req_id, self.terminate_reason)
        self.restart_count -= 1
        self.deadline = now + self.restart_timer

    def _a_sta(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.send(TERM_ACK, self._pkt[0], b"")

    def _a_scj(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.req_id = (self.req_id + 1) & 0xFF
        self.send(CODE_REJ, self.req_id, self._pkt[1][:1496])

    def _a_ser(self, ev: str, prev: State, nxt: State, now: float) -> None:
        ident, data = self._pkt
        self.policy.receive_extended(self._code, ident, data, now)

    def _a_tlu(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.policy.this_layer_up(now)

    def _a_tld(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.policy.this_layer_down(now)

    def _a_tls(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.policy.reset()
        self.policy.this_layer_started(now)

    def _a_tlf(self, ev: str, prev: State, nxt: State, now: float) -> None:
        self.policy.this_layer_finished(now)


_ACTION: dict[str, Callable[[Fsm, str, State, State, float], None]] = {
    "tlu": Fsm._a_tlu, "tld": Fsm._a_tld, "tls": Fsm._a_tls, "tlf": Fsm._a_tlf,
    "irc": Fsm._a_irc, "zrc": Fsm._a_zrc, "scr": Fsm._a_scr, "sca": Fsm._a_sca,
    "scn": Fsm._a_scn, "str": Fsm._a_str, "sta": Fsm._a_sta, "scj": Fsm._a_scj,
    "ser": Fsm._a_ser,
}
if set(_ACTION) != set(ACTIONS):
    raise RuntimeError("every RFC 1661 action needs exactly one handler")
