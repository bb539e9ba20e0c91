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

from . import frames as F

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
    __slots__ = ("link", "state", "ident", "deadline", "_resp", "_succeeded", "tries")

    def __init__(self, link) -> None:
        self.link = link
        self.state = IDLE
        self.deadline = None
        self.ident = -1
        self._resp = b""
        self._succeeded = False
        self.tries = 0

    def start(self, now: float) -> None:
        self.state = WAIT
        self.deadline = now + self.link.config.auth_timeout

    def handle_timer(self, now: float) -> None:
        if self.state != WAIT or self.deadline is None or now < self.deadline:
            return
        cfg = self.link.config
        if self._resp and self.tries < cfg.max_configure:
            # no Success/Failure yet: repeat the Response (RFC 1994 §4.2 has the
            # authenticator answer a duplicate with the same verdict)
            self.tries += 1
            self.link._send_packet(F.PROTO_CHAP, RESPONSE, self.ident, self._resp)
            self.deadline = now + cfg.restart_timer
            return
        self.deadline = None
        self.state = FAILED
        self.link._auth_failed("local", "no CHAP Challenge/Success from peer")

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        link = self.link
        if code == CHALLENGE:
            if self.state == FAILED or self.state == IDLE:
                return
            if ident == self.ident and self._resp:
                link._send_packet(F.PROTO_CHAP, RESPONSE, ident, self._resp)
                return
            parsed = parse_value(data)
            if parsed is None:
                link.counters_errors += 1
                return
            cfg = link.config
            value = chap_md5(ident, cfg.password.encode(), parsed[0])
            self._resp = build_value(value, cfg.username.encode())
            self.ident = ident
            link._send_packet(F.PROTO_CHAP, RESPONSE, ident, self._resp)
            if self.state == WAIT:
                self.tries = 1
                self.deadline = now + cfg.restart_timer
        elif code == SUCCESS:
            if ident != self.ident or self.state != WAIT:
                return
            self.state = DONE
            self.deadline = None
            link._auth_local_ok("chap", data.decode("utf-8", "replace"))
        elif code == FAILURE:
            if ident != self.ident or self.state != WAIT:
                return
            self.state = FAILED
            self.deadline = None
            link._auth_failed("local", "CHAP refused: " + data.decode("utf-8", "replace"))


class ChapServer:
    __slots__ = ("link", "state", "ident", "deadline", "tries", "challenge", "_pkt",
                 "request_id", "username", "_answer")

    def __init__(self, link) -> None:
        self.link = link
        self.state = IDLE
        self.deadline = None
        self.tries = 0
        self.ident = 0
        self.challenge = b""
        self._pkt = b""
        self.request_id = None
        self.username = ""
        self._answer = None

    def start(self, now: float) -> None:
        link = self.link
        cfg = link.config
        lo, hi = cfg.chap_challenge_length
        rng = link.rng
        n = rng.randint(lo, hi)
        self.challenge = rng.getrandbits(8 * n).to_bytes(n, "big")
        self.ident = rng.getrandbits(8)
        self._pkt = build_value(self.challenge, cfg.hostname.encode())
        self.state = WAIT
        self.tries = 0
        self._send(now)

    def _send(self, now: float) -> None:
        self.tries += 1
        self.link._send_packet(F.PROTO_CHAP, CHALLENGE, self.ident, self._pkt)
        self.deadline = now + self.link.config.restart_timer

    def handle_timer(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        if self.state == WAIT:
            if self.tries >= self.link.config.max_configure:
                self.deadline = None
                self.state = FAILED
                self.link._auth_failed("peer", "no CHAP Response")
                return
            self._send(now)
        elif self.state == PENDING:
            self.deadline = None
            self.state = FAILED
            self.link._auth_failed("peer", "CHAP verdict timeout")

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code != RESPONSE or ident != self.ident:
            return
        if self.state == WAIT:
            parsed = parse_value(data)
            if parsed is None:
                self.link.counters_errors += 1
                return
            value, name = parsed
            self.state = PENDING
            self.deadline = now + self.link.config.auth_timeout
            self.username = name.decode("utf-8", "replace")
            self.request_id = self.link._ask_verdict(
                self, "chap", self.username, chap_id=ident, chap_challenge=self.challenge,
                chap_response=value)
        elif self._answer is not None:
            self.link._send_packet(F.PROTO_CHAP, self._answer[0], ident, self._answer[1])

    def verdict(self, ok: bool, message: str, now: float) -> None:
        if self.state != PENDING:
            return
        msg = (message or ("Welcome" if ok else "Authentication failed")).encode()[:200]
        code = SUCCESS if ok else FAILURE
        self._answer = (code, msg)
        self.link._send_packet(F.PROTO_CHAP, code, self.ident, msg)
        self.deadline = None
        if ok:
            self.state = DONE
            self.link._auth_peer_ok("chap", self.username)
        else:
            self.state = FAILED
            self.link._auth_failed("peer", "CHAP authentication of %r failed: %s"
                                   % (self.username, message or "credentials refused"))
