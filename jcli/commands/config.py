"""Global configuration commands (cli.md "Global configuration") and their sub-modes.
Handlers verify, then change the model; how each command is written back into the
configuration script is declared with it (settings below, the other writers at the end)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from engine.dialout.model import DEFAULT_PPP_AUTHENTICATION
from jcli.commands.base import vr_names
from jcli.config import model as m
from jcli.config.render import setting_writer
from jcli.registry import REGISTRY, CliError, command, renders

G = "config"


def profile_names(ctx):
    return sorted(ctx.vr_config.profiles)


def domain_names(ctx):
    return sorted(ctx.vr_config.domain_maps)


def vrf_names(ctx):
    return sorted(ctx.vr_config.vrfs)


def _ip_int(addr: str) -> int:
    """A dotted quad the A.B.C.D type already checked (ASCII, four octets) as an integer."""
    a, b, c, d = addr.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def _check_prefix(prefix: str, mask: str) -> None:
    net = _ip_int(prefix)
    msk = _ip_int(mask)
    if net & ~msk & 0xFFFFFFFF:
        raise CliError("Inconsistent address and mask")


# ------------------------------------------------------------------ settings helper
def setting(modes, words: str, helps: list[str], value: str | None, value_help: str | None,
            target, attr: str, default=None, *, has_default: bool = True):
    """Declare `WORDS VALUE`, `no WORDS [VALUE]` and (when a default exists) `default WORDS
    [VALUE]` for one model field. `target(ctx)` returns the object holding `attr`; a flag
    (value None) sets True / False. The setting is written back when it differs from `default`."""
    node_name, held_in = _WRITTEN_IN.get(target, (modes, None))
    if value is None:
        def set_flag(ctx):
            setattr(target(ctx), attr, True)
        command(modes, words, helps)(set_flag)
        renders(node_name, set_flag)(setting_writer(words, attr, False, held_in))

        def clear_flag(ctx):
            setattr(target(ctx), attr, False)
        command(modes, f"no {words}", ["Negate a command or set its defaults", *helps])(clear_flag)
        command(modes, f"default {words}", ["Restore a default", *helps])(clear_flag)
        return

    def set_value(ctx, value):
        setattr(target(ctx), attr, value)
    command(modes, f"{words} {value}$value", [*helps, value_help])(set_value)
    renders(node_name, set_value)(setting_writer(words, attr, default, held_in))

    def reset(ctx, value):
        setattr(target(ctx), attr, default)
    command(modes, f"no {words} [{value}$value]",
            ["Negate a command or set its defaults", *helps, value_help])(reset)
    if has_default:
        command(modes, f"default {words} [{value}$value]",
                ["Restore a default", *helps, value_help])(reset)


def check_dialout_writable(ctx) -> None:
    """Dial-out configuration commands fail while the dial-out service is restricted
    (dialout.md §7), before anything in the model changes."""
    refused = getattr(ctx.engine, "dialout_config_refused", None)
    reason = refused() if refused is not None else None
    if reason:
        raise CliError(reason)


def chassis_dialout(ctx):
    check_dialout_writable(ctx)
    return ctx.config.dialout


def dialout_vr(ctx):
    check_dialout_writable(ctx)
    return ctx.vr_config


def chassis_l2tp(ctx):
    return ctx.config.l2tp


def current_vr(ctx):
    return ctx.vr_config


def node(ctx):
    return ctx.node


# where a settings target is written back: (configuration node, its model object -> the target)
_WRITTEN_IN: dict[Callable[[Any], Any], tuple[str, Callable[[Any], Any] | None]] = {
    chassis_dialout: ("chassis", lambda cfg: cfg.dialout),
    chassis_l2tp: ("chassis", lambda cfg: cfg.l2tp),
    dialout_vr: ("virtual-router", None),
}


# ------------------------------------------------------------------ global
HOSTNAME_MAX = 64
DOMAIN_MAX = 64
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?\Z", re.ASCII)
_DOMAIN_RE = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\Z", re.ASCII)


def check_hostname(name: str) -> str:
    if len(name) > HOSTNAME_MAX or not _HOSTNAME_RE.match(name) or ".." in name:
        raise CliError(f"Invalid host name (letters, digits, '-', '_' and '.', at most "
                       f"{HOSTNAME_MAX} characters, starting and ending with a letter or digit)")
    return name


def check_domain(name: str) -> str:
    if len(name) > DOMAIN_MAX or not _DOMAIN_RE.match(name) or ".." in name:
        raise CliError(f"Invalid domain name (letters, digits, '-', '_' and '.', at most "
                       f"{DOMAIN_MAX} characters)")
    return name


@command(G, "hostname WORD$name", ["Set the system's network name", "Host name"])
def hostname(ctx, name):
    ctx.config.hostname = check_hostname(name)


@command(G, "no hostname [WORD$name]", ["Negate a command or set its defaults",
                                        "Set the system's network name", "Host name"])
def no_hostname(ctx, name):
    ctx.config.hostname = m.RouterConfig.hostname


@command(G, "virtual-router WORD$name", ["Create or enter a virtual router context",
                                          "Virtual router name"], complete={"name": vr_names})
def virtual_router(ctx, name):
    if ":" in name:
        raise CliError("Virtual router names may not contain ':'")
    vrs = ctx.config.virtual_routers
    if name not in vrs:
        vrs[name] = m.VirtualRouter(name)
    ctx.vr, ctx.vrf = name, None


@command(G, "no virtual-router WORD$name", ["Negate a command or set its defaults",
                                             "Delete a virtual router", "Virtual router name"],
         complete={"name": vr_names})
def no_virtual_router(ctx, name):
    if name == "default":
        raise CliError("The default virtual router cannot be deleted")
    if name not in ctx.config.virtual_routers:
        raise CliError(f'Virtual router "{name}" does not exist')
    del ctx.config.virtual_routers[name]
    if ctx.vr == name:
        ctx.vr, ctx.vrf = "default", None


# ------------------------------------------------------------------ ip vrf / rd
@command(G, "ip vrf WORD$name", ["Internet Protocol", "Configure a VRF", "VRF name"],
         complete={"name": vrf_names})
def ip_vrf(ctx, name):
    vrfs = ctx.vr_config.vrfs
    vrf = vrfs.get(name)
    if vrf is None:
        vrf = vrfs[name] = m.Vrf(name)
    ctx.enter("config-vrf", vrf)


@command(G, "no ip vrf WORD$name", ["Negate a command or set its defaults", "Internet Protocol",
                                     "Delete a VRF", "VRF name"], complete={"name": vrf_names})
def no_ip_vrf(ctx, name):
    if ctx.vr_config.vrfs.pop(name, None) is None:
        raise CliError(f'VRF "{name}" does not exist')


setting("config-vrf", "rd", ["Route distinguisher"], "RD", "ASN:NN or A.B.C.D:NN", node, "rd")


# ------------------------------------------------------------------ interface loopback
@command(G, "interface loopback <0-32767>$number",
         ["Select an interface to configure", "Loopback interface", "Loopback number"])
def interface_loopback(ctx, number):
    los = ctx.vr_config.loopbacks
    lo = los.get(number)
    if lo is None:
        lo = los[number] = m.Loopback(number)
    ctx.enter("config-if", lo)


@command(G, "no interface loopback <0-32767>$number",
         ["Negate a command or set its defaults", "Delete an interface", "Loopback interface",
          "Loopback number"])
def no_interface_loopback(ctx, number):
    if ctx.vr_config.loopbacks.pop(number, None) is None:
        raise CliError(f"Interface loopback {number} does not exist")


@command("config-if", "ip address A.B.C.D$address MASK$mask",
         ["Internet Protocol", "Set the IP address of the interface", "IP address", "Subnet mask"])
def if_ip_address(ctx, address, mask):
    ctx.node.address, ctx.node.mask = address, mask


@command("config-if", "no ip address [A.B.C.D$address MASK$mask]",
         ["Negate a command or set its defaults", "Internet Protocol",
          "Remove the IP address of the interface", "IP address", "Subnet mask"])
def no_if_ip_address(ctx, address, mask):
    ctx.node.address, ctx.node.mask = None, None


# ------------------------------------------------------------------ static routes
ROUTE_HELP = ["Internet Protocol", "Static route", "Destination prefix", "Destination mask",
              "Next-hop address", "Discard traffic (null interface)", "Null interface number"]


@command(G, "ip route A.B.C.D$prefix MASK$mask {A.B.C.D$gateway | null$null 0} "
            "[<1-255>$distance] [tag <0-4294967295>$tag]",
         [*ROUTE_HELP, "Administrative distance", "Route tag", "Tag value"])
def ip_route(ctx, prefix, mask, gateway, null, distance, tag):
    _check_prefix(prefix, mask)
    r = m.StaticRoute(prefix, mask, gateway, distance, tag)
    ctx.vr_config.routes[r.key] = r


@command(G, "no ip route A.B.C.D$prefix MASK$mask [A.B.C.D$gateway | null$null 0] "
            "[<1-255>$distance] [tag <0-4294967295>$tag]",
         ["Negate a command or set its defaults", *ROUTE_HELP, "Administrative distance",
          "Route tag", "Tag value"])
def no_ip_route(ctx, prefix, mask, gateway, null, distance, tag):
    routes = ctx.vr_config.routes
    if gateway is None and null is None:
        keys = [k for k in routes if k[0] == prefix and k[1] == mask]
    else:
        keys = [(prefix, mask, gateway or "null0")]
    found = False
    for k in keys:
        if routes.pop(k, None) is not None:
            found = True
    if not found:
        raise CliError("Route does not exist")


# ------------------------------------------------------------------ RADIUS servers
@command(G, "radius {authentication|accounting}$kind server A.B.C.D$address",
         ["RADIUS client configuration", "Authentication server", "Accounting server",
          "Configure a RADIUS server", "Server address"])
def radius_server(ctx, kind, address):
    vr = ctx.vr_config
    for s in vr.radius_servers:
        if s.kind == kind and s.address == address:
            break
    else:
        s = m.RadiusServer(address, kind)
        vr.radius_servers.append(s)
    ctx.enter("config-radius", s)


@command(G, "no radius {authentication|accounting}$kind server A.B.C.D$address",
         ["Negate a command or set its defaults", "RADIUS client configuration",
          "Authentication server", "Accounting server", "Delete a RADIUS server", "Server address"])
def no_radius_server(ctx, kind, address):
    vr = ctx.vr_config
    before = len(vr.radius_servers)
    vr.radius_servers = [s for s in vr.radius_servers if not (s.kind == kind and s.address == address)]
    if len(vr.radius_servers) == before:
        raise CliError(f"RADIUS {kind} server {address} does not exist")


R = "config-radius"
setting(R, "udp-port", ["UDP port of the server"], "<1-65535>", "Port number", node, "udp_port")
setting(R, "key", ["Shared secret"], "WORD", "Secret", node, "key")
setting(R, "timeout", ["Seconds to wait for a reply"], "<1-1000>", "Seconds", node, "timeout",
        m.RADIUS_TIMEOUT)
setting(R, "retransmit", ["Retransmissions before failover"], "<0-100>", "Retransmissions", node,
        "retransmit", m.RADIUS_RETRANSMIT)
setting(R, "deadtime", ["Minutes a failed server is skipped"], "<0-1440>", "Minutes", node,
        "deadtime", m.RADIUS_DEADTIME)
setting(R, "max-sessions", ["Maximum outstanding requests (more wait in a queue)"],
        "<1-65535>", "Requests", node, "max_sessions")

_REQUIRE_MA = ["Drop Access replies without a Message-Authenticator (CVE-2024-3596)"]


@command(R, "require-message-authenticator", _REQUIRE_MA)
def require_ma(ctx):
    ctx.node.require_message_authenticator = True


@command(R, "no require-message-authenticator",
         ["Negate a command or set its defaults", *_REQUIRE_MA])
def no_require_ma(ctx):
    ctx.node.require_message_authenticator = False


@command(R, "default require-message-authenticator", ["Restore a default", *_REQUIRE_MA])
def default_require_ma(ctx):
    ctx.node.require_message_authenticator = m.RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR


# ------------------------------------------------------------------ AAA
@command(G, "aaa authentication ppp default {radius|none}$method",
         ["Authentication, authorization and accounting", "Authentication", "PPP authentication",
          "Default method list", "Use RADIUS", "No authentication"])
def aaa_auth(ctx, method):
    ctx.vr_config.aaa_ppp_default = method


@command(G, "no aaa authentication ppp default [radius|none]$method",
         ["Negate a command or set its defaults", "Authentication, authorization and accounting",
          "Authentication", "PPP authentication", "Default method list", "Use RADIUS",
          "No authentication"])
def no_aaa_auth(ctx, method):
    ctx.vr_config.aaa_ppp_default = None


@command(G, "aaa domain-map WORD$domain",
         ["Authentication, authorization and accounting", "Map a domain to a virtual router",
          "Domain name"], complete={"domain": domain_names})
def aaa_domain_map(ctx, domain):
    check_domain(domain)
    maps = ctx.vr_config.domain_maps
    dm = maps.get(domain)
    if dm is None:
        dm = maps[domain] = m.DomainMap(domain)
    ctx.enter("config-domain-map", dm)


@command(G, "no aaa domain-map WORD$domain",
         ["Negate a command or set its defaults", "Authentication, authorization and accounting",
          "Delete a domain map", "Domain name"], complete={"domain": domain_names})
def no_aaa_domain_map(ctx, domain):
    if ctx.vr_config.domain_maps.pop(domain, None) is None:
        raise CliError(f'Domain map "{domain}" does not exist')


setting("config-domain-map", "router-name", ["Virtual router that authenticates the domain"],
        "WORD", "Virtual router name", node, "router_name")


# ------------------------------------------------------------------ profiles
@command(G, "profile WORD$name", ["Configure a profile", "Profile name"],
         complete={"name": profile_names})
def profile(ctx, name):
    profiles = ctx.vr_config.profiles
    p = profiles.get(name)
    if p is None:
        p = profiles[name] = m.Profile(name)
    ctx.enter("config-profile", p)


@command(G, "no profile WORD$name", ["Negate a command or set its defaults", "Delete a profile",
                                      "Profile name"], complete={"name": profile_names})
def no_profile(ctx, name):
    users = [f"{t.prefix} {t.mask}" for t in ctx.vr_config.targets.values() if t.profile == name]
    if users:
        raise CliError(f'Profile "{name}" is used by dial-out target {users[0]}'
                       + (f" and {len(users) - 1} more" if len(users) > 1 else ""))
    if ctx.vr_config.profiles.pop(name, None) is None:
        raise CliError(f'Profile "{name}" does not exist')


P = "config-profile"


@command(P, "ppp authentication {pap$first | chap$first | pap$first chap$second | chap$first pap$second}",
         ["Point-to-Point Protocol", "Authentication protocols to require from the peer",
          "PAP", "CHAP", "PAP", "then CHAP", "CHAP", "then PAP"])
def ppp_authentication(ctx, first, second):
    ctx.node.ppp_authentication = (first,) if second is None else (first, second)


@command(P, "no ppp authentication", ["Negate a command or set its defaults",
                                      "Point-to-Point Protocol",
                                      "Require the default of the peer ("
                                      + " ".join(DEFAULT_PPP_AUTHENTICATION) + ")"])
def no_ppp_authentication(ctx):
    ctx.node.ppp_authentication = ()


setting(P, "ppp authentication virtual-router",
        ["Point-to-Point Protocol", "Authentication", "Virtual router that authenticates"],
        "WORD", "Virtual router name", node, "ppp_authentication_vr")
setting(P, "ppp keepalive", ["Point-to-Point Protocol", "LCP echo interval"], "<0-3600>",
        "Seconds (0 = off)", node, "ppp_keepalive")
setting(P, "ppp mru", ["Point-to-Point Protocol", "Maximum receive unit"], "<64-65535>", "Bytes",
        node, "ppp_mru")
setting(P, "ip unnumbered loopback", ["Internet Protocol", "Borrow the address of an interface",
                                      "Loopback interface"], "<0-32767>", "Loopback number", node,
        "ip_unnumbered_loopback")
setting(P, "ip inactivity-timer", ["Internet Protocol", "Disconnect after inactivity"],
        "<0-86400>", "Seconds (0 = off)", node, "ip_inactivity_timer")
setting(P, "ip mtu", ["Internet Protocol", "Maximum transmission unit"], "<64-65535>", "Bytes",
        node, "ip_mtu")


# ------------------------------------------------------------------ L2TP dial-out
L2 = ["Layer 2 Tunneling Protocol", "L2TP dial-out"]
setting(G, "l2tp dial-out max-buffered-triggers", [*L2, "Trigger buffer of the virtual router"],
        "<0-50>", "Packets", dialout_vr, "max_buffered_triggers", m.MAX_BUFFERED_TRIGGERS)


@command(G, "l2tp dial-out {target|route} A.B.C.D$prefix MASK$mask domain WORD$domain "
            "profile WORD$profile",
         [*L2, "Dial-out target (dial-out route)", "Dial-out route (same as target)",
          "Target prefix", "Target mask", "Domain used for authorization", "Domain name",
          "Profile of the dynamic interface", "Profile name"],
         complete={"profile": profile_names})
def dialout_target(ctx, prefix, mask, domain, profile):
    _check_prefix(prefix, mask)
    check_domain(domain)
    if profile not in ctx.vr_config.profiles:
        raise CliError(f'Profile "{profile}" does not exist')
    check_dialout_writable(ctx)
    targets = ctx.vr_config.targets
    t = m.DialoutTarget(prefix, mask, domain, profile)
    old = targets.get((prefix, mask))
    if old is not None and old != t:
        raise CliError(f"Dial-out target {prefix} {mask} exists with other parameters; "
                       f"remove it first (no l2tp dial-out target {prefix} {mask})")
    targets[(prefix, mask)] = t


@command(G, "no l2tp dial-out {target|route} A.B.C.D$prefix MASK$mask "
            "[domain WORD$domain profile WORD$profile]",
         ["Negate a command or set its defaults", *L2, "Dial-out target (dial-out route)",
          "Dial-out route (same as target)", "Target prefix", "Target mask",
          "Domain used for authorization", "Domain name", "Profile of the dynamic interface",
          "Profile name"])
def no_dialout_target(ctx, prefix, mask, domain, profile):
    check_dialout_writable(ctx)
    if ctx.vr_config.targets.pop((prefix, mask), None) is None:
        raise CliError(f"Dial-out target {prefix} {mask} does not exist")


setting(G, "l2tp dial-out connect-timeout", [*L2, "Connecting timer (chassis)"], "<30-3600>",
        "Seconds", chassis_dialout, "connect_timeout", m.CONNECT_TIMEOUT)
setting(G, "l2tp dial-out dormant-timeout", [*L2, "Dormant timer (chassis)"], "<0-3600>",
        "Seconds", chassis_dialout, "dormant_timeout", m.DORMANT_TIMEOUT)
setting(G, "l2tp dial-out max-sessions", [*L2, "Maximum dial-out sessions (chassis)"],
        "<1-64000>", "Sessions", chassis_dialout, "max_sessions", m.MAX_SESSIONS)
setting(G, "l2tp dial-out max-connecting", [*L2, "Maximum sessions connecting at once (chassis)"],
        "<1-64000>", "Sessions", chassis_dialout, "max_connecting", m.MAX_CONNECTING)

L = ["Layer 2 Tunneling Protocol"]
setting(G, "l2tp destination lockout-timeout", [*L, "L2TP destinations", "Lockout after failure"],
        "<60-3600>", "Seconds", chassis_l2tp, "destination_lockout_timeout", m.LOCKOUT_TIMEOUT)
setting(G, "l2tp failover-within-preference", [*L, "Fail over between tunnels of equal preference"],
        None, None, chassis_l2tp, "failover_within_preference")
setting(G, "l2tp weighted-load-balancing", [*L, "Weighted load balancing between tunnels"],
        None, None, chassis_l2tp, "weighted_load_balancing")
setting(G, "l2tp retransmission", [*L, "Control message retransmissions"], "<2-7>", "Retries",
        chassis_l2tp, "retransmission", m.RETRANSMISSION)
setting(G, "l2tp hello-interval", [*L, "Hello interval"], "<0-3600>", "Seconds (0 = off)",
        chassis_l2tp, "hello_interval", m.HELLO_INTERVAL)
setting(G, "l2tp receive-window-size", [*L, "Receive window size"], "<1-65535>", "Messages",
        chassis_l2tp, "receive_window_size", m.RECEIVE_WINDOW_SIZE)
setting(G, "l2tp tunnel-idle-timeout", [*L, "Close idle tunnels after"], "<0-86400>",
        "Seconds (0 = close at once)", chassis_l2tp, "tunnel_idle_timeout", m.TUNNEL_IDLE_TIMEOUT)
setting(G, "l2tp tunnel max-sessions", [*L, "Tunnel settings", "Maximum sessions per tunnel; "
        "further calls to the same endpoint open another tunnel"], "<0-65535>",
        "Sessions (0 = no limit)", chassis_l2tp, "tunnel_max_sessions", m.TUNNEL_MAX_SESSIONS)
setting(G, "l2tp checksum", [*L, "UDP checksums on data messages"], None, None, chassis_l2tp,
        "checksum")
setting(G, "l2tp disable challenge", [*L, "Disable a function", "Tunnel authentication challenge"],
        None, None, chassis_l2tp, "disable_challenge")
setting(G, "l2tp host-name", [*L, "Host name sent to peers"], "WORD", "Host name", chassis_l2tp,
        "host_name")
setting(G, "l2tp udp-port", [*L, "Local UDP port"],
        "<1-65535>", "Port", chassis_l2tp, "udp_port", m.L2TP_UDP_PORT)


# ------------------------------------------------------------------ written configuration
# The commands above that are not `setting`s, written back per configuration node (a node is
# written in the order its commands are declared).
write = REGISTRY.write


@renders("chassis", hostname)
def _write_hostname(cfg: m.RouterConfig) -> Iterator[str]:
    yield f"hostname {cfg.hostname}"


@renders("config-vrf", ip_vrf)
def _write_vrf_enter(v: m.Vrf) -> Iterator[str]:
    yield f"ip vrf {v.name}"


@renders("virtual-router", ip_vrf)
def _write_vrfs(vr: m.VirtualRouter) -> Iterator[str]:
    for v in vr.vrfs.values():
        yield from write("config-vrf", v)


@renders("config-if", interface_loopback)
def _write_loopback_enter(lo: m.Loopback | m.Port) -> Iterator[str]:
    if isinstance(lo, m.Loopback):            # config-if also holds ports (commands.interfaces)
        yield f"interface loopback {lo.number}"


@renders("config-if", if_ip_address)
def _write_if_address(lo: m.Loopback | m.Port) -> Iterator[str]:
    if lo.address is not None:
        yield f"ip address {lo.address} {lo.mask}"


@renders("virtual-router", interface_loopback)
def _write_loopbacks(vr: m.VirtualRouter) -> Iterator[str]:
    for lo in sorted(vr.loopbacks.values(), key=lambda x: x.number):
        yield from write("config-if", lo)


@renders("virtual-router", ip_route)
def _write_routes(vr: m.VirtualRouter) -> Iterator[str]:
    for r in vr.routes.values():
        yield (f"ip route {r.prefix} {r.mask} {r.gateway if r.gateway else 'null 0'}"
               + (f" {r.distance}" if r.distance is not None else "")
               + (f" tag {r.tag}" if r.tag is not None else ""))


@renders("config-radius", radius_server)
def _write_radius_enter(s: m.RadiusServer) -> Iterator[str]:
    yield f"radius {s.kind} server {s.address}"


@renders("config-radius", require_ma)
def _write_require_ma(s: m.RadiusServer) -> Iterator[str]:
    if s.require_message_authenticator != m.RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR:
        yield f"{'' if s.require_message_authenticator else 'no '}require-message-authenticator"


@renders("virtual-router", radius_server)
def _write_radius_servers(vr: m.VirtualRouter) -> Iterator[str]:
    for s in vr.radius_servers:
        yield from write("config-radius", s)


@renders("virtual-router", aaa_auth)
def _write_aaa(vr: m.VirtualRouter) -> Iterator[str]:
    if vr.aaa_ppp_default is not None:
        yield f"aaa authentication ppp default {vr.aaa_ppp_default}"


@renders("config-domain-map", aaa_domain_map)
def _write_domain_map_enter(dm: m.DomainMap) -> Iterator[str]:
    yield f"aaa domain-map {dm.domain}"


@renders("virtual-router", aaa_domain_map)
def _write_domain_maps(vr: m.VirtualRouter) -> Iterator[str]:
    for dm in vr.domain_maps.values():
        yield from write("config-domain-map", dm)


@renders("config-profile", profile)
def _write_profile_enter(p: m.Profile) -> Iterator[str]:
    yield f"profile {p.name}"


@renders("config-profile", ppp_authentication)
def _write_ppp_authentication(p: m.Profile) -> Iterator[str]:
    if p.ppp_authentication:
        yield "ppp authentication " + " ".join(p.ppp_authentication)


@renders("virtual-router", profile)
def _write_profiles(vr: m.VirtualRouter) -> Iterator[str]:
    for p in vr.profiles.values():
        yield from write("config-profile", p)


@renders("virtual-router", dialout_target)
def _write_targets(vr: m.VirtualRouter) -> Iterator[str]:
    for t in vr.targets.values():
        yield f"l2tp dial-out target {t.prefix} {t.mask} domain {t.domain} profile {t.profile}"
