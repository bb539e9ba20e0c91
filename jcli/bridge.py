"""The shell's link to the engine: the configuration model turned into an ``EngineConfig``,
and the engine (plus the lab peers of ``--lab``) started and stopped with the shell."""
from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from engine.aio.config import (
    EngineConfig,
    L2tpDefaults,
    PortConfig,
    ProfileConfig,
    RadiusServerConfig,
    StaticRouteConfig,
    TargetConfig,
    VirtualRouterConfig,
)
from engine.aio.engine import Engine
from engine.dialout.model import DEFAULT_PPP_AUTHENTICATION
from engine.dialout.service import ChassisConfig
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from jcli.config import model as m
from jcli.config.model import RouterConfig, VirtualRouter
from jcli.views import safe_text

if TYPE_CHECKING:
    from engine.lab.runner import RunningLab

log = logging.getLogger(__name__)


@lru_cache(maxsize=1 << 18)
def _net(prefix: str, mask: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{prefix}/{mask}", strict=False)


@lru_cache(maxsize=1 << 18)
def _static(prefix: str, mask: str, gateway: str | None, distance: int | None,
            tag: int | None) -> StaticRouteConfig:
    """One route's engine form; cached, so that applying a configuration converts only the
    routes that changed since the last time."""
    return StaticRouteConfig(_net(prefix, mask),
                             ipaddress.IPv4Address(gateway) if gateway else None,
                             distance if distance is not None else 1, tag or 0)


@lru_cache(maxsize=1 << 16)
def _target(prefix: str, mask: str, domain: str, profile: str) -> TargetConfig:
    return TargetConfig(_net(prefix, mask), domain, profile)


def _radius(vr: VirtualRouter, kind: str) -> tuple[RadiusServerConfig, ...]:
    return tuple(RadiusServerConfig(s.address, s.port, s.key or "", float(s.timeout),
                                    s.retransmit, s.deadtime, s.max_sessions or 0,
                                    s.require_message_authenticator)
                 for s in vr.radius(kind))


def _vr_config(vr: VirtualRouter) -> VirtualRouterConfig:
    rd = next((v.rd for v in vr.vrfs.values() if v.rd), None)
    loopbacks = tuple((n, ipaddress.IPv4Interface(f"{lo.address}/{lo.mask}"))
                      for n, lo in sorted(vr.loopbacks.items()) if lo.address and lo.mask)
    statics = tuple(_static(r.prefix, r.mask, r.gateway, r.distance, r.tag)
                    for r in vr.routes.values())
    profiles = tuple(ProfileConfig(
        p.name, tuple(p.ppp_authentication) or DEFAULT_PPP_AUTHENTICATION,
        p.ppp_authentication_vr,
        p.ppp_keepalive if p.ppp_keepalive is not None else 30,
        p.ppp_mru if p.ppp_mru is not None else 1500,
        p.ip_unnumbered_loopback, p.ip_inactivity_timer or 0, p.ip_mtu, p.ip_address_pool)
        for p in vr.profiles.values())
    targets = tuple(_target(t.prefix, t.mask, t.domain, t.profile) for t in vr.targets.values())
    return VirtualRouterConfig(
        name=vr.name, route_distinguisher=rd, loopbacks=loopbacks, static_routes=statics,
        radius_auth=_radius(vr, "authentication"), radius_acct=_radius(vr, "accounting"),
        aaa_ppp=vr.aaa_ppp_default or "radius",
        domain_map=tuple((d.domain, d.router_name) for d in vr.domain_maps.values()
                         if d.router_name),
        profiles=profiles, targets=targets, max_buffered_triggers=vr.max_buffered_triggers,
        ports=tuple(PortConfig(p.name, ipaddress.IPv4Interface(f"{p.address}/{p.mask}")
                               if p.address and p.mask else None, p.shutdown,
                               p.description or "") for p in vr.ports.values()),
        radius_update_source=_addr(vr.radius_update_source),
        l2tp_source=_addr(vr.l2tp_source),
        local_pools=tuple((lp.name, ipaddress.IPv4Address(lp.first), ipaddress.IPv4Address(lp.last))
                          for lp in vr.local_pools.values()))


def _addr(text: str | None) -> ipaddress.IPv4Address | None:
    return ipaddress.IPv4Address(text) if text else None


def acceptance_policy(model: RouterConfig) -> AcceptancePolicy:
    """The L2TP destination profiles as the endpoint's acceptance policy (LNS role)."""
    peers = tuple(
        PeerPolicy(d.name, d.address, d.virtual_router, tuple(
            HostPolicy(None if h.name == m.DEFAULT_REMOTE_HOST else h.name,
                       secret=h.tunnel_password.encode() if h.tunnel_password is not None else None,
                       local_host_name=h.local_host_name, max_sessions=h.max_sessions or 0,
                       receive_window=h.receive_window_size, profile=h.profile)
            for h in d.hosts.values()))
        for d in model.l2tp_destinations.values())
    return AcceptancePolicy(peers, max_half_open=model.l2tp.max_half_open_tunnels,
                            max_half_open_per_source=model.l2tp.max_half_open_tunnels_per_source)


def engine_config(model: RouterConfig) -> EngineConfig:
    d, lt = model.dialout, model.l2tp
    chassis = ChassisConfig(connect_timeout=float(d.connect_timeout),
                            dormant_timeout=float(d.dormant_timeout),
                            max_sessions=d.max_sessions, max_connecting=d.max_connecting,
                            lockout_timeout=float(lt.destination_lockout_timeout),
                            failover_within_preference=lt.failover_within_preference,
                            weighted_load_balancing=lt.weighted_load_balancing,
                            tunnel_max_sessions=lt.tunnel_max_sessions)
    l2tp = L2tpDefaults(retransmissions=lt.retransmission, hello_interval=lt.hello_interval,
                        receive_window=lt.receive_window_size,
                        tunnel_idle_timeout=lt.tunnel_idle_timeout, checksum=lt.checksum,
                        challenge=not lt.disable_challenge, host_name=lt.host_name, udp_port=lt.udp_port)
    return EngineConfig(hostname=model.hostname, chassis=chassis, l2tp=l2tp,
                        vrs=tuple(_vr_config(vr) for vr in model.virtual_routers.values()),
                        l2tp_acceptance=acceptance_policy(model))


class RouterEngine:
    """What the shell's context calls ``engine``: applies the model, hands out snapshots."""

    def __init__(self, options: Any, output, model: RouterConfig | None = None) -> None:
        self.options = options
        self.model = model
        self.engine = Engine(dataplane=getattr(options, "dataplane", "sim"),
                             keep_namespaces=getattr(options, "keep_namespaces", False),
                             netns_prefix=getattr(options, "netns_prefix", "jcli-"),
                             output=lambda line: output(safe_text(line)))
        self.engine.dataplane.ports = dict(getattr(options, "ports", None) or {})
        self.lab: RunningLab | None = None

    async def start(self) -> RouterEngine:
        lab_path = getattr(self.options, "lab", None)
        if lab_path:
            from engine.lab.labfile import load_labfile
            from engine.lab.runner import start_lab
            self.lab = await start_lab(load_labfile(lab_path))
        try:
            await self.engine.start()
            if self.model is not None:
                self.apply_config(self.model)
        except BaseException:
            if self.lab is not None:
                await self.lab.close()
            raise
        return self

    def dial_in_lab(self) -> int:
        """The lab's ``[[subscriber]]`` entries place their incoming calls to this router
        (once the startup configuration admits their LAC); the number of calls placed."""
        if self.lab is None or not self.lab.lab.subscriber or self.lab.subscribers:
            return 0
        host, port = self.engine.l2tp_local_addr
        return self.lab.dial_in(("127.0.0.1" if host == "0.0.0.0" else host, port))

    async def close(self) -> None:
        await self.engine.stop()
        if self.lab is not None:
            await self.lab.close()
            self.lab = None

    def apply_config(self, model: RouterConfig) -> None:
        self.model = model
        self.engine.apply_config(engine_config(model))

    def snapshot(self):
        return self.engine.snapshot()

    def dialout_config_refused(self) -> str | None:
        """Why dial-out configuration commands are refused now, or None."""
        return self.engine.dialout.config_refusal()

    def __getattr__(self, name: str):
        return getattr(self.engine, name)
