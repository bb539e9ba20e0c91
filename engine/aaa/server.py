"""RADIUS server configuration, its defaults and its statistics.

The defaults here are the one source for the shell's configuration model, the engine
configuration and the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ---------------------------------------------------------------- defaults
DEFAULT_TIMEOUT_S = 3           # seconds between (re)transmissions
DEFAULT_RETRANSMIT = 3          # retransmissions after the first send
# Minutes a server that did not answer is skipped.  With 0 every request waits
# timeout * (retransmit + 1) = 12 s for a dead primary before it tries the next server;
# a few minutes keep requests on the secondary while the primary is down, and a dead
# server is still tried when every server is dead.
DEFAULT_DEADTIME_MIN = 3
DEFAULT_MAX_SESSIONS = 0        # outstanding requests per server; 0 = no limit
# BlastRADIUS (CVE-2024-3596): an Access-Accept/-Reject/-Challenge without a valid
# Message-Authenticator is dropped unless this is switched off for a server.
DEFAULT_REQUIRE_MESSAGE_AUTHENTICATOR = True
AUTH_PORT = 1812
ACCT_PORT = 1813


@dataclass(frozen=True, slots=True)
class RadiusServer:
    address: str                       # IPv4 address
    port: int
    secret: bytes = field(repr=False)  # never printed
    timeout: float = float(DEFAULT_TIMEOUT_S)
    retransmit: int = DEFAULT_RETRANSMIT
    deadtime_s: float = DEFAULT_DEADTIME_MIN * 60.0   # 0 = never marked dead
    kind: str = "auth"                 # "auth" | "acct"
    max_sessions: int = DEFAULT_MAX_SESSIONS
    require_message_authenticator: bool = DEFAULT_REQUIRE_MESSAGE_AUTHENTICATOR


# ---------------------------------------------------------------- statistics
# (attribute name, label): every counter a server keeps, in the order it is shown.
COUNTERS: tuple[tuple[str, str], ...] = (
    ("requests", "Requests"),                     # first transmissions
    ("retransmits", "Retransmissions"),
    ("accepts", "Access-Accepts"),
    ("rejects", "Access-Rejects"),
    ("challenges", "Access-Challenges"),
    ("accounting_responses", "Accounting-Responses"),
    ("timeouts", "Timeouts"),                     # requests given up on this server
    ("queued", "Requests queued (max-sessions)"),
    ("malformed", "Malformed replies"),
    ("bad_authenticators", "Bad authenticators"),
    ("missing_message_authenticators", "Missing Message-Authenticators"),
    ("wrong_source", "Replies from a wrong port"),
    ("unknown_responses", "Unmatched replies"),  # late / duplicate / unknown identifier
)
COUNTER_NAMES: tuple[str, ...] = tuple(n for n, _ in COUNTERS)

STATE_UP = "up"
STATE_DEAD = "dead"


@dataclass(frozen=True, slots=True)
class ServerStats:
    address: str
    port: int
    kind: str
    state: str                 # STATE_UP | STATE_DEAD
    dead_until: float | None
    dead_for: float | None     # seconds of dead time left
    pending: int               # requests sent and not answered
    waiting: int               # requests queued behind max-sessions
    last_rtt: float | None
    requests: int
    retransmits: int
    accepts: int
    rejects: int
    challenges: int
    accounting_responses: int
    timeouts: int
    queued: int
    malformed: int
    bad_authenticators: int
    missing_message_authenticators: int
    wrong_source: int
    unknown_responses: int

    def counters(self) -> tuple[tuple[str, int], ...]:
        """(label, value) of every counter, in COUNTERS order."""
        return tuple((label, int(getattr(self, name))) for name, label in COUNTERS)
