"""What the engine needs to know of the router configuration, as plain frozen data.

The shell's configuration model is the truth; ``jcli`` converts it into an ``EngineConfig``
and hands it to ``Engine.apply_config`` after every change.  Nothing here is parsed from text.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from engine.aaa import server as radius_defaults
from engine.dialout.model import DEFAULT_PPP_AUTHENTICATION
from engine.dialout.service import ChassisConfig
from engine.l2tp.acceptance import CLOSED, AcceptancePolicy
from engine.l2tp.config import (
    DEFAULT_HELLO_INTERVAL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RECEIVE_WINDOW,
    DEFAULT_TUNNEL_IDLE_TIMEOUT,
)


@dataclass(frozen=True, slots=True)
class RadiusServerConfig:
    address: str
    port: int = 1812
    key: str = ""
    timeout: float = float(radius_defaults.DEFAULT_TIMEOUT_S)
    retransmit: int = radius_defaults.DEFAULT_RETRANSMIT
    deadtime_min: int = radius_defaults.DEFAULT_DEADTIME_MIN
    max_sessions: int = radius_defaults.DEFAULT_MAX_SESSIONS     # 0 = no limit
    require_message_authenticator: bool = radius_defaults.DEFAULT_REQUIRE_MESSAGE_AUTHENTICATOR


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    name: str
    ppp_authentication: tuple[str, ...] = DEFAULT_PPP_AUTHENTICATION  # asked of the CPE
    ppp_auth_vr: str | None = None                    # VR whose RADIUS checks the CPE
    ppp_keepalive: int = 30
    ppp_mru: int = 1500
    ip_unnumbered_loopback: int | None = None
    ip_inactivity_timer: int = 0                      # seconds, 0 = off
    ip_mtu: int | None = None
    ip_address_pool: str | None = None                # dial-in: the VR's local pool to use


@dataclass(frozen=True, slots=True)
class StaticRouteConfig:
    prefix: ipaddress.IPv4Network
    nexthop: ipaddress.IPv4Address | None             # None = null 0
    distance: int = 1
    tag: int = 0


@dataclass(frozen=True, slots=True)
class TargetConfig:
    prefix: ipaddress.IPv4Network
    domain: str
    profile: str


@dataclass(frozen=True, slots=True)
class PortConfig:
    """``interface gigabitEthernet 1/0`` of a virtual router (a physical port)."""
    name: str                                         # gigabitEthernet1/0
    address: ipaddress.IPv4Interface | None = None
    shutdown: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class VirtualRouterConfig:
    name: str
    route_distinguisher: str | None = None
    loopbacks: tuple[tuple[int, ipaddress.IPv4Interface], ...] = ()
    static_routes: tuple[StaticRouteConfig, ...] = ()
    radius_auth: tuple[RadiusServerConfig, ...] = ()
    radius_acct: tuple[RadiusServerConfig, ...] = ()
    aaa_ppp: str = "radius"                           # "radius" | "none"
    domain_map: tuple[tuple[str, str], ...] = ()      # (domain, router-name)
    profiles: tuple[ProfileConfig, ...] = ()
    targets: tuple[TargetConfig, ...] = ()
    max_buffered_triggers: int = 10
    ports: tuple[PortConfig, ...] = ()
    #: ``radius update-source-addr``: NAS-IP-Address of the VR's requests (None: the source)
    radius_update_source: ipaddress.IPv4Address | None = None
    #: ``l2tp source-address``: where the VR's tunnels start without Tunnel-Client-Endpoint
    l2tp_source: ipaddress.IPv4Address | None = None
    #: ``ip local pool NAME FIRST LAST``: subscriber addresses (dial-in)
    local_pools: tuple[tuple[str, ipaddress.IPv4Address, ipaddress.IPv4Address], ...] = ()

    def loopback(self, unit: int) -> ipaddress.IPv4Interface | None:
        for u, addr in self.loopbacks:
            if u == unit:
                return addr
        return None

    def profile(self, name: str) -> ProfileConfig | None:
        for p in self.profiles:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True, slots=True)
class L2tpDefaults:
    retransmissions: int = DEFAULT_MAX_RETRIES
    hello_interval: int = DEFAULT_HELLO_INTERVAL
    receive_window: int = DEFAULT_RECEIVE_WINDOW
    tunnel_idle_timeout: int = DEFAULT_TUNNEL_IDLE_TIMEOUT
    checksum: bool = False
    challenge: bool = True
    #: local L2TP UDP port; None keeps the address the engine was started with
    udp_port: int | None = None
    host_name: str | None = None


@dataclass(frozen=True, slots=True)
class EngineConfig:
    hostname: str = "host1"
    chassis: ChassisConfig = field(default_factory=ChassisConfig)
    l2tp: L2tpDefaults = field(default_factory=L2tpDefaults)
    vrs: tuple[VirtualRouterConfig, ...] = ()
    #: who may open tunnels to us (L2TP destination profiles); by default no one
    l2tp_acceptance: AcceptancePolicy = CLOSED
    #: the VRs by name, made with the configuration (the hot path looks VRs up per dial-out)
    _by_name: dict[str, VirtualRouterConfig] = field(init=False, repr=False, compare=False,
                                                     default_factory=dict)

    def __post_init__(self) -> None:
        for v in self.vrs:
            self._by_name.setdefault(v.name, v)        # the first of a name, as listed

    def vr(self, name: str) -> VirtualRouterConfig | None:
        return self._by_name.get(name)
