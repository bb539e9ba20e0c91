"""The configuration model: the single source of truth.

Handlers verify, then change these objects; `render.render_config` turns them into a replayable
script; the engine reconciles from them (`engine.apply_config(model)`). Addresses and masks are
kept as dotted-quad strings, numbers as ints; `None` means "not configured, default applies".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.aaa import server as _radius_defaults
from engine.dialout import model as _dialout_defaults
from engine.l2tp.acceptance import DEFAULT_MAX_HALF_OPEN, DEFAULT_MAX_HALF_OPEN_PER_SOURCE
from engine.l2tp.config import (
    DEFAULT_HELLO_INTERVAL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RECEIVE_WINDOW,
    DEFAULT_TUNNEL_IDLE_TIMEOUT,
    DEFAULT_UDP_PORT,
)

# Defaults (dialout spec section 8; L2TP values from RFC 2661 practice)
CONNECT_TIMEOUT = 60
DORMANT_TIMEOUT = 300
MAX_BUFFERED_TRIGGERS = 10
MAX_SESSIONS = 64000
MAX_CONNECTING = 1000
LOCKOUT_TIMEOUT = 300
RETRANSMISSION = DEFAULT_MAX_RETRIES
HELLO_INTERVAL = DEFAULT_HELLO_INTERVAL
RECEIVE_WINDOW_SIZE = DEFAULT_RECEIVE_WINDOW
L2TP_UDP_PORT = DEFAULT_UDP_PORT
TUNNEL_IDLE_TIMEOUT = DEFAULT_TUNNEL_IDLE_TIMEOUT
TUNNEL_MAX_SESSIONS = _dialout_defaults.TUNNEL_MAX_SESSIONS
MAX_HALF_OPEN_TUNNELS = DEFAULT_MAX_HALF_OPEN
MAX_HALF_OPEN_TUNNELS_PER_SOURCE = DEFAULT_MAX_HALF_OPEN_PER_SOURCE
RADIUS_TIMEOUT = _radius_defaults.DEFAULT_TIMEOUT_S
RADIUS_RETRANSMIT = _radius_defaults.DEFAULT_RETRANSMIT
RADIUS_DEADTIME = _radius_defaults.DEFAULT_DEADTIME_MIN
RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR = _radius_defaults.DEFAULT_REQUIRE_MESSAGE_AUTHENTICATOR
RADIUS_AUTH_PORT = _radius_defaults.AUTH_PORT
RADIUS_ACCT_PORT = _radius_defaults.ACCT_PORT


@dataclass
class RadiusServer:
    address: str
    kind: str                          # "authentication" | "accounting"
    key: str | None = None
    udp_port: int | None = None        # None: 1812 / 1813
    timeout: int = RADIUS_TIMEOUT
    retransmit: int = RADIUS_RETRANSMIT
    deadtime: int = RADIUS_DEADTIME    # minutes
    max_sessions: int | None = None    # outstanding requests; None: no limit
    require_message_authenticator: bool = RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR

    @property
    def port(self) -> int:
        if self.udp_port is not None:
            return self.udp_port
        return RADIUS_AUTH_PORT if self.kind == "authentication" else RADIUS_ACCT_PORT


@dataclass
class Profile:
    name: str
    # ordered ("chap", "pap"); () = not configured: the dial-out default
    # (engine.dialout.model.DEFAULT_PPP_AUTHENTICATION) applies
    ppp_authentication: tuple[str, ...] = ()
    ppp_authentication_vr: str | None = None
    ppp_keepalive: int | None = None
    ppp_mru: int | None = None
    ip_unnumbered_loopback: int | None = None
    ip_inactivity_timer: int | None = None
    ip_mtu: int | None = None
    ip_address_pool: str | None = None     # dial-in subscribers' addresses (`ip local pool`)


@dataclass
class LocalPool:
    """`ip local pool NAME FIRST LAST`: addresses for dial-in subscribers."""
    name: str
    first: str
    last: str


@dataclass
class DomainMap:
    domain: str
    router_name: str | None = None


@dataclass
class Vrf:
    name: str
    rd: str | None = None


@dataclass
class Loopback:
    number: int
    address: str | None = None
    mask: str | None = None


@dataclass
class Port:
    """A physical port configured in a virtual router (``interface gigabitEthernet 1/0``)."""
    name: str                          # gigabitEthernet1/0
    address: str | None = None
    mask: str | None = None
    shutdown: bool = False
    description: str | None = None


@dataclass(frozen=True)
class StaticRoute:
    prefix: str
    mask: str
    gateway: str | None                # None: null 0
    distance: int | None = None
    tag: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.prefix, self.mask, self.gateway or "null0")


@dataclass(frozen=True)
class DialoutTarget:
    prefix: str
    mask: str
    domain: str
    profile: str


@dataclass
class VirtualRouter:
    name: str
    vrfs: dict[str, Vrf] = field(default_factory=dict)
    loopbacks: dict[int, Loopback] = field(default_factory=dict)
    routes: dict[tuple[str, str, str], StaticRoute] = field(default_factory=dict)
    radius_servers: list[RadiusServer] = field(default_factory=list)   # configured order
    aaa_ppp_default: str | None = None        # "radius" | "none"
    domain_maps: dict[str, DomainMap] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    targets: dict[tuple[str, str], DialoutTarget] = field(default_factory=dict)
    max_buffered_triggers: int = MAX_BUFFERED_TRIGGERS
    ports: dict[str, Port] = field(default_factory=dict)
    radius_update_source: str | None = None   # radius update-source-addr
    l2tp_source: str | None = None            # l2tp source-address
    local_pools: dict[str, LocalPool] = field(default_factory=dict)   # `ip local pool`

    def radius(self, kind: str) -> list[RadiusServer]:
        return [s for s in self.radius_servers if s.kind == kind]


@dataclass
class DialoutChassis:
    connect_timeout: int = CONNECT_TIMEOUT
    dormant_timeout: int = DORMANT_TIMEOUT
    max_sessions: int = MAX_SESSIONS
    max_connecting: int = MAX_CONNECTING


@dataclass
class L2tpSettings:
    destination_lockout_timeout: int = LOCKOUT_TIMEOUT
    failover_within_preference: bool = False
    weighted_load_balancing: bool = False
    retransmission: int = RETRANSMISSION
    hello_interval: int = HELLO_INTERVAL
    receive_window_size: int = RECEIVE_WINDOW_SIZE
    tunnel_idle_timeout: int = TUNNEL_IDLE_TIMEOUT
    tunnel_max_sessions: int = TUNNEL_MAX_SESSIONS
    checksum: bool = False
    disable_challenge: bool = False
    host_name: str | None = None
    udp_port: int = L2TP_UDP_PORT
    max_half_open_tunnels: int = MAX_HALF_OPEN_TUNNELS
    max_half_open_tunnels_per_source: int = MAX_HALF_OPEN_TUNNELS_PER_SOURCE


#: the name of the remote host entry that matches hosts not listed
DEFAULT_REMOTE_HOST = "default"


@dataclass
class DestinationHost:
    """`remote host NAME` of an L2TP destination profile (LNS side)."""
    name: str                          # DEFAULT_REMOTE_HOST: any host not listed
    tunnel_password: str | None = None
    local_host_name: str | None = None
    max_sessions: int | None = None
    receive_window_size: int | None = None
    profile: str | None = None         # dynamic interface profile of incoming calls


@dataclass
class DestinationProfile:
    """`l2tp destination profile NAME ip address A.B.C.D [virtual-router VR]`: the LAC at that
    address may open tunnels to us as one of its remote hosts."""
    name: str
    address: str
    virtual_router: str = "default"
    hosts: dict[str, DestinationHost] = field(default_factory=dict)


@dataclass
class Operator:
    name: str
    secret: str                        # a jcli.auth hash, never the clear secret
    privilege: int = 1                 # 0-15; 15 logs in to privileged exec


@dataclass
class Operators:
    """Who may log in (telnet, SSH) and how: `username`, `enable secret`,
    `aaa authentication login default`."""
    users: dict[str, Operator] = field(default_factory=dict)
    enable_secret: str | None = None
    login_methods: tuple[str, ...] = ("local",)     # ("local",) | ("radius",) | ("radius", "local")


@dataclass
class RouterConfig:
    hostname: str = "host1"
    virtual_routers: dict[str, VirtualRouter] = field(
        default_factory=lambda: {"default": VirtualRouter("default")})
    dialout: DialoutChassis = field(default_factory=DialoutChassis)
    l2tp: L2tpSettings = field(default_factory=L2tpSettings)
    operators: Operators = field(default_factory=Operators)
    l2tp_destinations: dict[str, DestinationProfile] = field(default_factory=dict)

    def vr(self, name: str) -> VirtualRouter:
        return self.virtual_routers[name]
