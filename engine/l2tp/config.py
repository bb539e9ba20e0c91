"""L2TP endpoint configuration."""
from __future__ import annotations

from dataclasses import dataclass, field

from .avp import BEARER_ANALOG, BEARER_DIGITAL, FRAMING_ASYNC, FRAMING_SYNC
from .errors import ERR_NONE, STOPCCN_NOT_AUTHORIZED

#: defaults of the settings the CLI exposes (the one place they are defined)
DEFAULT_RECEIVE_WINDOW = 64
DEFAULT_MAX_RETRIES = 5
DEFAULT_HELLO_INTERVAL = 60
#: the IANA port for L2TP (RFC 2661 §8.1), the local port by default where it can be bound
DEFAULT_UDP_PORT = 1701
#: seconds a dial-out tunnel without sessions stays open for new ones (0 = closed at once)
DEFAULT_TUNNEL_IDLE_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class L2tpConfig:
    #: Receive Window Size we advertise (RFC 2661 §5.8); the peer's defaults to 4 when absent.
    receive_window: int = DEFAULT_RECEIVE_WINDOW
    retransmit_initial: float = 1.0
    #: back-off cap; RFC 2661 §5.8 allows 8 s (a lower cap recovers sooner from loss)
    retransmit_cap: float = 8.0
    #: retransmissions of one control message before the tunnel is torn down (2..7)
    max_retries: int = DEFAULT_MAX_RETRIES
    #: a message whose retries ran out while the peer kept sending is retransmitted on, for at
    #: most this many retransmission cycles since it was first sent
    alive_peer_cycles: float = 4.0
    #: an established tunnel without calls for this long is closed (StopCCN); None = the
    #: application closes tunnels itself
    tunnel_idle_timeout: float | None = None
    #: idle seconds before a HELLO is sent; 0 disables
    hello_interval: float = float(DEFAULT_HELLO_INTERVAL)
    #: hide Called/Calling Number, Sub-Address and proxy AVPs when the tunnel has a secret
    hide_avps: bool = True
    vendor_name: str = "jcli"
    firmware_revision: int = 0x0100
    framing_capabilities: int = FRAMING_SYNC | FRAMING_ASYNC
    bearer_capabilities: int = BEARER_DIGITAL | BEARER_ANALOG
    send_tie_breaker: bool = False
    # --- passive (recipient / LAC) side policy
    accept_tunnels: bool = True
    #: secret for tunnels opened by peers (None = no tunnel authentication)
    accept_secret: bytes | None = field(default=None, repr=False)
    #: host names allowed to open tunnels (None = anyone)
    accept_host_names: tuple[str, ...] | None = None
    refuse_result: int = STOPCCN_NOT_AUTHORIZED
    refuse_error: int = ERR_NONE
    accept_incoming_calls: bool = True
    # --- data messages
    data_length_bit: bool = False
    data_sequencing: bool = False
    # --- codec limits
    max_message_len: int = 4096
    max_avps: int = 64
    #: longest Result Code error message we send (longer texts are cut at a word, marked "...")
    max_result_message: int = 64
    max_tunnels: int = 65535
    max_sessions_per_tunnel: int = 65535
    #: seconds state is kept after StopCCN; None = one full retransmission cycle
    hold_time: float | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.max_retries <= 7:
            raise ValueError("max_retries must be 2..7")
        if not 1 <= self.receive_window <= 65535:
            raise ValueError("receive_window must be 1..65535")
        if self.retransmit_cap < self.retransmit_initial:
            raise ValueError("retransmit_cap < retransmit_initial")
        if self.alive_peer_cycles < 1:
            raise ValueError("alive_peer_cycles must be at least 1")

    def retransmit_cycle(self) -> float:
        total, rto = 0.0, self.retransmit_initial
        for _ in range(self.max_retries + 1):
            total += rto
            rto = min(rto * 2, self.retransmit_cap)
        return total

    def effective_hold_time(self) -> float:
        return self.retransmit_cycle() if self.hold_time is None else self.hold_time
