"""Configuration, counters and snapshot of a PPP link (plain values, no behaviour)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PppConfig:
    mru: int = 1500                                   # our MRU (requested when != 1500)
    # the peer must authenticate with one of these ("chap"/"pap"), by preference
    auth_protocols_required: tuple[str, ...] = ()
    # what we authenticate ourselves with; None = refuse to
    auth_protocols_allowed: tuple[str, ...] | None = None
    username: str = ""                                # our credentials (authenticatee side)
    password: str = ""
    hostname: str = "jcli"                            # Name in our CHAP Challenges
    # Keepalive (LCP Echo, RFC 1661 §5.8): every ``keepalive_interval`` seconds an
    # Echo-Request goes out; unanswered, it is repeated every ``restart_timer``
    # seconds, and the link is closed after ``keepalive_failures`` of them in a row.  Any frame
    # received from the peer counts as an answer.  20 in a row at 30 % loss each way happens
    # about once in 700,000 checks; a dead peer is found within interval + 20 restart periods.
    keepalive_interval: float = 10.0                  # LCP Echo-Request period, 0 = off
    keepalive_failures: int = 20                      # unanswered echoes before the link is closed
    local_ip: str | None = None                       # our address; None = ask the peer
    peer_ip: str | None = None                        # to assign the peer; None = take its own
    accept_peer_ip: bool = True                       # no peer_ip: accept the peer's non-zero one
    accept_local_nak: bool = False                    # accept a Naked local_ip even when we had one
    dns: tuple[str, ...] = ()                         # primary/secondary DNS handed to the peer
    request_dns: bool = False                         # ask the peer for DNS addresses
    # RFC 1661 §4.6 restart timer and counters, used by LCP, IPCP, PAP and CHAP alike.
    # Max-Configure is twice the RFC's suggested 10: at 30 % loss each way a request/answer
    # round trip fails about half the time, and 10 tries leave one negotiation in a thousand
    # failing per phase; 20 leave about one in a million.
    restart_timer: float = 3.0
    max_configure: int = 20
    max_terminate: int = 2
    max_failure: int = 5
    auth_timeout: float | None = None                 # see auth_wait
    chap_challenge_length: tuple[int, int] = (16, 32)
    magic: bool = True                                # negotiate a Magic-Number
    pfc: bool = False                                 # request Protocol-Field-Compression
    acfc: bool = False                                # request Address/Control-Field-Compression


    @property
    def auth_wait(self) -> float:
        """How long an authentication machine waits for the peer (its first Challenge or
        Authenticate-Request, or the application's verdict): ``auth_timeout``, by default as
        long as the peer may keep retransmitting (Max-Configure restart intervals)."""
        if self.auth_timeout is not None:
            return self.auth_timeout
        return self.max_configure * self.restart_timer


@dataclass(frozen=True, slots=True)
class PppCounters:
    rx_frames: int
    rx_octets: int
    tx_frames: int
    tx_octets: int
    errors: int              # malformed frames/packets dropped
    unknown_protocol: int    # frames answered with Protocol-Reject
    discarded: int           # well-formed frames not acceptable in the current phase
    ip_rx_packets: int
    ip_rx_octets: int
    ip_tx_packets: int
    ip_tx_octets: int
    echo_sent: int
    echo_replies: int
    echo_answered: int       # peer's Echo-Requests we replied to


@dataclass(frozen=True, slots=True)
class PppSnapshot:
    """For ``show ppp interface``."""
    role: str
    phase: str
    lcp_state: str
    ipcp_state: str
    auth_peer: str           # our check of the peer: "none" | "<proto> <state>"
    auth_local: str          # the peer's check of us
    peer_name: str           # username the peer authenticated as
    local_ip: str | None
    peer_ip: str | None
    dns: tuple[str, ...]
    mru: int                 # our MRU
    peer_mru: int
    magic: int
    peer_magic: int
    down_reason: str | None
    counters: PppCounters
