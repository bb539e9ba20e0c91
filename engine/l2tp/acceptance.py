"""Who may open a tunnel to us (LNS role): destination profiles, half-open caps, refusals.

An SCCRQ opening a new tunnel is admitted only from a peer address with a destination profile
and a remote host entry matching its Host Name AVP (or the profile's ``default`` host).  Every
other SCCRQ is refused without creating any state: one StopCCN per SCCRQ, never retransmitted
(RFC 2661 §7.2.1 "idle: receive SCCRQ, not acceptable"; the tunnel never existed, so nothing is
held for a retransmission cycle).  Admitted tunnels that are not yet established ("half-open":
SCCRP sent, SCCCN awaited, or refused after SCCCN and held) are capped per source address and
in total, so that a flood of SCCRQs from a spoofed LAC address cannot fill the tunnel table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ERR_NO_RESOURCES, ERR_NONE, STOPCCN_GENERAL_ERROR, STOPCCN_NOT_AUTHORIZED

#: defaults of the caps the CLI exposes (the one place they are defined)
DEFAULT_MAX_HALF_OPEN = 1000
DEFAULT_MAX_HALF_OPEN_PER_SOURCE = 32

#: refusal counters, in the order they are shown
REFUSAL_COUNTERS = ("sccrq_refused_unknown_peer", "sccrq_refused_unknown_host",
                    "sccrq_refused_half_open_total", "sccrq_refused_half_open_source",
                    "sccrq_refused_tunnel_limit")


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """One ``remote host`` of a destination profile (``host_name`` None: ``remote host default``)."""
    host_name: str | None
    secret: bytes | None = field(default=None, repr=False)
    local_host_name: str | None = None
    #: the dynamic interface profile of incoming calls; None: incoming calls are refused (CDN)
    profile: str | None = None
    #: sessions per tunnel (0 = no limit beyond the endpoint's)
    max_sessions: int = 0
    #: Receive Window Size we advertise on tunnels of this host (None = the endpoint's)
    receive_window: int | None = None


@dataclass(frozen=True, slots=True)
class PeerPolicy:
    """One destination profile: the LAC at ``address`` and its remote hosts."""
    name: str
    address: str
    virtual_router: str = "default"
    hosts: tuple[HostPolicy, ...] = ()

    def host(self, host_name: str) -> HostPolicy | None:
        default = None
        for h in self.hosts:
            if h.host_name is None:
                default = h
            elif h.host_name == host_name:
                return h
        return default


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an SCCRQ is refused: the StopCCN result and the counter it is counted in."""
    counter: str
    result: int
    error: int
    message: str


@dataclass(frozen=True, slots=True)
class AcceptancePolicy:
    peers: tuple[PeerPolicy, ...] = ()
    max_half_open: int = DEFAULT_MAX_HALF_OPEN
    max_half_open_per_source: int = DEFAULT_MAX_HALF_OPEN_PER_SOURCE
    _by_address: dict[str, PeerPolicy] = field(default_factory=dict, init=False, repr=False,
                                                compare=False)

    def __post_init__(self) -> None:
        for p in self.peers:
            self._by_address.setdefault(p.address, p)

    def peer(self, address: str) -> PeerPolicy | None:
        return self._by_address.get(address)

    def admit(self, address: str, host_name: str, *, half_open_total: int,
              half_open_source: int) -> HostPolicy | Refusal:
        """The host entry an SCCRQ from ``address`` naming ``host_name`` is admitted under,
        or why it is refused."""
        peer = self._by_address.get(address)
        if peer is None:
            return Refusal("sccrq_refused_unknown_peer", STOPCCN_NOT_AUTHORIZED, ERR_NONE,
                           "no destination profile")
        host = peer.host(host_name)
        if host is None:
            return Refusal("sccrq_refused_unknown_host", STOPCCN_NOT_AUTHORIZED, ERR_NONE,
                           "host name not allowed")
        if half_open_total >= self.max_half_open:
            return Refusal("sccrq_refused_half_open_total", STOPCCN_GENERAL_ERROR, ERR_NO_RESOURCES,
                           "too many tunnels being opened")
        if half_open_source >= self.max_half_open_per_source:
            return Refusal("sccrq_refused_half_open_source", STOPCCN_GENERAL_ERROR, ERR_NO_RESOURCES,
                           "too many tunnels being opened from this address")
        return host


#: no destination profile at all: every SCCRQ is refused
CLOSED = AcceptancePolicy()
