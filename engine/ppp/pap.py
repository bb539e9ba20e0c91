"""PAP (RFC 1334 §2): client (authenticatee) and server (authenticator) machines.

Client: sends Authenticate-Request (peer-id, password) and retransmits it every restart
interval, at most Max-Configure times; an Ack with the current identifier is success, a Nak is
failure.  Server: waits up to ``auth_wait`` for a request, hands the credentials to the
application (asynchronously, one outstanding check), answers Ack/Nak with the identifier of
the latest request; a request repeated after the verdict gets the same answer again.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import frames as F
from .authfsm import DONE, FAILED, IDLE, PENDING, WAIT, AuthMachine, complete_table  # noqa: F401

if TYPE_CHECKING:
    from .api import PppLinkApi

AUTH_REQ = 1
AUTH_ACK = 2
AUTH_NAK = 3



def build_request(peer_id: bytes, password: bytes) -> bytes:
    return bytes((len(peer_id),)) + peer_id + bytes((len(password),)) + password


def parse_request(data: bytes) -> tuple[bytes, bytes] | None:
    if len(data) < 2:
        return None
    n = data[0]
    if 1 + n + 1 > len(data):
        return None
    pid = data[1:1 + n]
    m = data[1 + n]
    if 2 + n + m > len(data):
        return None
    return pid, data[2 + n:2 + n + m]


def parse_message(data: bytes) -> str:
    if not data:
        return ""
    return data[1:1 + data[0]].decode("utf-8", "replace")


def build_message(msg: str) -> bytes:
    b = msg.encode()[:255]
    return bytes((len(b),)) + b


class PapClient(AuthMachine):
    """Authenticatee: Authenticate-Request retransmitted until an Ack/Nak with its
    Identifier (RFC 1334 §2.2)."""

    __slots__ = ("_data",)

    NAME = "pap-client"
    STATES = (IDLE, WAIT, DONE, FAILED)
    EVENTS = ("Start", "TO+", "TO-", "RAA", "RAN")
    TABLE = complete_table(STATES, EVENTS, {
        (IDLE, "Start"): (WAIT, "new_request,send_request"),
        (WAIT, "TO+"): (WAIT, "send_request"),
        (WAIT, "TO-"): (FAILED, "fail_no_answer"),
        (WAIT, "RAA"): (DONE, "stop_timer,local_ok"),
        (WAIT, "RAN"): (FAILED, "stop_timer,fail_refused"),
    })

    def __init__(self, link: PppLinkApi) -> None:
        super().__init__(link)
        self._data = b""

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if ident != self.ident or code not in (AUTH_ACK, AUTH_NAK):
            return                       # not an answer to our request: silently discarded
        self._pkt = (ident, data)
        self.event("RAA" if code == AUTH_ACK else "RAN", now)

    def _a_new_request(self, now: float) -> None:
        cfg = self.link.config
        self._data = build_request(cfg.username.encode()[:255], cfg.password.encode()[:255])
        self.ident = self.link.rng.getrandbits(8)
        self.tries = 0

    def _a_send_request(self, now: float) -> None:
        self.tries += 1
        self.link.send_packet(F.PROTO_PAP, AUTH_REQ, self.ident, self._data)
        self.deadline = now + self.link.config.restart_timer

    def _a_fail_no_answer(self, now: float) -> None:
        self.link.auth_failed("local", "no answer to PAP Authenticate-Request")

    def _a_local_ok(self, now: float) -> None:
        self.link.auth_local_ok("pap", parse_message(self._pkt[1]))

    def _a_fail_refused(self, now: float) -> None:
        self.link.auth_failed("local", "PAP refused: " + parse_message(self._pkt[1]))

    ACTIONS = {
        "new_request": _a_new_request, "send_request": _a_send_request,
        "fail_no_answer": _a_fail_no_answer, "local_ok": _a_local_ok,
        "fail_refused": _a_fail_refused, "stop_timer": AuthMachine._a_stop_timer,
    }


class PapServer(AuthMachine):
    """Authenticator: waits ``auth_wait`` for a request, asks the application (one
    outstanding check), answers with the Identifier of the latest request; a request repeated
    after the verdict gets the same answer again."""

    __slots__ = ("request_id", "username", "_answer", "_message")

    NAME = "pap-server"
    STATES = (IDLE, WAIT, PENDING, DONE, FAILED)
    EVENTS = ("Start", "TO-", "RAR", "OK", "NO")
    TABLE = complete_table(STATES, EVENTS, {
        (IDLE, "Start"): (WAIT, "wait_auth"),
        (WAIT, "TO-"): (FAILED, "fail_no_request"),
        (PENDING, "TO-"): (FAILED, "fail_verdict_timeout"),
        (WAIT, "RAR"): (PENDING, "take_ident,wait_auth,ask"),
        (PENDING, "RAR"): (PENDING, "take_ident"),
        (DONE, "RAR"): (DONE, "repeat_answer"),
        (FAILED, "RAR"): (FAILED, "repeat_answer"),
        (PENDING, "OK"): (DONE, "stop_timer,send_ack,peer_ok"),
        (PENDING, "NO"): (FAILED, "stop_timer,send_nak,fail_refused"),
    })

    def __init__(self, link: PppLinkApi) -> None:
        super().__init__(link)
        self.ident = 0
        self.request_id: int | None = None
        self.username = ""
        self._answer: tuple[int, bytes] | None = None
        self._message = ""

    def timer_event(self) -> str:
        return "TO-"

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code != AUTH_REQ:
            return
        if self.state == WAIT and parse_request(data) is None:
            self.link.count_error()
            return
        self._pkt = (ident, data)
        self.event("RAR", now)

    def verdict(self, ok: bool, message: str, now: float) -> None:
        self._message = message
        self.event("OK" if ok else "NO", now)

    def _a_take_ident(self, now: float) -> None:
        self.ident = self._pkt[0]       # answer the latest retransmission

    def _a_ask(self, now: float) -> None:
        parsed = parse_request(self._pkt[1])
        pid, pwd = parsed if parsed is not None else (b"", b"")
        self.username = pid.decode("utf-8", "replace")
        self.request_id = self.link.ask_verdict(
            self, "pap", self.username, password=pwd.decode("utf-8", "replace"))

    def _a_repeat_answer(self, now: float) -> None:
        if self._answer is not None:
            self.link.send_packet(F.PROTO_PAP, self._answer[0], self._pkt[0], self._answer[1])

    def _answer_with(self, code: int, default: str) -> None:
        msg = build_message(self._message or default)
        self._answer = (code, msg)
        self.link.send_packet(F.PROTO_PAP, code, self.ident, msg)

    def _a_send_ack(self, now: float) -> None:
        self._answer_with(AUTH_ACK, "welcome")

    def _a_send_nak(self, now: float) -> None:
        self._answer_with(AUTH_NAK, "authentication failed")

    def _a_peer_ok(self, now: float) -> None:
        self.link.auth_peer_ok("pap", self.username)

    def _a_fail_refused(self, now: float) -> None:
        self.link.auth_failed("peer", "PAP authentication of %r failed: %s"
                              % (self.username, self._message or "credentials refused"))

    def _a_fail_no_request(self, now: float) -> None:
        self.link.auth_failed("peer", "no PAP Authenticate-Request")

    def _a_fail_verdict_timeout(self, now: float) -> None:
        self.link.auth_failed("peer", "PAP verdict timeout")

    ACTIONS = {
        "wait_auth": AuthMachine._a_wait_auth, "stop_timer": AuthMachine._a_stop_timer,
        "take_ident": _a_take_ident, "ask": _a_ask, "repeat_answer": _a_repeat_answer,
        "send_ack": _a_send_ack, "send_nak": _a_send_nak, "peer_ok": _a_peer_ok,
        "fail_refused": _a_fail_refused, "fail_no_request": _a_fail_no_request,
        "fail_verdict_timeout": _a_fail_verdict_timeout,
    }
