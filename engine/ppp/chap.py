"""CHAP with MD5 (RFC 1994): client (authenticatee) and server (authenticator) machines.

Response value = MD5(Identifier ‖ secret ‖ Challenge-Value) (RFC 1994 §4.1).

Server: sends a Challenge (random length in ``config.chap_challenge_length``, random value,
Name = ``config.hostname``), retransmits it every restart interval at most Max-Configure times;
a Response with the current Identifier goes to the application (one outstanding check);
Success/Failure carry the same Identifier; a repeated Response after the verdict gets the same
answer again (RFC 1994 §4.2, lost Success).
Client: answers every Challenge (a retransmitted one with the same Identifier gets the same
Response); Success/Failure with the Identifier of our last Response decide.  With no Challenge
within ``auth_timeout`` the client fails.
"""
from __future__ import annotations

from hashlib import md5

from typing import TYPE_CHECKING

from . import frames as F

if TYPE_CHECKING:
    from .api import PppLinkApi

CHALLENGE = 1
RESPONSE = 2
SUCCESS = 3
FAILURE = 4

IDLE = "idle"
WAIT = "wait"
PENDING = "pending"
DONE = "done"
FAILED = "failed"


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


class ChapClient:
    """Authenticatee.  Every Challenge of this authentication phase is answered; the
    Identifiers answered are remembered, so a Success/Failure for any of them decides (a
    Challenge overtaken by a newer one may still be the one the peer judges).  A repeated
    Challenge (same Identifier and value) gets the same Response."""

    __slots__ = ("link", "state", "ident", "deadline", "_resp", "tries", "_answered")

    def __init__(self, link: PppLinkApi) -> None:
        self.link = link
        self.state = IDLE
        self.deadline: float | None = None
        self.ident = -1
        self._resp = b""
        self.tries = 0
        self._answered: dict[int, tuple[bytes, bytes]] = {}   # ident -> (challenge, response)

    def start(self, now: float) -> None:
        self.state = WAIT
        self.deadline = now + self.link.config.auth_timeout

    def handle_timer(self, now: float) -> None:
        if self.state != WAIT or self.deadline is None or now < self.deadline:
            return
        cfg = self.link.config
        if self._answered and self.tries < cfg.max_configure:
            # no Success/Failure yet: repeat the Responses (RFC 1994 §4.2 has the
            # authenticator answer a duplicate with the same verdict).  All of this phase's
            # are repeated: a delayed older Challenge may have been answered last, and only
            # the authenticator knows which Identifier is outstanding.
            self.tries += 1
            for ident, (_challenge, resp) in self._answered.items():
                self.link.send_packet(F.PROTO_CHAP, RESPONSE, ident, resp)
            self.deadline = now + cfg.restart_timer
            return
        self.deadline = None
        self.state = FAILED
        self.link.auth_failed("local", "no CHAP Challenge/Success from peer")

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        link = self.link
        if code == CHALLENGE:
            if self.state != WAIT:
                return
            seen = self._answered.get(ident)
            if seen is not None and seen[0] == data:
                link.send_packet(F.PROTO_CHAP, RESPONSE, ident, seen[1])
                return
            parsed = parse_value(data)
            if parsed is None:
                link.count_error()
                return
            cfg = link.config
            value = chap_md5(ident, cfg.password.encode(), parsed[0])
            self._resp = build_value(value, cfg.username.encode())
            self.ident = ident
            if len(self._answered) >= 4:
                self._answered.pop(next(iter(self._answered)))
            self._answered[ident] = (data, self._resp)
            link.send_packet(F.PROTO_CHAP, RESPONSE, ident, self._resp)
            self.tries = 1
            self.deadline = now + cfg.restart_timer
        elif code == SUCCESS or code == FAILURE:
            if ident not in self._answered or self.state != WAIT:
                return
            self.deadline = None
            text = data.decode("utf-8", "replace")
            if code == SUCCESS:
                self.state = DONE
                link.auth_local_ok("chap", text)
            else:
                self.state = FAILED
                link.auth_failed("local", "CHAP refused: " + text)


class ChapServer:
    """Authenticator.  One Challenge value per authentication phase; every Challenge sent
    (retransmissions included) carries a new Identifier from the link (RFC 1994 §4.1), and
    only a Response with the Identifier of the latest Challenge is judged: a Response to an
    older one, or to a previous negotiation, is silently discarded."""

    __slots__ = ("link", "state", "ident", "deadline", "tries", "challenge", "_pkt",
                 "request_id", "username", "_answer")

    def __init__(self, link: PppLinkApi) -> None:
        self.link = link
        self.state = IDLE
        self.deadline: float | None = None
        self.tries = 0
        self.ident = -1
        self.challenge = b""
        self._pkt = b""
        self.request_id: int | None = None
        self.username = ""
        self._answer: tuple[int, bytes] | None = None

    def start(self, now: float) -> None:
        link = self.link
        cfg = link.config
        lo, hi = cfg.chap_challenge_length
        rng = link.rng
        n = rng.randint(lo, hi)
        self.challenge = rng.getrandbits(8 * n).to_bytes(n, "big")
        self._pkt = build_value(self.challenge, cfg.hostname.encode())
        self.state = WAIT
        self.tries = 0
        self._send(now)

    def _send(self, now: float) -> None:
        self.tries += 1
        self.ident = self.link.next_chap_id()
        self.link.send_packet(F.PROTO_CHAP, CHALLENGE, self.ident, self._pkt)
        self.deadline = now + self.link.config.restart_timer

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        if self.state == WAIT:
            if self.tries >= self.link.config.max_configure:
                self.deadline = None
                self.state = FAILED
                self.link.auth_failed("peer", "no CHAP Response")
                return
            self._send(now)
        elif self.state == PENDING:
            self.deadline = None
            self.state = FAILED
            self.link.auth_failed("peer", "CHAP verdict timeout")

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code != RESPONSE or ident != self.ident:
            return
        if self.state == WAIT:
            parsed = parse_value(data)
            if parsed is None:
                self.link.count_error()
                return
            value, name = parsed
            self.state = PENDING
            self.deadline = now + self.link.config.auth_timeout
            self.username = name.decode("utf-8", "replace")
            self.request_id = self.link.ask_verdict(
                self, "chap", self.username, chap_id=ident, chap_challenge=self.challenge,
                chap_response=value)
        elif self._answer is not None:
            self.link.send_packet(F.PROTO_CHAP, self._answer[0], ident, self._answer[1])

    def verdict(self, ok: bool, message: str, now: float) -> None:
        if self.state != PENDING:
            return
        msg = (message or ("Welcome" if ok else "Authentication failed")).encode()[:200]
        code = SUCCESS if ok else FAILURE
        self._answer = (code, msg)
        self.link.send_packet(F.PROTO_CHAP, code, self.ident, msg)
        self.deadline = None
        if ok:
            self.state = DONE
            self.link.auth_peer_ok("chap", self.username)
        else:
            self.state = FAILED
            self.link.auth_failed("peer", "CHAP credentials refused for %r" % self.username)
