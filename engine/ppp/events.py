"""Application events of a PPP link (popped with ``PppLink.next_event()``)."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class DownCause(enum.Enum):
    """Why a link finished, as a value (``LinkDown.cause``)."""
    LOCAL = "local close"                    # we closed it (administrative, call cleared)
    PEER_TERMINATED = "peer terminated"      # LCP Terminate-Request from the peer
    KEEPALIVE = "keepalive lost"             # LCP Echo-Requests went unanswered
    NEGOTIATION = "negotiation failed"       # LCP or IPCP did not converge
    AUTH = "authentication failed"           # either side refused the other's credentials
    #                                          or the authentication protocol
    LOWER_DOWN = "lower layer down"          # the carrier (L2TP session) went away


@dataclass(frozen=True, slots=True)
class LinkUp:
    """LCP reached Opened (phase authenticate or network follows)."""
    mru: int              # what we may send (peer's MRU)
    magic: int            # our magic number (0 = none)
    peer_magic: int


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """Authenticator side: check these credentials, answer ``PppLink.auth_result``.

    PAP: ``password`` set.  CHAP-MD5: ``chap_id``, ``chap_challenge``, ``chap_response``
    (the 16-octet MD5 value) set; ``engine.ppp.chap.chap_md5(chap_id, secret, challenge)`` is
    what a correct response equals.
    """
    request_id: int
    protocol: str                         # "pap" | "chap"
    username: str
    password: str | None = None
    chap_id: int | None = None
    chap_challenge: bytes | None = None
    chap_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class PeerAuthenticated:
    """We accepted the peer's credentials."""
    username: str
    protocol: str = ""


@dataclass(frozen=True, slots=True)
class AuthenticatedByPeer:
    """The peer accepted our credentials."""
    protocol: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """``direction``: "peer" = the peer failed our authentication (we refused it);
    "local" = we failed the peer's authentication (it refused us, or no common protocol)."""
    direction: str
    reason: str


@dataclass(frozen=True, slots=True)
class NetworkUp:
    """IPCP opened: IPv4 can flow.  ``dns``: addresses the peer gave us (RFC 1877)."""
    local_ip: str | None
    peer_ip: str | None
    dns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkDown:
    """IPCP left Opened (renegotiation, or the link is going down)."""
    reason: str


@dataclass(frozen=True, slots=True)
class IpPacket:
    packet: bytes


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link is finished (LCP closed/stopped); nothing more will happen on it."""
    reason: str
    cause: DownCause = DownCause.LOCAL
