"""Records of the L2TP endpoint: tunnels, calls, their snapshots, and RFC 2661 constants."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from . import avp as A
from . import call as C
from . import message as M
from . import tunnel as T
from .acceptance import HostPolicy
from .errors import CDN_ADMIN, ERR_NONE, STOPCCN_GENERAL_CLEAR, L2tpProtocolError
from .reliable import ReliableChannel

HIDE_ATTRS = frozenset({A.CALLED_NUMBER, A.CALLING_NUMBER, A.SUB_ADDRESS, A.PROXY_AUTHEN_NAME,
                        A.PROXY_AUTHEN_CHALLENGE, A.PROXY_AUTHEN_RESPONSE})
DEFAULT_MAX_BPS = 64000
DEFAULT_BEARER = A.BEARER_DIGITAL
DEFAULT_FRAMING = A.FRAMING_SYNC


def fit_message(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes: cut after a whole word and marked with "..."."""
    if len(text.encode()) <= limit:
        return text
    mark = "..."
    cut = text
    while cut and len(cut.encode()) + len(mark) > limit:
        cut = cut[:-1]
    if " " in cut.strip():
        cut = cut[:cut.rstrip().rindex(" ")]
    return cut.rstrip() + mark


def challenge_response(msg_type: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 2661 §5.1.1: MD5(message type byte ‖ secret ‖ challenge)."""
    return hashlib.md5(bytes([msg_type]) + secret + challenge).digest()


@dataclass(frozen=True, slots=True)
class TunnelInfo:
    tunnel_id: int
    peer_tunnel_id: int
    peer_addr: Any
    local_host_name: str
    peer_host_name: str
    role: str               # "originator" | "recipient"
    state: str
    sessions: int
    created_at: float
    up_at: float | None
    ns: int
    nr: int
    retransmits: int
    peer_window: int
    unacked: int
    #: the destination profile a recipient tunnel was admitted under ("" when none)
    dest_profile: str = ""


@dataclass(frozen=True, slots=True)
class CallInfo:
    tunnel_id: int
    session_id: int
    peer_session_id: int
    kind: str               # lns-out | lac-out | lac-in | lns-in
    state: str
    called_number: str
    calling_number: str
    connect_speed: int
    serial_number: int
    created_at: float
    up_at: float | None
    rx_packets: int
    tx_packets: int


@dataclass(frozen=True, slots=True)
class L2tpSnapshot:
    tunnels: tuple[TunnelInfo, ...]
    calls: tuple[CallInfo, ...]
    counters: dict[str, int]
    #: tunnels admitted by the acceptance policy and not yet established
    half_open: int = 0


@dataclass(eq=False, slots=True)
class Rejected:
    """A sequenced control message that failed validation in a way the RFC answers (M bit etc.)."""
    header: M.Header
    msg_type: int | None
    error: L2tpProtocolError


@dataclass(eq=False)
class Tunnel:
    local_id: int
    peer_addr: Any
    originator: bool
    host_name: str
    secret: bytes | None = field(repr=False)
    channel: ReliableChannel
    created_at: float
    expected_peer_host: str | None = None
    state: str = T.IDLE
    peer_id: int = 0
    peer_host_name: str = ""
    peer_vendor: str = ""
    peer_firmware: int | None = None
    peer_framing: int = 0
    peer_bearer: int = 0
    up_at: float | None = None
    challenge: bytes | None = None
    peer_challenge: bytes | None = None
    tie_breaker: bytes | None = None
    calls: dict[int, Call] = field(default_factory=dict)
    peer_calls: dict[int, Call] = field(default_factory=dict)
    last_rx: float = 0.0
    hold_until: float | None = None
    down_result: tuple[int, int, str] = (STOPCCN_GENERAL_CLEAR, ERR_NONE, "")
    stop_result: tuple[int, int, str] = (STOPCCN_GENERAL_CLEAR, ERR_NONE, "")
    sccrq_key: tuple[Any, int] | None = None
    #: when the peer last sent us a control message we accepted (None: never)
    heard_at: float | None = None
    #: since when the established tunnel has carried no call (None while it has calls)
    idle_since: float | None = None
    #: the peer's port is fixed once it has answered (RFC 2661 §8.1)
    peer_port_learned: bool = False
    #: recipient tunnel admitted by the acceptance policy and not yet established
    half_open: bool = False
    #: the destination profile and remote host this recipient tunnel was admitted under
    dest_profile: str = ""
    host_policy: HostPolicy | None = None
    #: closed (StopCCN) as soon as it carries no call
    close_when_empty: bool = False

    def response_to(self, msg_type: int, challenge: bytes | None) -> bytes:
        """Our Challenge Response for ``msg_type`` (only asked when a secret and a challenge exist)."""
        if self.secret is None or challenge is None:
            raise L2tpProtocolError("challenge response without a secret and a challenge")
        return challenge_response(msg_type, self.secret, challenge)


@dataclass(eq=False)
class Call:
    local_id: int
    tunnel: Tunnel
    kind: str
    created_at: float
    state: str = C.IDLE
    peer_id: int = 0
    called_number: str = ""
    calling_number: str = ""
    sub_address: str | None = None
    min_bps: int = 0
    max_bps: int = DEFAULT_MAX_BPS
    bearer_type: int = DEFAULT_BEARER
    framing_type: int = DEFAULT_FRAMING
    serial: int = 0
    connect_speed: int = 0
    up_at: float | None = None
    cdn: tuple[int, int, str, int | None] = (CDN_ADMIN, ERR_NONE, "", None)
    data_seq: bool = False
    data_ns: int = 0
    rx_packets: int = 0
    tx_packets: int = 0


#: call message type -> call state machine event
MSG_EVENT: dict[int, str] = {M.OCRP: "rx_ocrp", M.OCCN: "rx_occn", M.ICRP: "rx_icrp", M.ICCN: "rx_iccn",
              M.CDN: "rx_cdn", M.WEN: "rx_info", M.SLI: "rx_info"}

#: a decoded control message handed to a state machine action (None for local events)
Msg = M.ControlMessage | None
