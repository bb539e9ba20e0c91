"""CHAP with MD5 (RFC 1994): client (authenticatee) and server (authenticator) machines.

Response value = MD5(Identifier ‖ secret ‖ Challenge-Value) (RFC 1994 §4.1).

Server: sends a Challenge (random length in ``config.chap_challenge_length``, random value,
Name = ``config.hostname``), retransmits it every restart interval at most Max-Configure times,
each time with a new Identifier (RFC 1994 §4.1); only a Response with the Identifier of the
latest Challenge goes to the application (one outstanding check), others are silently
discarded; Success/Failure carry that Identifier; a repeated Response after the verdict gets
the same answer again (RFC 1994 §4.2, lost Success).
Client: answers every Challenge (a repeated one, same Identifier and value, gets the same
Response); Success/Failure with the Identifier of any Response of this phase decide (the
Challenge answered last may be an overtaken one).  Without Success/Failure all of this
phase's Responses are repeated every restart interval, at most Max-Configure times.  With no
Challenge within ``auth_wait`` the client fails.  A Challenge after Success (RFC 1994
re-challenge) is answered.
"""
from __future__ import annotations

from hashlib import md5
from typing import TYPE_CHECKING

from . import frames as F
from .authfsm import DONE, FAILED, IDLE, PENDING, WAIT, AuthMachine, complete_table  # noqa: F401

if TYPE_CHECKING:
    from .api import PppLinkApi

CHALLENGE = 1
RESPONSE = 2
SUCCESS = 3
FAILURE = 4



def chap_md5(ident: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 1994 §4.1 with MD5 (algorithm 5)."""
    return md5(bytes((ident & 0xFF,)) + secret + challenge).digest()


def build_value(value: bytes, name: bytes) -> bytes:
    return bytes((len(value),)) + value + name


def parse_value(data: bytes) -> tuple[bytes, bytes] | None:
    """(value, name) of a Challenge/Response, or None when malformed."""
    if not data:
        return None
    n = data[0]
    if n == 0 or 1 + n > len(data):
        return None
    return data[1:1 + n], data[1 + n:]


class ChapClient(AuthMachine):
    """Authenticatee."""

    __slots__ = ("_answered",)

    NAME = "chap-client"
    STATES = (IDLE, WAIT, DONE, FAILED)
    EVENTS = ("Start", "TO+", "TO-", "RC", "RC=", "RS", "RF")
    TABLE = complete_table(STATES, EVENTS, {
        (IDLE, "Start"): (WAIT, "wait_auth"),
        (WAIT, "RC"): (WAIT, "respond,first_try"),
        (DONE, "RC"): (DONE, "respond"),
        (WAIT, "RC="): (WAIT, "repeat_one"),
        (DONE, "RC="): (DONE, "repeat_one"),
        (WAIT, "TO+"): (WAIT, "repeat_all,next_try"),
        (WAIT, "TO-"): (FAILED, "fail_no_answer"),
        (WAIT, "RS"): (DONE, "stop_timer,local_ok"),
        (WAIT, "RF"): (FAILED, "stop_timer,fail_refused"),
        (DONE, "RF"): (FAILED, "fail_refused"),
    })
    MAX_ANSWERED = 4

    def __init__(self, link: PppLinkApi) -> None:
        super().__init__(link)
        # (ident, challenge, response) of this phase's Responses, oldest first
        self._answered: tuple[tuple[int, bytes, bytes], ...] = ()

    def settle(self) -> None:
        # a later Challenge (re-challenge, or a repeat of the last one) gets a Response
        # computed afresh, byte for byte the one it would have been repeated
        if self.state == DONE:
            self._answered = ()

    def timer_event(self) -> str:
        if self._answered and self.tries < self.link.config.max_configure:
            return "TO+"
        return "TO-"

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code == CHALLENGE:
            seen = self._response_to(ident)
            if seen is not None and seen[1] == data:
                ev = "RC="
            elif parse_value(data) is None:
                self.link.count_error()
                return
            else:
                ev = "RC"
        elif code == SUCCESS or code == FAILURE:
            if self._response_to(ident) is None:
                return                   # answers no Response of ours: silently discarded
            ev = "RS" if code == SUCCESS else "RF"
        else:
            return
        self._pkt = (ident, data)
        self.event(ev, now)

    def _response_to(self, ident: int) -> tuple[int, bytes, bytes] | None:
        for a in self._answered:
            if a[0] == ident:
                return a
        return None

    def _a_respond(self, now: float) -> None:
        ident, data = self._pkt
        parsed = parse_value(data)
        value = parsed[0] if parsed is not None else b""
        cfg = self.link.config
        resp = build_value(chap_md5(ident, cfg.password.encode(), value),
                           cfg.username.encode())
        self.ident = ident
        kept = tuple(a for a in self._answered if a[0] != ident)
        self._answered = kept[-(self.MAX_ANSWERED - 1):] + ((ident, data, resp),)
        self.link.send_packet(F.PROTO_CHAP, RESPONSE, ident, resp)

    def _a_repeat_one(self, now: float) -> None:
        seen = self._response_to(self._pkt[0])
        if seen is not None:
            self.link.send_packet(F.PROTO_CHAP, RESPONSE, seen[0], seen[2])

    def _a_repeat_all(self, now: float) -> None:
        # only the authenticator knows which Identifier is outstanding
        for ident, _challenge, resp in self._answered:
            self.link.send_packet(F.PROTO_CHAP, RESPONSE, ident, resp)

    def _a_first_try(self, now: float) -> None:
        self.tries = 1
        self.deadline = now + self.link.config.restart_timer

    def _a_next_try(self, now: float) -> None:
        self.tries += 1
        self.deadline = now + self.link.config.restart_timer

    def _a_fail_no_answer(self, now: float) -> None:
        self.link.auth_failed("local", "no CHAP Challenge/Success from peer")

    def _a_local_ok(self, now: float) -> None:
        self.link.auth_local_ok("chap", self._pkt[1].decode("utf-8", "replace"))

    def _a_fail_refused(self, now: float) -> None:
        self.link.auth_failed("local",
                              "CHAP refused: " + self._pkt[1].decode("utf-8", "replace"))

    ACTIONS = {
        "wait_auth": AuthMachine._a_wait_auth, "stop_timer": AuthMachine._a_stop_timer,
        "respond": _a_respond, "repeat_one": _a_repeat_one, "repeat_all": _a_repeat_all,
        "first_try": _a_first_try, "next_try": _a_next_try,
        "fail_no_answer": _a_fail_no_answer, "local_ok": _a_local_ok,
        "fail_refused": _a_fail_refused,
    }


class ChapServer(AuthMachine):
    """Authenticator."""

    __slots__ = ("challenge", "_value", "request_id", "username", "_answer", "_message")

    NAME = "chap-server"
    STATES = (IDLE, WAIT, PENDING, DONE, FAILED)
    EVENTS = ("Start", "TO+", "TO-", "RR", "OK", "NO")
    TABLE = complete_table(STATES, EVENTS, {
        (IDLE, "Start"): (WAIT, "new_challenge,send_challenge"),
        (WAIT, "TO+"): (WAIT, "send_challenge"),
        (WAIT, "TO-"): (FAILED, "fail_no_response"),
        (PENDING, "TO-"): (FAILED, "fail_verdict_timeout"),
        (WAIT, "RR"): (PENDING, "wait_auth,ask"),
        (DONE, "RR"): (DONE, "repeat_answer"),
        (FAILED, "RR"): (FAILED, "repeat_answer"),
        (PENDING, "OK"): (DONE, "stop_timer,send_success,peer_ok"),
        (PENDING, "NO"): (FAILED, "stop_timer,send_failure,fail_refused"),
    })

    def __init__(self, link: PppLinkApi) -> None:
        super().__init__(link)
        self.challenge = b""
        self._value = b""
        self.request_id: int | None = None
        self.username = ""
        self._answer: tuple[int, bytes] | None = None
        self._message = ""

    def settle(self) -> None:
        # the peer is in the network phase, so it has our Success: a late copy of its
        # Response is no longer answered
        if self.state == DONE:
            self.challenge = self._value = b""
            self._answer = None

    def timer_event(self) -> str:
        if self.state == WAIT and self.tries < self.link.config.max_configure:
            return "TO+"
        return "TO-"

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code != RESPONSE or ident != self.ident:
            return          # not an answer to the outstanding Challenge: silently discarded
        if self.state == WAIT and parse_value(data) is None:
            self.link.count_error()
            return
        self._pkt = (ident, data)
        self.event("RR", now)

    def verdict(self, ok: bool, message: str, now: float) -> None:
        self._message = message
        self.event("OK" if ok else "NO", now)

    def _a_new_challenge(self, now: float) -> None:
        link = self.link
        cfg = link.config
        lo, hi = cfg.chap_challenge_length
        n = link.rng.randint(lo, hi)
        self.challenge = link.rng.getrandbits(8 * n).to_bytes(n, "big")
        self._value = build_value(self.challenge, cfg.hostname.encode())
        self.tries = 0

    def _a_send_challenge(self, now: float) -> None:
        self.tries += 1
        self.ident = self.link.next_chap_id()
        self.link.send_packet(F.PROTO_CHAP, CHALLENGE, self.ident, self._value)
        self.deadline = now + self.link.config.restart_timer

    def _a_ask(self, now: float) -> None:
        parsed = parse_value(self._pkt[1])
        value, name = parsed if parsed is not None else (b"", b"")
        self.username = name.decode("utf-8", "replace")
        self.request_id = self.link.ask_verdict(
            self, "chap", self.username, chap_id=self.ident, chap_challenge=self.challenge,
            chap_response=value)

    def _a_repeat_answer(self, now: float) -> None:
        if self._answer is not None:
            self.link.send_packet(F.PROTO_CHAP, self._answer[0], self.ident, self._answer[1])

    def _answer_with(self, code: int, default: str) -> None:
        msg = (self._message or default).encode()[:200]
        self._answer = (code, msg)
        self.link.send_packet(F.PROTO_CHAP, code, self.ident, msg)

    def _a_send_success(self, now: float) -> None:
        self._answer_with(SUCCESS, "Welcome")

    def _a_send_failure(self, now: float) -> None:
        self._answer_with(FAILURE, "Authentication failed")

    def _a_peer_ok(self, now: float) -> None:
        self.link.auth_peer_ok("chap", self.username)

    def _a_fail_refused(self, now: float) -> None:
        self.link.auth_failed("peer", "CHAP authentication of %r failed: %s"
                              % (self.username, self._message or "credentials refused"))

    def _a_fail_no_response(self, now: float) -> None:
        self.link.auth_failed("peer", "no CHAP Response")

    def _a_fail_verdict_timeout(self, now: float) -> None:
        self.link.auth_failed("peer", "CHAP verdict timeout")

    ACTIONS = {
        "wait_auth": AuthMachine._a_wait_auth, "stop_timer": AuthMachine._a_stop_timer,
        "new_challenge": _a_new_challenge, "send_challenge": _a_send_challenge,
        "ask": _a_ask, "repeat_answer": _a_repeat_answer, "send_success": _a_send_success,
        "send_failure": _a_send_failure, "peer_ok": _a_peer_ok,
        "fail_refused": _a_fail_refused, "fail_no_response": _a_fail_no_response,
        "fail_verdict_timeout": _a_fail_verdict_timeout,
    }
