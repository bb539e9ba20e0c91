"""LNS configuration: which LACs may open tunnels to us (`l2tp destination profile`, its
`remote host` entries), the half-open tunnel caps, and their show command."""
from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from jcli.commands.config import chassis_l2tp, setting
from jcli.config import model as m
from jcli.registry import REGISTRY, CliError, command, renders
from jcli.views import ShowResult

G = "config"
DP = "config-l2tp-dest-profile"
DH = "config-l2tp-dest-profile-host"
SHOW = "Show running system information"
L = ["Layer 2 Tunneling Protocol"]
NO = "Negate a command or set its defaults"

#: the destination profile edited in a session (the host sub-mode falls back to the profile
#: mode for `remote host ...` lines, where the mode's node is not carried over)
_editing: weakref.WeakKeyDictionary[Any, m.DestinationProfile] = weakref.WeakKeyDictionary()


def profile_names(ctx: Any) -> list[str]:
    return sorted(ctx.config.l2tp_destinations)


def _profile(ctx: Any) -> m.DestinationProfile:
    node = ctx.node
    if isinstance(node, m.DestinationProfile):
        return node
    p = _editing.get(ctx)
    if p is None or ctx.config.l2tp_destinations.get(p.name) is not p:
        raise CliError("No L2TP destination profile is being edited")
    return p


def _host(ctx: Any) -> m.DestinationHost:
    if not isinstance(ctx.node, m.DestinationHost):
        raise CliError("No remote host is being edited")
    return ctx.node


def _check_vr(ctx: Any, vr: str | None) -> str:
    vr = vr or "default"
    if vr not in ctx.config.virtual_routers:
        raise CliError(f'Virtual router "{vr}" does not exist')
    if vr != "default":
        # the L2TP socket lives in virtual router default: a LAC of another one cannot reach it
        raise CliError(f'L2TP tunnels terminate in virtual router default only, not "{vr}"')
    return vr


# the tunnel-opening caps, written before the destination profiles
setting(G, "l2tp max-half-open-tunnels", [*L, "Tunnels being opened by LACs at once"],
        "<1-65535>", "Tunnels (total)", chassis_l2tp, "max_half_open_tunnels",
        m.MAX_HALF_OPEN_TUNNELS)
setting(G, "l2tp max-half-open-tunnels per-source",
        [*L, "Tunnels being opened by LACs at once", "From one source address"],
        "<1-65535>", "Tunnels", chassis_l2tp, "max_half_open_tunnels_per_source",
        m.MAX_HALF_OPEN_TUNNELS_PER_SOURCE)


# ------------------------------------------------------------------ destination profiles
@command(G, "l2tp destination profile WORD$name ip address A.B.C.D$addr [virtual-router WORD$vr]",
         [*L, "L2TP destinations", "Destination profile (a LAC allowed to open tunnels)",
          "Profile name", "Internet Protocol", "Address of the LAC", "LAC address",
          "Virtual router of the tunnels", "Virtual router name"],
         complete={"name": profile_names})
def destination_profile(ctx: Any, name: str, addr: str, vr: str | None) -> None:
    vr = _check_vr(ctx, vr)
    dests = ctx.config.l2tp_destinations
    p = dests.get(name)
    if p is not None and (p.address, p.virtual_router) != (addr, vr):
        raise CliError(f'L2TP destination profile "{name}" exists for {p.address} '
                       f"(virtual router {p.virtual_router}); remove it first")
    if p is None:
        other = next((d for d in dests.values() if d.address == addr), None)
        if other is not None:
            raise CliError(f'Address {addr} already has L2TP destination profile "{other.name}"')
        p = dests[name] = m.DestinationProfile(name, addr, vr)
    _editing[ctx] = p
    ctx.enter(DP, p)


@command(G, "no l2tp destination profile WORD$name",
         [NO, *L, "L2TP destinations", "Destination profile", "Profile name"],
         complete={"name": profile_names})
def no_destination_profile(ctx: Any, name: str) -> None:
    if ctx.config.l2tp_destinations.pop(name, None) is None:
        raise CliError(f'L2TP destination profile "{name}" does not exist')


@command(DP, "remote host WORD$host", ["Remote host (LAC) of this destination",
                                        "Host name the LAC sends (or default: any other host)",
                                        "Host name or default"])
def remote_host(ctx: Any, host: str) -> None:
    p = _profile(ctx)
    h = p.hosts.get(host)
    if h is None:
        if len(host) > 64:
            raise CliError("Host names are at most 64 characters")
        h = p.hosts[host] = m.DestinationHost(host)
    _editing[ctx] = p
    ctx.enter(DH, h)


@command(DP, "no remote host WORD$host", [NO, "Remote host (LAC) of this destination",
                                          "Delete a remote host", "Host name or default"])
def no_remote_host(ctx: Any, host: str) -> None:
    if _profile(ctx).hosts.pop(host, None) is None:
        raise CliError(f'Remote host "{host}" does not exist')


setting(DH, "tunnel password", ["Tunnel", "Tunnel authentication secret (challenge both ways)"],
        "WORD", "Password", _host, "tunnel_password")
setting(DH, "local host-name", ["Local end of the tunnel", "Host name sent to this LAC"],
        "WORD", "Host name", _host, "local_host_name")
setting(DH, "max-sessions", ["Sessions per tunnel of this host"], "<1-65535>", "Sessions",
        _host, "max_sessions")
setting(DH, "enable-receive-window-size", ["Receive window size advertised to this host"],
        "<1-65535>", "Messages", _host, "receive_window_size")


setting(DH, "profile", ["Dynamic interface profile of incoming calls"], "WORD", "Profile name",
        _host, "profile")


@command(DH, "local ip address A.B.C.D$addr", ["Local end of the tunnel", "Internet Protocol",
                                                "Local address of the tunnel", "Local address"])
def host_local_address(ctx: Any, addr: str) -> None:
    raise CliError("The tunnel's local address is the L2TP socket's (l2tp udp-port); "
                   "per-host local addresses are not supported")


# ------------------------------------------------------------------ written configuration
@renders("chassis", destination_profile)
def _write_destination_profiles(cfg: m.RouterConfig) -> Iterator[str]:
    for d in cfg.l2tp_destinations.values():
        yield from REGISTRY.write(DP, d)


@renders(DP, destination_profile)
def _write_destination_enter(d: m.DestinationProfile) -> Iterator[str]:
    vr = f" virtual-router {d.virtual_router}" if d.virtual_router != "default" else ""
    yield f"l2tp destination profile {d.name} ip address {d.address}{vr}"


@renders(DP, remote_host)
def _write_remote_hosts(d: m.DestinationProfile) -> Iterator[str]:
    for h in d.hosts.values():
        yield from REGISTRY.write(DH, h)


@renders(DH, remote_host)
def _write_remote_host_enter(h: m.DestinationHost) -> Iterator[str]:
    yield f"remote host {h.name}"


# ------------------------------------------------------------------ show
def _profile_data(p: m.DestinationProfile, tunnels: dict[str, int]) -> dict[str, Any]:
    return {"name": p.name, "address": p.address, "virtual_router": p.virtual_router,
            "tunnels": tunnels.get(p.name, 0),
            "hosts": [{"name": h.name, "tunnel_password": h.tunnel_password is not None,
                       "local_host_name": h.local_host_name, "max_sessions": h.max_sessions,
                       "receive_window_size": h.receive_window_size, "profile": h.profile}
                      for h in p.hosts.values()]}


def _render_profiles(data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    hosts = 0
    for d in data["profiles"]:
        out += [f"L2TP destination profile {d['name']}",
                "  Destination address",
                "    Transport ipUdp",
                f"    Virtual router {d['virtual_router']}",
                f"    Peer address {d['address']}",
                f"  Tunnels {d['tunnels']}"]
        for h in d["hosts"]:
            hosts += 1
            out += [f"  Host profile attributes for remote host {h['name']}",
                    f"    Tunnel password is {'configured' if h['tunnel_password'] else 'not set'}",
                    f"    Local host name {h['local_host_name'] or '(l2tp host-name)'}",
                    "    Maximum sessions "
                    + (str(h["max_sessions"]) if h["max_sessions"] is not None else "unlimited"),
                    "    Receive window size "
                    + (str(h["receive_window_size"]) if h["receive_window_size"] is not None
                       else "(l2tp receive-window-size)"),
                    f"    Dynamic interface profile {h['profile']}" if h.get("profile")
                    else "    Incoming calls refused (no dynamic interface profile)"]
        if not d["hosts"]:
            out.append("  No remote host: every tunnel from this address is refused")
    out.append(f"{hosts} L2TP host profile{'' if hosts == 1 else 's'} found")
    h = data["half_open"]
    out.append(f"Tunnels being opened: {'-' if h['now'] is None else h['now']} "
               f"(limit {h['limit']}, {h['per_source']} per source)")
    return out


@command("*", "show l2tp destination profile [WORD$name]",
         [SHOW, "L2TP", "Tunnel destinations (LACs)", "Destination profiles (LACs allowed to "
          "open tunnels)", "Profile name"], complete={"name": profile_names})
def show_destination_profile(ctx: Any, name: str | None) -> ShowResult:
    dests = ctx.config.l2tp_destinations
    if name is not None and name not in dests:
        raise CliError(f'L2TP destination profile "{name}" does not exist')
    tunnels: dict[str, int] = {}
    snap = ctx.snapshot()
    half_open = None
    if snap is not None:
        half_open = getattr(snap.l2tp, "half_open", None)
        for t in snap.l2tp.tunnels:
            if getattr(t, "dest_profile", ""):
                tunnels[t.dest_profile] = tunnels.get(t.dest_profile, 0) + 1
    rows = [_profile_data(p, tunnels) for p in dests.values() if name is None or p.name == name]
    l2 = ctx.config.l2tp
    return ShowResult({"profiles": rows,
                       "half_open": {"now": half_open, "limit": l2.max_half_open_tunnels,
                                     "per_source": l2.max_half_open_tunnels_per_source}},
                      _render_profiles)
