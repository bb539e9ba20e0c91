"""The authentication phase of a PPP link (RFC 1661 §3.5): verdicts asked of the
application and given back, each direction's outcome, and the network phase once both are
done.  Mixed into :class:`engine.ppp.link.PppLink`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .api import Verdictable
from .authfsm import AuthMachine
from .chap import ChapClient, ChapServer
from .events import (
    AuthenticatedByPeer,
    AuthFailed,
    AuthRequest,
    DownCause,
    PeerAuthenticated,
)
from .fsm import Fsm, State
from .pap import PapClient, PapServer

if TYPE_CHECKING:
    from .link import Event


class PppAuthPhase:
    """The authentication part of ``PppLink``; the link provides its state and outputs."""

    __slots__ = ("phase", "_now", "peer_name", "_requests", "_next_request", "_pending_close",
                 "_deferred_ipcp")

    phase: str
    _now: float
    finished: bool
    ipcp: Fsm
    auth_peer: PapServer | ChapServer | None
    auth_local: PapClient | ChapClient | None
    peer_name: str
    _requests: dict[int, Verdictable] | None
    _next_request: int
    _pending_close: str | None
    _deferred_ipcp: tuple[int, int, bytes] | None
    down_reason: str | None

    def _emit(self, ev: Event) -> None: ...                          # provided by PppLink
    def _set_down(self, reason: str, cause: DownCause) -> None: ...   # provided by PppLink
    def _do_pending_close(self, now: float) -> None: ...              # provided by PppLink

    def auth_result(self, request_id: int, ok: bool, message: str = "", *,
                    now: float | None = None) -> None:
        """Verdict for an ``AuthRequest``; unknown or stale ids are ignored."""
        if now is None:
            now = self._now
        self._now = now
        machine = self._requests.pop(request_id, None) if self._requests else None
        if not self._requests:
            self._requests = None
        peer = self.auth_peer
        if machine is None or peer is None or machine is not peer or self.finished:
            return
        peer.verdict(ok, message, now)
        if self._pending_close is not None:
            self._do_pending_close(now)

    def ask_verdict(self, machine: Verdictable, protocol: str, username: str, *,
                    password: str | None = None, chap_id: int | None = None,
                    chap_challenge: bytes | None = None,
                    chap_response: bytes | None = None) -> int:
        rid = self._next_request
        self._next_request += 1
        if self._requests is None:
            self._requests = {}
        self._requests[rid] = machine
        self._emit(AuthRequest(rid, protocol, username, password, chap_id,
                                         chap_challenge, chap_response))
        return rid

    def auth_peer_ok(self, protocol: str, username: str) -> None:
        self.peer_name = username
        self._emit(PeerAuthenticated(username, protocol))
        self._check_auth_done(self._now)

    def auth_local_ok(self, protocol: str, message: str) -> None:
        self._emit(AuthenticatedByPeer(protocol, message))
        self._check_auth_done(self._now)

    def auth_failed(self, direction: str, reason: str) -> None:
        self._emit(AuthFailed(direction, reason))
        self._set_down("authentication failed: " + reason, DownCause.AUTH)
        if self._pending_close is None:
            self._pending_close = self.down_reason

    def _check_auth_done(self, now: float) -> None:
        if self.phase != "authenticate":
            return
        for m in (self.auth_peer, self.auth_local):
            if m is not None and m.state != "done":
                return
        self.phase = "network"
        ipcp = self.ipcp
        if ipcp.state == State.INITIAL:
            ipcp.open(now=now)
        ipcp.up(now=now)
        pkt = self._deferred_ipcp
        if pkt is not None:
            self._deferred_ipcp = None
            ipcp.receive(pkt[0], pkt[1], pkt[2], now=now)


def _auth_desc(m: AuthMachine | None) -> str:
    if m is None:
        return "none"
    proto = "pap" if isinstance(m, (PapClient, PapServer)) else "chap"
    return "%s %s" % (proto, m.state)
