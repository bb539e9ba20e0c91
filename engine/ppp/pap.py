"""PAP (RFC 1334 §2): client (authenticatee) and server (authenticator) machines.

Client: sends Authenticate-Request (peer-id, password) and retransmits it every restart
interval, at most Max-Configure times; an Ack with the current identifier is success, a Nak is
failure.  Server: waits up to ``auth_timeout`` for a request, hands the credentials to the
application (asynchronously, one outstanding check), answers Ack/Nak with the identifier of
the latest request; a request repeated after the verdict gets the same answer again.
"""
from __future__ import annotations

from . import frames as F

AUTH_REQ = 1
AUTH_ACK = 2
AUTH_NAK = 3

# machine states
IDLE = "idle"
WAIT = "wait"          # client: request sent / server: waiting for a request
PENDING = "pending"    # server: verdict asked from the application
DONE = "done"
FAILED = "failed"


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


class PapClient:
    __slots__ = ("link", "state", "ident", "deadline", "tries", "_data")

    def __init__(self, link) -> None:
        self.link = link
        self.state = IDLE
        self.deadline = None
        self.tries = 0
        self.ident = 0
        self._data = b""

    def start(self, now: float) -> None:
        cfg = self.link.config
        self._data = build_request(cfg.username.encode()[:255], cfg.password.encode()[:255])
        self.ident = self.link.rng.getrandbits(8)
        self.state = WAIT
        self.tries = 0
        self._send(now)

    def _send(self, now: float) -> None:
        self.tries += 1
        self.link._send_packet(F.PROTO_PAP, AUTH_REQ, self.ident, self._data)
        self.deadline = now + self.link.config.restart_timer

    def handle_timer(self, now: float) -> None:
        if self.state != WAIT or self.deadline is None or now < self.deadline:
            return
        if self.tries >= self.link.config.max_configure:
            self.state = FAILED
            self.deadline = None
            self.link._auth_failed("local", "no answer to PAP Authenticate-Request")
            return
        self._send(now)

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if self.state != WAIT or ident != self.ident:
            return
        if code == AUTH_ACK:
            self.state = DONE
            self.deadline = None
            self.link._auth_local_ok("pap", parse_message(data))
        elif code == AUTH_NAK:
            self.state = FAILED
            self.deadline = None
            self.link._auth_failed("local", "PAP refused: " + parse_message(data))


class PapServer:
    __slots__ = ("link", "state", "ident", "deadline", "request_id", "username", "_answer")

    def __init__(self, link) -> None:
        self.link = link
        self.state = IDLE
        self.deadline = None
        self.ident = 0
        self.request_id = None
        self.username = ""
        self._answer = None

    def start(self, now: float) -> None:
        self.state = WAIT
        self.deadline = now + self.link.config.auth_timeout

    def handle_timer(self, now: float) -> None:
        if self.state in (WAIT, PENDING) and self.deadline is not None and now >= self.deadline:
            reason = ("no PAP Authenticate-Request" if self.state == WAIT
                      else "PAP verdict timeout")
            self.deadline = None
            self.state = FAILED
            self.link._auth_failed("peer", reason)

    def receive(self, code: int, ident: int, data: bytes, now: float) -> None:
        if code != AUTH_REQ:
            return
        if self.state == WAIT:
            parsed = parse_request(data)
            if parsed is None:
                self.link.counters_errors += 1
                return
            pid, pwd = parsed
            self.ident = ident
            self.state = PENDING
            self.username = pid.decode("utf-8", "replace")
            self.request_id = self.link._ask_verdict(
                self, "pap", self.username, password=pwd.decode("utf-8", "replace"))
        elif self.state == PENDING:
            self.ident = ident          # answer the latest retransmission
        elif self._answer is not None:
            code2, msg = self._answer
            self.link._send_packet(F.PROTO_PAP, code2, ident, msg)

    def verdict(self, ok: bool, message: str, now: float) -> None:
        if self.state != PENDING:
            return
        msg = build_message(message or ("welcome" if ok else "authentication failed"))
        code = AUTH_ACK if ok else AUTH_NAK
        self._answer = (code, msg)
        self.link._send_packet(F.PROTO_PAP, code, self.ident, msg)
        self.deadline = None
        if ok:
            self.state = DONE
            self.link._auth_peer_ok("pap", self.username)
        else:
            self.state = FAILED
            self.link._auth_failed("peer", "PAP authentication of %r failed: %s"
                                   % (self.username, message or "credentials refused"))
