"""Render the configuration model as a replayable script (`show configuration`)."""
from __future__ import annotations

import time

from jcli.config import model as m
from jcli.config.model import RouterConfig, VirtualRouter

HEADER = "! Configuration script being generated on "
FOOTER = "! end of configuration script"


def header_line(now: float | None = None) -> str:
    t = time.gmtime(now)
    return HEADER + time.strftime("%a %b %d %Y %H:%M:%S UTC", t).upper()


def render_chassis(cfg: RouterConfig) -> list[str]:
    out = [f"hostname {cfg.hostname}"]
    d = cfg.dialout
    if d.connect_timeout != m.CONNECT_TIMEOUT:
        out.append(f"l2tp dial-out connect-timeout {d.connect_timeout}")
    if d.dormant_timeout != m.DORMANT_TIMEOUT:
        out.append(f"l2tp dial-out dormant-timeout {d.dormant_timeout}")
    if d.max_sessions != m.MAX_SESSIONS:
        out.append(f"l2tp dial-out max-sessions {d.max_sessions}")
    if d.max_connecting != m.MAX_CONNECTING:
        out.append(f"l2tp dial-out max-connecting {d.max_connecting}")
    l = cfg.l2tp
    if l.destination_lockout_timeout != m.LOCKOUT_TIMEOUT:
        out.append(f"l2tp destination lockout-timeout {l.destination_lockout_timeout}")
    if l.failover_within_preference:
        out.append("l2tp failover-within-preference")
    if l.weighted_load_balancing:
        out.append("l2tp weighted-load-balancing")
    if l.retransmission != m.RETRANSMISSION:
        out.append(f"l2tp retransmission {l.retransmission}")
    if l.hello_interval != m.HELLO_INTERVAL:
        out.append(f"l2tp hello-interval {l.hello_interval}")
    if l.receive_window_size != m.RECEIVE_WINDOW_SIZE:
        out.append(f"l2tp receive-window-size {l.receive_window_size}")
    if l.tunnel_idle_timeout != m.TUNNEL_IDLE_TIMEOUT:
        out.append(f"l2tp tunnel-idle-timeout {l.tunnel_idle_timeout}")
    if l.checksum:
        out.append("l2tp checksum")
    if l.disable_challenge:
        out.append("l2tp disable challenge")
    if l.host_name is not None:
        out.append(f"l2tp host-name {l.host_name}")
    if l.udp_port != m.L2TP_UDP_PORT:
        out.append(f"l2tp udp-port {l.udp_port}")
    if l.max_half_open_tunnels != m.MAX_HALF_OPEN_TUNNELS:
        out.append(f"l2tp max-half-open-tunnels {l.max_half_open_tunnels}")
    if l.max_half_open_tunnels_per_source != m.MAX_HALF_OPEN_TUNNELS_PER_SOURCE:
        out.append(f"l2tp max-half-open-tunnels per-source {l.max_half_open_tunnels_per_source}")
    for d in cfg.l2tp_destinations.values():
        out += render_destination_profile(d)
    return out


def render_destination_profile(d: m.DestinationProfile) -> list[str]:
    vr = f" virtual-router {d.virtual_router}" if d.virtual_router != "default" else ""
    out = [f"l2tp destination profile {d.name} ip address {d.address}{vr}"]
    for h in d.hosts.values():
        out.append(f" remote host {h.name}")
        if h.tunnel_password is not None:
            out.append(f"  tunnel password {h.tunnel_password}")
        if h.local_host_name is not None:
            out.append(f"  local host-name {h.local_host_name}")
        if h.max_sessions is not None:
            out.append(f"  max-sessions {h.max_sessions}")
        if h.receive_window_size is not None:
            out.append(f"  enable-receive-window-size {h.receive_window_size}")
        if h.profile is not None:
            out.append(f"  profile {h.profile}")
        out.append("  exit")
    out.append(" exit")
    return out


def render_profile(p: m.Profile) -> list[str]:
    out = [f"profile {p.name}"]
    if p.ppp_authentication:
        out.append(" ppp authentication " + " ".join(p.ppp_authentication))
    if p.ppp_authentication_vr is not None:
        out.append(f" ppp authentication virtual-router {p.ppp_authentication_vr}")
    if p.ppp_keepalive is not None:
        out.append(f" ppp keepalive {p.ppp_keepalive}")
    if p.ppp_mru is not None:
        out.append(f" ppp mru {p.ppp_mru}")
    if p.ip_unnumbered_loopback is not None:
        out.append(f" ip unnumbered loopback {p.ip_unnumbered_loopback}")
    if p.ip_inactivity_timer is not None:
        out.append(f" ip inactivity-timer {p.ip_inactivity_timer}")
    if p.ip_mtu is not None:
        out.append(f" ip mtu {p.ip_mtu}")
    if p.ip_address_pool is not None:
        out.append(f" ip address-pool {p.ip_address_pool}")
    out.append(" exit")
    return out


def render_radius(s: m.RadiusServer) -> list[str]:
    out = [f"radius {s.kind} server {s.address}"]
    if s.udp_port is not None:
        out.append(f" udp-port {s.udp_port}")
    if s.key is not None:
        out.append(f" key {s.key}")
    if s.timeout != m.RADIUS_TIMEOUT:
        out.append(f" timeout {s.timeout}")
    if s.retransmit != m.RADIUS_RETRANSMIT:
        out.append(f" retransmit {s.retransmit}")
    if s.deadtime != m.RADIUS_DEADTIME:
        out.append(f" deadtime {s.deadtime}")
    if s.max_sessions is not None:
        out.append(f" max-sessions {s.max_sessions}")
    if s.require_message_authenticator != m.RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR:
        out.append(f" {'' if s.require_message_authenticator else 'no '}"
                   "require-message-authenticator")
    out.append(" exit")
    return out


def render_route(r: m.StaticRoute) -> str:
    s = f"ip route {r.prefix} {r.mask} {r.gateway if r.gateway else 'null 0'}"
    if r.distance is not None:
        s += f" {r.distance}"
    if r.tag is not None:
        s += f" tag {r.tag}"
    return s


def render_vr(vr: VirtualRouter) -> list[str]:
    out: list[str] = []
    for v in vr.vrfs.values():
        out.append(f"ip vrf {v.name}")
        if v.rd is not None:
            out.append(f" rd {v.rd}")
        out.append(" exit")
    for lo in sorted(vr.loopbacks.values(), key=lambda x: x.number):
        out.append(f"interface loopback {lo.number}")
        if lo.address is not None:
            out.append(f" ip address {lo.address} {lo.mask}")
        out.append(" exit")
    for r in vr.routes.values():
        out.append(render_route(r))
    for s in vr.radius_servers:
        out += render_radius(s)
    if vr.aaa_ppp_default is not None:
        out.append(f"aaa authentication ppp default {vr.aaa_ppp_default}")
    for dm in vr.domain_maps.values():
        out.append(f"aaa domain-map {dm.domain}")
        if dm.router_name is not None:
            out.append(f" router-name {dm.router_name}")
        out.append(" exit")
    for lp in vr.local_pools.values():
        out.append(f"ip local pool {lp.name} {lp.first} {lp.last}")
    for p in vr.profiles.values():
        out += render_profile(p)
    if vr.max_buffered_triggers != m.MAX_BUFFERED_TRIGGERS:
        out.append(f"l2tp dial-out max-buffered-triggers {vr.max_buffered_triggers}")
    for t in vr.targets.values():
        out.append(f"l2tp dial-out target {t.prefix} {t.mask} domain {t.domain} profile {t.profile}")
    return out


def render_body(cfg: RouterConfig) -> list[str]:
    out = render_chassis(cfg)
    out += render_vr(cfg.virtual_routers["default"])
    others = [vr for name, vr in cfg.virtual_routers.items() if name != "default"]
    for vr in others:
        out.append("!")
        out.append(f"virtual-router {vr.name}")
        out += [" " + line for line in render_vr(vr)]
    if others:
        out.append("!")
        out.append("virtual-router default")
    return out


def render_config(cfg: RouterConfig, now: float | None = None) -> list[str]:
    return [header_line(now), *render_body(cfg), FOOTER]
