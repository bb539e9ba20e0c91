"""Dial-out values exchanged with the integration layer: configuration, AAA results, the
requests the service emits, trace lines and the chassis/VR level states (dialout.md §7)."""
from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from engine.dialout.causes import TerminateCause
from engine.dialout.selection import TunnelDef
from engine.dialout.targets import TargetConfig
from engine.types import Route, as_address

IPv4 = ipaddress.IPv4Address
Net = ipaddress.IPv4Network

# The authentication the LNS requires of the CPE when a target's profile names none: dial-out
# authenticates both ways (the LNS to the CPE with the grant's credentials, the CPE to the LNS
# with this), so a profile without `ppp authentication` still authenticates the peer.
DEFAULT_PPP_AUTHENTICATION: tuple[str, ...] = ("chap",)
# A network as the integration may give it: object, "a.b.c.d/len" text, or (prefix, len, ...).
NetLike = ipaddress.IPv4Network | str | tuple[object, ...]
AddrLike = ipaddress.IPv4Address | str | int


# ============================================================================ configuration
TUNNEL_MAX_SESSIONS = 0


class ConfigError(ValueError):
    """A dial-out configuration that cannot be applied (out of range, service restricted)."""


@dataclass(frozen=True, slots=True)
class ChassisConfig:
    connect_timeout: float = 60.0          # l2tp dial-out connect-timeout (30-3600)
    dormant_timeout: float = 300.0         # l2tp dial-out dormant-timeout (0-3600)
    max_sessions: int = 64000              # l2tp dial-out max-sessions
    max_connecting: int = 1000             # l2tp dial-out max-connecting
    lockout_timeout: float = 300.0         # l2tp destination lockout-timeout (60-3600)
    failover_within_preference: bool = False
    weighted_load_balancing: bool = False
    #: l2tp tunnel max-sessions (0-65535, 0 = no limit): a tunnel to an endpoint that carries
    #: this many sessions is full and the next call to it opens another tunnel
    tunnel_max_sessions: int = TUNNEL_MAX_SESSIONS


@dataclass(frozen=True, slots=True)
class VrConfig:
    name: str
    targets: tuple[TargetConfig, ...] = ()
    max_buffered_triggers: int = 10        # l2tp dial-out max-buffered-triggers (0-50)
    route_distinguisher: str | None = None  # MPLS RD, e.g. "0.0.0.0:65000"
    # Names of the VR's profiles; a target naming another is down.  None: the integration
    # does not manage profiles (no target is down for its profile).
    profiles: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class DialoutConfig:
    chassis: ChassisConfig = ChassisConfig()
    vrs: tuple[VrConfig, ...] = ()


def validate_config(config: DialoutConfig) -> None:
    c = config.chassis
    if not 30 <= c.connect_timeout <= 3600:
        raise ConfigError(f"connect-timeout {c.connect_timeout} out of range 30-3600")
    if not 0 <= c.dormant_timeout <= 3600:
        raise ConfigError(f"dormant-timeout {c.dormant_timeout} out of range 0-3600")
    if not 60 <= c.lockout_timeout <= 3600:
        raise ConfigError(f"lockout-timeout {c.lockout_timeout} out of range 60-3600")
    if c.max_sessions < 1 or c.max_connecting < 1:
        raise ConfigError("max-sessions and max-connecting must be at least 1")
    if not 0 <= c.tunnel_max_sessions <= 65535:
        raise ConfigError(f"tunnel max-sessions {c.tunnel_max_sessions} out of range 0-65535")
    seen: set[str] = set()
    for v in config.vrs:
        if v.name in seen:
            raise ConfigError(f"virtual router {v.name} configured twice")
        seen.add(v.name)
        if not 0 <= v.max_buffered_triggers <= 50:
            raise ConfigError(f"max-buffered-triggers {v.max_buffered_triggers} out of range 0-50")
        prefixes = [t.prefix for t in v.targets]
        if len(set(prefixes)) != len(prefixes):
            raise ConfigError(f"duplicate dial-out target in virtual router {v.name}")


# ============================================================================ AAA results
@dataclass(frozen=True, slots=True)
class CallParams:
    """Call and PPP parameters of a grant (ERX attributes of the first Access-Accept)."""
    dial_out_number: str                   # Called Number AVP (required)
    min_bps: int = 0
    max_bps: int = 64000
    bearer_type: int = 0                   # 0 none, 1 analog, 2 digital
    ppp_username: str | None = None        # what the LNS presents to the CPE
    ppp_password: str | None = None
    ppp_auth_protocol: int = 0             # 0 none, 1 PAP, 2 CHAP, 3 PAP-CHAP, 4 CHAP-PAP


@dataclass(frozen=True, slots=True)
class Grant:
    tunnels: tuple[TunnelDef, ...]
    call: CallParams


@dataclass(frozen=True, slots=True)
class Denial:
    reason: str = "access-reject"


AuthResult = Grant | Denial


# ============================================================================ keys, requests
@dataclass(frozen=True, slots=True)
class SessionKey:
    vr: str
    dst: ipaddress.IPv4Address

    def __str__(self) -> str:
        return f"{self.vr}/{self.dst}"


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """Send the dial-out Access-Request (Service-Type Outbound, no password)."""
    request_id: int
    session_key: SessionKey
    vr: str
    user_name: str                          # [RD/]dest@domain
    domain: str
    profile: str


@dataclass(frozen=True, slots=True)
class OpenTunnel:
    """Open an L2TP control connection to ``tunnel.server_endpoint`` (SCCRQ)."""
    tunnel_ref: int
    vr: str
    tunnel: TunnelDef


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """Place an outgoing call (OCRQ) on the tunnel ``tunnel_ref`` (queued while it connects)."""
    call_id: int
    session_key: SessionKey
    tunnel_ref: int
    tunnel: TunnelDef
    call: CallParams


@dataclass(frozen=True, slots=True)
class StartPpp:
    """Create the dynamic PPP interface ``ifname`` over the established call and open LCP."""
    call_id: int
    session_key: SessionKey
    ifname: str
    profile: str
    username: str | None
    password: str | None
    auth_protocol: int


@dataclass(frozen=True, slots=True)
class InstallRoutes:
    vr: str
    routes: tuple[Route, ...]
    ifname: str | None                      # session interface; None for dial-out routes
    session_key: SessionKey | None = None
    local_ip: ipaddress.IPv4Address | None = None
    peer_ip: ipaddress.IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class RemoveRoutes:
    vr: str
    routes: tuple[Route, ...]
    ifname: str | None
    session_key: SessionKey | None = None


@dataclass(frozen=True, slots=True)
class ForwardPackets:
    """Send these trigger packets, in order, over the session's PPP link (not through the RIB)."""
    vr: str
    ifname: str | None
    packets: tuple[bytes, ...]
    session_key: SessionKey


@dataclass(frozen=True, slots=True)
class TearDown:
    """End the call (PPP terminate + CDN) and destroy the PPP interface if any."""
    call_id: int
    session_key: SessionKey
    tunnel_ref: int | None
    ifname: str | None
    reason: str
    cause: TerminateCause = TerminateCause.NAS_REQUEST


@dataclass(frozen=True, slots=True)
class CloseTunnel:
    """No session uses the tunnel any more: StopCCN."""
    tunnel_ref: int
    reason: str


Request = (AuthorizeRequest | OpenTunnel | PlaceCall | StartPpp | InstallRoutes | RemoveRoutes
           | ForwardPackets | TearDown | CloseTunnel)


@dataclass(frozen=True, slots=True)
class DialoutTrace:
    """One ``debug l2tp dial-out`` line.  ``elapsed`` is the time since the trigger that created
    the line's session (seconds), ``None`` for lines not about a session."""
    time: float
    vr: str
    destination: ipaddress.IPv4Address | None
    line: str
    elapsed: float | None = None


# ============================================================================ levels
class ChassisState(str, enum.Enum):
    INIT_INCOMPLETE = "initIncomplete"
    IN_SERVICE = "inService"
    RESTRICTED = "restricted"

    def __str__(self) -> str:
        return self.value


class VrState(str, enum.Enum):
    INIT_PENDING = "initPending"
    INIT_FAILED = "initFailed"
    DOWN = "down"
    IN_SERVICE = "inService"

    def __str__(self) -> str:
        return self.value


def access_routes_from(*, framed_routes: Iterable[NetLike] = (),
                       framed_ip: AddrLike | None = None,
                       framed_netmask: AddrLike | None = None,
                       peer_ip: AddrLike | None = None) -> tuple[ipaddress.IPv4Network, ...]:
    """Access routes per dialout.md §6: Framed-Route, else Framed-IP-Address/Netmask, else the
    IPCP peer address /32.  ``framed_routes`` items are networks, strings or tuples whose first
    two items are (prefix, prefixlen)."""
    nets: list[ipaddress.IPv4Network] = []
    for r in framed_routes:
        if isinstance(r, tuple):
            nets.append(ipaddress.IPv4Network(f"{r[0]}/{r[1]}", strict=False))
        else:
            nets.append(ipaddress.IPv4Network(r, strict=False))
    if nets:
        return tuple(nets)
    if framed_ip is not None:
        mask = framed_netmask if framed_netmask is not None else "255.255.255.255"
        return (ipaddress.IPv4Network(f"{framed_ip}/{mask}", strict=False),)
    if peer_ip is not None:
        # from the integer, IPv4Network makes the /32 without a string parse
        return (ipaddress.IPv4Network(int(as_address(peer_ip))),)
    return ()

