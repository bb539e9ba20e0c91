"""The convention shared by the PAP and CHAP machines: a table ``{(state, event): (next
state, actions)}`` complete over every pair (``None`` = the event is ignored in that state),
and a dispatch dict from action name to method, both visible to readers, mypy and grep.

A machine classifies its input (timer, packet, verdict) into an event, keeps what the actions
need (the packet's identifier and data), then calls :meth:`AuthMachine.event`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .api import PppLinkApi

log = logging.getLogger(__name__)

IDLE = "idle"          # created, not started
WAIT = "wait"          # client: waiting for the peer's verdict / server: for credentials
PENDING = "pending"    # server: the application is judging the credentials
DONE = "done"
FAILED = "failed"

_NO_PKT: tuple[int, bytes] = (0, b"")

Cell = tuple[str, tuple[str, ...]] | None
Table = dict[tuple[str, str], Cell]


def complete_table(states: tuple[str, ...], events: tuple[str, ...],
                   cells: dict[tuple[str, str], tuple[str, str]]) -> Table:
    """Every (state, event) pair; ``cells`` gives ``(next state, "act1,act2")`` for the pairs
    that do something, all others are ignored."""
    for st, ev in cells:
        if st not in states or ev not in events:
            raise ValueError(f"unknown state or event in table: {st}/{ev}")
    out: Table = {}
    for st in states:
        for ev in events:
            cell = cells.get((st, ev))
            out[(st, ev)] = None if cell is None else (
                cell[0], tuple(a for a in cell[1].split(",") if a))
    return out


class AuthMachine:
    """Base of the four authentication machines (PAP/CHAP, client/server)."""

    __slots__ = ("link", "state", "deadline", "tries", "ident", "_pkt")

    NAME: ClassVar[str] = ""
    STATES: ClassVar[tuple[str, ...]] = ()
    EVENTS: ClassVar[tuple[str, ...]] = ()
    TABLE: ClassVar[Table] = {}
    ACTIONS: ClassVar[dict[str, Callable[[Any, float], None]]] = {}

    def __init__(self, link: PppLinkApi) -> None:
        self.link = link
        self.state = IDLE
        self.deadline: float | None = None
        self.tries = 0
        self.ident = -1
        self._pkt = _NO_PKT            # identifier and data of the packet being handled

    def event(self, ev: str, now: float) -> None:
        entry = self.TABLE[(self.state, ev)]
        if entry is None:
            log.debug("%s: %s ignored in state %s", self.NAME, ev, self.state)
            return
        self.state, actions = entry
        for a in actions:
            self.ACTIONS[a](self, now)
        self._pkt = _NO_PKT

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        """A packet of this machine's protocol (classified into an event, or discarded)."""
        raise NotImplementedError

    def start(self, now: float) -> None:
        self.event("Start", now)

    def settle(self) -> None:
        """The network phase is up: the peer has seen this phase's outcome, so what was kept
        only to repeat a lost packet of it can go (many idle links hold nothing per phase)."""

    def timer_event(self) -> str:
        """TO+ while retransmissions are left, TO- when the machine gives up."""
        return "TO+" if self.tries < self.link.config.max_configure else "TO-"

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self.event(self.timer_event(), now)

    # ---- actions shared by all machines
    def _a_stop_timer(self, now: float) -> None:
        self.deadline = None

    def _a_wait_auth(self, now: float) -> None:
        self.deadline = now + self.link.config.auth_wait
