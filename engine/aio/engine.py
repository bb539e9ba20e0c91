"""The engine: one asyncio loop gluing the sans-IO cores to sockets, timers and the dataplane.

Theory of operation
-------------------
* ``DialoutService`` (engine/dialout) decides; this module carries out its requests on the real
  objects and reports the outcomes back:

  ========================  =====================================================================
  request                   carried out by
  ========================  =====================================================================
  AuthorizeRequest          RADIUS Access-Request (Service-Type Outbound) to the servers of the VR
                            the AAA domain map names (else the target's VR)
  OpenTunnel / PlaceCall    ``L2tpEndpoint.open_tunnel`` / ``place_outgoing_call`` (SCCRQ, OCRQ)
  StartPpp                  a ``PppLink`` built from the profile and the grant's PPP credentials
  InstallRoutes / Remove..  the dataplane (session interface + access route, or dial-out route)
  ForwardPackets            buffered triggers sent over the session's PPP link, in order
  TearDown / CloseTunnel    LCP Terminate + CDN / StopCCN
  ========================  =====================================================================

* The CPE's PAP/CHAP credentials are checked against the RADIUS servers of the profile's
  ``ppp authentication virtual-router`` (else the target's VR); the reply's Framed-Route /
  Framed-IP-Address become the access routes when IPCP opens.
* Every sans-IO object is driven the same way: after any input, flush its output and re-arm
  one timer (``loop.call_at``) at its ``get_timer()``.
"""
from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import random
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from engine import icmp
from engine.aaa import client as radius
from engine.aaa.tunnel_attrs import DialoutGrant, parse_dialout_reply
from engine.aaa.udp import RadiusUdpAdapter
from engine.aio.config import EngineConfig, ProfileConfig, VirtualRouterConfig
from engine.dataplane.base import Route
from engine.dialout import service as ds
from engine.dialout.selection import TunnelDef
from engine.dialout.targets import TargetConfig as DsTargetConfig
from engine.l2tp import events as le
from engine.l2tp.config import L2tpConfig
from engine.l2tp.connection import L2tpEndpoint
from engine.l2tp.udp import L2tpUdpAdapter
from engine.ppp import events as pe
from engine.ppp.link import PppConfig, PppLink

log = logging.getLogger(__name__)

L2TP_PORT = 1701
# ERX-PPP-Auth-Protocol: what the LNS accepts to authenticate itself (dialout.md §3)
AUTH_PROTOCOLS = {0: None, 1: ("pap",), 2: ("chap",), 3: ("pap", "chap"), 4: ("chap", "pap")}
AUTH_PROTOCOL_CODES = {protos: code for code, protos in AUTH_PROTOCOLS.items() if protos}


@dataclass(slots=True, eq=False)
class _Call:
    """One dial-out call: the L2TP session under it and the PPP link over it."""
    call_id: int
    key: ds.SessionKey
    tunnel_ref: int
    tunnel_id: int
    session_id: int = 0
    established: bool = False
    ppp: PppLink | None = None
    ifname: str | None = None
    profile: ProfileConfig | None = None
    auth_vr: str | None = None
    framed: radius.FramedInfo | None = None
    peer_name: str = ""
    down_reason: str = ""
    timer: asyncio.TimerHandle | None = None
    timer_at: float | None = None
    up_since: float | None = None
    last_activity: float = 0.0
    acct_id: str = ""
    network_up: bool = False


@dataclass(slots=True, eq=False)
class _VrRadius:
    servers: tuple
    client: radius.RadiusClient
    adapter: RadiusUdpAdapter
    callbacks: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PingResult:
    sent: int
    received: int
    rtts_ms: tuple[float, ...]

    @property
    def success_line(self) -> str:
        rate = int(100 * self.received / self.sent) if self.sent else 0
        if self.rtts_ms:
            mn, mx = min(self.rtts_ms), max(self.rtts_ms)
            avg = sum(self.rtts_ms) / len(self.rtts_ms)
            return (f"Success rate = {rate}% ({self.received}/{self.sent}), "
                    f"round-trip min/avg/max = {mn:.0f}/{avg:.0f}/{mx:.0f} ms")
        return f"Success rate = {rate}% ({self.received}/{self.sent})"


@dataclass(frozen=True, slots=True)
class PppInterfaceSnapshot:
    ifname: str
    vr: str
    destination: str
    tunnel_id: int
    session_id: int
    ppp: Any                      # engine.ppp.link.PppSnapshot


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    now: float
    started: float
    dataplane: str
    dialout: ds.DialoutSnapshot
    l2tp: Any                     # engine.l2tp.connection.L2tpSnapshot
    l2tp_counters: dict
    ppp: tuple[PppInterfaceSnapshot, ...]
    radius: tuple[tuple[str, tuple], ...]    # (vr, ServerStats...)
    routes: tuple[tuple[str, tuple[Route, ...]], ...]

    @property
    def vr_states(self) -> tuple[tuple[str, str], ...]:
        return tuple((v.name, str(v.state)) for v in self.dialout.vrs)


def _ipv4(x) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(x)


class Engine:
    """Owns the dial-out service, the L2TP endpoint, RADIUS clients, PPP links and dataplane."""

    def __init__(self, *, dataplane: str = "sim", rng: random.Random | None = None,
                 l2tp_bind: tuple[str, int] = ("0.0.0.0", 0), nas_ip: str = "127.0.0.1",
                 keep_namespaces: bool = False, netns_prefix: str = "jcli-",
                 output: Callable[[str], None] | None = None) -> None:
        self.rng = rng or random.SystemRandom()
        self.dataplane_kind = dataplane
        self.l2tp_bind = l2tp_bind
        self.nas_ip = nas_ip
        self.keep_namespaces = keep_namespaces
        self.netns_prefix = netns_prefix
        self.output = output or (lambda line: print(line, flush=True))
        self.config = EngineConfig()
        self._debug: frozenset[str] = frozenset()   # "l2tp", "dial-out", "ppp"
        self.dialout = ds.DialoutService(keep_events=False)
        self.l2tp = L2tpEndpoint(rng=self.rng, host_name="host1", config=L2tpConfig())
        self.loop: asyncio.AbstractEventLoop | None = None
        self.dp = None
        self.l2tp_adapter: L2tpUdpAdapter | None = None
        self._radius: dict[str, _VrRadius] = {}
        self._calls: dict[int, _Call] = {}
        self._by_l2tp: dict[tuple[int, int], _Call] = {}
        self._by_if: dict[tuple[str, str], _Call] = {}
        self._tunnel_ids: dict[int, int] = {}         # tunnel_ref -> l2tp tunnel id
        self._tunnel_refs: dict[int, int] = {}        # l2tp tunnel id -> tunnel_ref
        self._static: dict[str, set[Route]] = {}      # VR -> static/connected routes installed
        self._addresses: dict[str, dict[str, Any]] = {}
        self._vrs_made: set[str] = set()
        self._applied_vrs: dict[str, tuple[VirtualRouterConfig, ds.VrConfig]] = {}
        self._dialout_timer: asyncio.TimerHandle | None = None
        self._dialout_timer_at: float | None = None
        self._pinging: dict[tuple[str, int], Callable[[bytes], None]] = {}
        self._ping_ident = self.rng.randrange(1, 0xFFFF)
        self._pumping = False
        self._flush_scheduled = False
        self._in_l2tp_event = 0           # >0 while the L2TP adapter delivers an event
        self._housekeeping: asyncio.TimerHandle | None = None
        self.started = time.time()

    # ================================================================ lifecycle
    async def start(self) -> "Engine":
        # Tens of thousands of long-lived session objects make the default collector's full
        # passes frequent and slow; collect young objects less eagerly.
        gc.set_threshold(max(gc.get_threshold()[0], 50_000), 20, 50)
        self.loop = asyncio.get_running_loop()
        if self.dataplane_kind == "linux":
            from engine.dataplane.linux import LinuxDataplane
            self.dp = LinuxDataplane(prefix=self.netns_prefix,
                                     keep_namespaces=self.keep_namespaces)
            stale = self.dp.reconcile_stale()
            if stale:
                log.warning("removed stale namespaces of an earlier run: %s", ", ".join(stale))
        else:
            from engine.dataplane.sim import SimDataplane
            self.dp = SimDataplane()
        self.dp.on_trigger = self._on_trigger
        self.dp.on_session_packet = self._on_session_packet
        self.dp.on_local_packet = self._on_local_packet
        self.l2tp_adapter = L2tpUdpAdapter(self.l2tp, self.l2tp_bind,
                                           on_event=self._on_l2tp_event).start()
        self._ensure_vr("default")
        self.apply_config(self.config)
        self._housekeeping = self.loop.call_later(1.0, self._housekeep)
        return self

    async def stop(self) -> None:
        now = self.now()
        for call in list(self._calls.values()):
            self._end_call(call, "administrative shutdown", now=now, report=False)
        for tid in list(self.l2tp.tunnels):
            self.l2tp.close_tunnel(tid, now=now)
        if self.l2tp_adapter is not None:
            self.l2tp_adapter.flush()
            await asyncio.sleep(0.05)
            self.l2tp_adapter.close()
            self.l2tp_adapter = None
        for r in self._radius.values():
            r.adapter.close()
        self._radius.clear()
        for h in (self._dialout_timer, self._housekeeping):
            if h is not None:
                h.cancel()
        if self.dp is not None:
            self.dp.close()
            self.dp = None

    def now(self) -> float:
        return self.loop.time() if self.loop is not None else 0.0

    @property
    def l2tp_local_addr(self) -> tuple[str, int]:
        return self.l2tp_adapter.local_addr

    # ================================================================ configuration
    def apply_config(self, config: EngineConfig) -> None:
        """Reconcile everything from the configuration (idempotent)."""
        self.config = config
        if self.loop is None:
            return
        now = self.now()
        self.l2tp.host_name = config.l2tp.host_name or config.hostname
        lc = self.l2tp.config
        self.l2tp.config = replace(lc, max_retries=config.l2tp.retransmissions,
                                   hello_interval=float(config.l2tp.hello_interval),
                                   receive_window=config.l2tp.receive_window)
        names = {"default"} | {v.name for v in config.vrs}
        for name in sorted(names):
            self._ensure_vr(name)
        for name in sorted(self._vrs_made - names):
            self._remove_vr(name)
        ds_vrs = []
        for v in config.vrs:
            done = self._applied_vrs.get(v.name)
            if done is None or done[0] != v:      # only the virtual routers that changed
                self._apply_addresses(v)
                self._apply_static(v)
                self._apply_radius(v)
                done = self._applied_vrs[v.name] = (v, ds.VrConfig(
                    name=v.name,
                    targets=tuple(DsTargetConfig(prefix=t.prefix, domain=t.domain,
                                                 profile=t.profile) for t in v.targets),
                    max_buffered_triggers=v.max_buffered_triggers,
                    route_distinguisher=v.route_distinguisher))
            ds_vrs.append(done[1])
        dcfg = ds.DialoutConfig(chassis=config.chassis, vrs=tuple(ds_vrs))
        self.dialout.apply_config(dcfg, now=now)
        for v in config.vrs:
            self.dialout.set_vr_state(v.name, self._vr_dialout_state(v), now=now)
        self._pump()

    def _vr_dialout_state(self, v: VirtualRouterConfig) -> str:
        """A VR whose targets cannot reach any RADIUS server is down (dialout.md §7)."""
        for t in v.targets:
            auth_vr = self._vr_config(self._auth_vr_for_domain(v.name, t.domain))
            if not auth_vr.radius_auth:
                return ds.VrState.DOWN
        return ds.VrState.IN_SERVICE

    def _vr_config(self, name: str) -> VirtualRouterConfig:
        return self.config.vr(name) or VirtualRouterConfig(name)

    def _ensure_vr(self, name: str) -> None:
        if name not in self._vrs_made and self.dp is not None:
            self.dp.add_vr(name)
            self._vrs_made.add(name)

    def _remove_vr(self, name: str) -> None:
        self._vrs_made.discard(name)
        self._applied_vrs.pop(name, None)
        self._static.pop(name, None)
        self._addresses.pop(name, None)
        r = self._radius.pop(name, None)
        if r is not None:
            r.adapter.close()
        if self.dp is not None:
            self.dp.remove_vr(name)

    def _apply_addresses(self, v: VirtualRouterConfig) -> None:
        want = {f"loopback{u}": a for u, a in v.loopbacks}
        have = self._addresses.setdefault(v.name, {})
        for ifname in set(have) - set(want):
            self.dp.set_address(v.name, ifname, None)
            del have[ifname]
        for ifname, addr in want.items():
            if have.get(ifname) != addr:
                self.dp.set_address(v.name, ifname, addr)
                have[ifname] = addr

    def _apply_static(self, v: VirtualRouterConfig) -> None:
        want = set()
        for r in v.static_routes:
            if r.nexthop is None:
                want.add(Route(r.prefix, "static", ifname="null0", distance=r.distance, tag=r.tag))
            else:
                want.add(Route(r.prefix, "static", nexthop=r.nexthop, distance=r.distance,
                               tag=r.tag))
        have = self._static.setdefault(v.name, set())
        for r in have - want:
            self.dp.remove_route(v.name, r)
        add = [r for r in want if r not in have]
        if add:
            self.dp.add_routes(v.name, add)
        self._static[v.name] = want

    def _apply_radius(self, v: VirtualRouterConfig) -> None:
        servers = tuple(
            radius.RadiusServer(s.address, s.port, s.key.encode(), timeout=s.timeout,
                                retransmit=s.retransmit, deadtime_s=s.deadtime_min * 60.0,
                                kind=kind)
            for kind, group in (("auth", v.radius_auth), ("acct", v.radius_acct)) for s in group)
        cur = self._radius.get(v.name)
        if cur is not None and cur.servers == servers:
            return
        if cur is not None:
            cur.adapter.close()
            callbacks = cur.callbacks
            del self._radius[v.name]
            for cb in callbacks.values():
                cb(radius.RadiusTimeout(0, "no-server"))
        if not servers:
            return
        client = radius.RadiusClient(list(servers), rng=self.rng, nas_ip=self.nas_ip)
        entry = _VrRadius(servers, client, None)  # type: ignore[arg-type]
        entry.adapter = RadiusUdpAdapter(client, local_host="0.0.0.0",
                                         on_event=lambda ev, e=entry: self._on_radius_event(e, ev),
                                         loop=self.loop, socket_factory=self._socket_factory(v.name))
        self._radius[v.name] = entry

    def _socket_factory(self, vr: str):
        """Sockets of a virtual router live in its namespace (linux dataplane); the default
        VR's sockets, like the L2TP socket, live in the namespace the process started in."""
        if vr == "default" or not hasattr(self.dp, "socket_in_vr"):
            return None
        return lambda: self.dp.socket_in_vr(vr)

    # ================================================================ RADIUS
    def _radius_ask(self, vr: str, spec: radius.RequestSpec,
                    callback: Callable[[Any], None]) -> bool:
        entry = self._radius.get(vr)
        if entry is None or not any(s.kind == spec.kind for s in entry.servers):
            return False
        rid = entry.client.request(spec, now=self.now())
        entry.callbacks[rid] = callback
        entry.adapter._service()
        return True

    def _on_radius_event(self, entry: _VrRadius, ev) -> None:
        cb = entry.callbacks.pop(ev.request_id, None)
        if cb is not None:
            cb(ev)
        self._pump()

    def _auth_vr_for_domain(self, vr: str, domain: str) -> str:
        for source in (vr, "default"):
            for d, target_vr in self._vr_config(source).domain_map:
                if d.lower() == domain.lower():
                    return target_vr
        return vr

    # ================================================================ dial-out requests
    def _pump(self) -> None:
        """Carry out every pending dial-out request, then flush L2TP and re-arm timers."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while True:
                req = self.dialout.next_request()
                if req is None:
                    break
                try:
                    getattr(self, "_do_" + type(req).__name__)(req)
                except Exception:                       # a bug must not stop the router
                    log.exception("dial-out request %r failed", req)
        finally:
            self._pumping = False
        self._flush_l2tp()
        self._arm_dialout_timer()

    def _flush_l2tp(self) -> None:
        """Flush the L2TP adapter now, unless it is delivering an event right now: its own
        loop then sends the output (a nested flush per event would recurse once per event)."""
        if self.l2tp_adapter is not None and not self._in_l2tp_event:
            self.l2tp_adapter.flush()

    def _flush_l2tp_soon(self) -> None:
        """Data path: a burst of packets from the dataplane costs one flush."""
        if self.l2tp_adapter is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._deferred_flush)

    def _deferred_flush(self) -> None:
        self._flush_scheduled = False
        self._flush_l2tp()

    def _arm_dialout_timer(self) -> None:
        at = self.dialout.get_timer()
        if at == self._dialout_timer_at and self._dialout_timer is not None:
            return
        if self._dialout_timer is not None:
            self._dialout_timer.cancel()
            self._dialout_timer = None
        self._dialout_timer_at = at
        if at is not None and self.loop is not None:
            self._dialout_timer = self.loop.call_at(at, self._on_dialout_timer)

    def _on_dialout_timer(self) -> None:
        self._dialout_timer = None
        self._dialout_timer_at = None
        self.dialout.handle_timer(now=self.now())
        self._pump()

    def _do_AuthorizeRequest(self, req: ds.AuthorizeRequest) -> None:
        auth_vr = self._auth_vr_for_domain(req.vr, req.domain)
        spec = radius.dialout_request(req.user_name, nas_ip=self.nas_ip)

        def done(reply, req=req) -> None:
            result = parse_dialout_reply(reply)
            self.dialout.on_auth_result(req.session_key, self._to_grant(result),
                                        now=self.now(), request_id=req.request_id)

        if not self._radius_ask(auth_vr, spec, done):
            self.dialout.on_auth_result(req.session_key,
                                        ds.Denial(f"no RADIUS server in virtual router {auth_vr}"),
                                        now=self.now(), request_id=req.request_id)

    @staticmethod
    def _to_grant(result) -> ds.AuthResult:
        if not isinstance(result, DialoutGrant):
            return ds.Denial(result.reason + (f" ({result.message})" if result.message else ""))
        tunnels = tuple(TunnelDef(server_endpoint=t.server_endpoint,
                                  preference=t.preference, assignment_id=t.assignment_id or "",
                                  max_sessions=t.max_sessions or 0, password=t.password,
                                  client_endpoint=t.client_endpoint,
                                  client_auth_id=t.client_auth_id,
                                  server_auth_id=t.server_auth_id, tag=t.tag)
                        for t in result.tunnels)
        protos = result.ppp_auth_protocol
        code = 0
        if protos:
            code = AUTH_PROTOCOL_CODES.get(tuple(protos), 2)
        call = ds.CallParams(dial_out_number=result.dial_out_number,
                             min_bps=result.min_bps or 0,
                             max_bps=result.max_bps or 64000,
                             bearer_type=result.bearer_type or 0,
                             ppp_username=result.ppp_username,
                             ppp_password=result.ppp_password,
                             ppp_auth_protocol=code)
        return ds.Grant(tunnels, call)

    def _do_OpenTunnel(self, req: ds.OpenTunnel) -> None:
        t = req.tunnel
        host = t.client_auth_id or self.l2tp.host_name
        # `l2tp disable challenge`: no tunnel authentication (and so no hidden AVPs)
        secret = t.password if self.config.l2tp.challenge else None
        tid = self.l2tp.open_tunnel((t.server_endpoint, L2TP_PORT), secret=secret,
                                    host_name=host, expected_peer_host=t.server_auth_id,
                                    now=self.now())
        self._tunnel_ids[req.tunnel_ref] = tid
        self._tunnel_refs[tid] = req.tunnel_ref

    def _do_PlaceCall(self, req: ds.PlaceCall) -> None:
        tid = self._tunnel_ids.get(req.tunnel_ref)
        if tid is None or tid not in self.l2tp.tunnels:
            self.dialout.on_call_result(req.call_id, False, "tunnel gone", now=self.now())
            return
        c = req.call
        kwargs = dict(called_number=c.dial_out_number, min_bps=c.min_bps, max_bps=c.max_bps)
        if c.bearer_type:
            kwargs["bearer_type"] = c.bearer_type
        sid = self.l2tp.place_outgoing_call(tid, now=self.now(), **kwargs)
        call = _Call(req.call_id, req.session_key, req.tunnel_ref, tid, sid)
        self._calls[req.call_id] = call
        self._by_l2tp[(tid, sid)] = call

    def _do_StartPpp(self, req: ds.StartPpp) -> None:
        call = self._calls.get(req.call_id)
        if call is None:
            return
        vrc = self._vr_config(req.session_key.vr)
        prof = vrc.profile(req.profile) or ProfileConfig(req.profile)
        local_ip = None
        if prof.ip_unnumbered_loopback is not None:
            lo = vrc.loopback(prof.ip_unnumbered_loopback)
            if lo is not None:
                local_ip = str(lo.ip)
        if local_ip is None and vrc.loopbacks:
            local_ip = str(vrc.loopbacks[0][1].ip)
        if local_ip is None:
            local_ip = "192.0.2.1"
        cfg = PppConfig(
            mru=prof.ppp_mru,
            auth_protocols_required=tuple(prof.ppp_authentication),
            auth_protocols_allowed=AUTH_PROTOCOLS.get(req.auth_protocol),
            username=req.username or "", password=req.password or "",
            hostname=self.config.hostname,
            keepalive_interval=float(prof.ppp_keepalive),
            local_ip=local_ip)
        call.ppp = PppLink(cfg, rng=self.rng, role_name=req.ifname)
        call.ifname = req.ifname
        call.profile = prof
        call.auth_vr = prof.ppp_auth_vr or req.session_key.vr
        self._by_if[(req.session_key.vr, req.ifname)] = call
        call.ppp.open(now=self.now())
        self._service_ppp(call)

    def _do_InstallRoutes(self, req: ds.InstallRoutes) -> None:
        if req.ifname is not None and req.local_ip is not None and req.peer_ip is not None:
            call = self._by_if.get((req.vr, req.ifname))
            if call is not None and not call.network_up:
                self.dp.add_session_interface(req.vr, req.ifname, req.local_ip, req.peer_ip)
                call.network_up = True
        self.dp.add_routes(req.vr, list(req.routes))

    def _do_RemoveRoutes(self, req: ds.RemoveRoutes) -> None:
        for r in req.routes:
            try:
                self.dp.remove_route(req.vr, r)
            except Exception:
                log.debug("route %s already gone", r)
        if req.ifname is not None:
            call = self._by_if.get((req.vr, req.ifname))
            if call is None or not call.established or call.ppp is None:
                self._remove_interface(req.vr, req.ifname)

    def _do_ForwardPackets(self, req: ds.ForwardPackets) -> None:
        call = self._by_if.get((req.vr, req.ifname)) if req.ifname else None
        if call is None or call.ppp is None:
            return
        for p in req.packets:
            call.ppp.send_ip(p)
        call.last_activity = self.now()
        self._service_ppp(call)

    def _do_TearDown(self, req: ds.TearDown) -> None:
        call = self._calls.get(req.call_id)
        if call is not None:
            self._end_call(call, req.reason, now=self.now(), report=False)

    def _do_CloseTunnel(self, req: ds.CloseTunnel) -> None:
        tid = self._tunnel_ids.pop(req.tunnel_ref, None)
        if tid is not None:
            self._tunnel_refs.pop(tid, None)
            self.l2tp.close_tunnel(tid, now=self.now())

    # ================================================================ calls and PPP
    def _remove_interface(self, vr: str, ifname: str) -> None:
        call = self._by_if.pop((vr, ifname), None)
        if call is not None and call.network_up:
            call.network_up = False
            try:
                self.dp.remove_session_interface(vr, ifname)
            except Exception:
                log.debug("interface %s already gone", ifname)

    def _end_call(self, call: _Call, reason: str, *, now: float, report: bool,
                  send_cdn: bool = True) -> None:
        """Tear the call down locally (LCP Terminate, CDN); report to dial-out if asked."""
        if self._calls.pop(call.call_id, None) is None:
            return
        self._by_l2tp.pop((call.tunnel_id, call.session_id), None)
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None
        if call.ppp is not None:
            link = call.ppp
            if not link.finished:
                link.close(reason, now=now)
                for f in link.frames_to_send():
                    self.l2tp.send_ppp(call.tunnel_id, call.session_id, f)
            self._account_stop(call, reason, now)
        if call.ifname is not None:
            self._remove_interface(call.key.vr, call.ifname)
        if send_cdn:
            self.l2tp.disconnect_call(call.tunnel_id, call.session_id, message=reason[:64],
                                      now=now)
        if report:
            if call.established:
                self.dialout.on_call_down(call.key, reason, now=now)
            else:
                self.dialout.on_call_result(call.call_id, False, reason, now=now)

    def _service_ppp(self, call: _Call) -> None:
        link = call.ppp
        if link is None:
            return
        now = self.now()
        while True:
            ev = link.next_event()
            if ev is None:
                break
            self._on_ppp_event(call, ev, now)
            if call.ppp is None or call.call_id not in self._calls:
                return
        for f in link.frames_to_send():
            self.l2tp.send_ppp(call.tunnel_id, call.session_id, f)
        at = link.get_timer()
        if at != call.timer_at or call.timer is None:
            if call.timer is not None:
                call.timer.cancel()
            call.timer_at = at
            call.timer = self.loop.call_at(at, self._on_ppp_timer, call) if at is not None \
                else None

    def _on_ppp_timer(self, call: _Call) -> None:
        call.timer = None
        call.timer_at = None
        if call.ppp is None or call.call_id not in self._calls:
            return
        call.ppp.handle_timer(now=self.now())
        self._service_ppp(call)
        self._pump()

    def _on_ppp_event(self, call: _Call, ev, now: float) -> None:
        if isinstance(ev, pe.IpPacket):
            call.last_activity = now
            self.dp.deliver(call.key.vr, call.ifname, ev.packet)
        elif isinstance(ev, pe.AuthRequest):
            self._check_cpe(call, ev)
        elif isinstance(ev, pe.PeerAuthenticated):
            call.peer_name = ev.username
            self._trace("ppp", f"{call.ifname}: peer authenticated as {ev.username}")
        elif isinstance(ev, pe.AuthFailed):
            call.down_reason = f"PPP authentication failed ({ev.direction}): {ev.reason}"
            self._trace("ppp", f"{call.ifname}: {call.down_reason}")
        elif isinstance(ev, pe.NetworkUp):
            call.up_since = now
            call.last_activity = now
            routes = self._access_routes(call, ev.peer_ip)
            self.dialout.on_ppp_up(call.key, routes, ev.peer_ip, now=now, local_ip=ev.local_ip)
            self._account_start(call, ev.peer_ip)
        elif isinstance(ev, pe.LinkDown):
            reason = call.down_reason or f"PPP down: {ev.reason}"
            self._end_call(call, reason, now=now, report=True)

    @staticmethod
    def _access_routes(call: _Call, peer_ip) -> tuple[ipaddress.IPv4Network, ...]:
        """From the CPE's Access-Accept (dialout.md §6), else the IPCP peer address /32."""
        f = call.framed
        if f is None:
            return ds.access_routes_from(peer_ip=peer_ip)
        return ds.access_routes_from(framed_routes=f.routes, framed_ip=f.ip,
                                     framed_netmask=f.netmask, peer_ip=peer_ip)

    def _check_cpe(self, call: _Call, ev: pe.AuthRequest) -> None:
        vr = call.auth_vr or call.key.vr
        vrc = self._vr_config(vr)
        link = call.ppp

        def answer(ok: bool, message: str = "") -> None:
            if call.ppp is link and call.call_id in self._calls:
                link.auth_result(ev.request_id, ok, message, now=self.now())
                self._service_ppp(call)
                self._flush_l2tp()

        if vrc.aaa_ppp == "none":
            answer(True)
            return
        if ev.protocol == "pap":
            spec = radius.pap_request(ev.username, ev.password or b"", nas_ip=self.nas_ip,
                                      calling_station_id=str(call.key.dst))
        else:
            spec = radius.chap_request(ev.username, ev.chap_id, ev.chap_challenge,
                                       ev.chap_response, nas_ip=self.nas_ip,
                                       calling_station_id=str(call.key.dst))

        def done(reply) -> None:
            ok = getattr(reply, "code", None) == "accept"
            if ok:
                call.framed = radius.parse_framed(reply)
            answer(ok, "Authentication success" if ok else "Authentication failure")

        if not self._radius_ask(vr, spec, done):
            answer(False, "no RADIUS server")

    def _accounting(self, call: _Call) -> bool:
        """Accounting runs where the CPE was authenticated, when that VR has a server."""
        entry = self._radius.get(call.auth_vr or call.key.vr)
        return entry is not None and any(s.kind == "acct" for s in entry.servers)

    def _account_start(self, call: _Call, peer_ip) -> None:
        if not self._accounting(call):
            return
        call.acct_id = f"{call.tunnel_id:04x}{call.session_id:04x}{int(self.now()):08x}"
        spec = radius.accounting_start(call.acct_id, user_name=call.peer_name or None,
                                       nas_ip=self.nas_ip, framed_ip=peer_ip,
                                       calling_station_id=str(call.key.dst))
        self._radius_ask(call.auth_vr or call.key.vr, spec, lambda _r: None)

    def _account_stop(self, call: _Call, reason: str, now: float) -> None:
        if not call.acct_id or call.ppp is None:
            return
        s = call.ppp.snapshot().counters
        cause = "idle-timeout" if "inactivity" in reason else (
            "session-timeout" if "Session-Timeout" in reason else (
                "admin-reset" if "clear" in reason else "user-request"))
        spec = radius.accounting_stop(call.acct_id, user_name=call.peer_name or None,
                                      nas_ip=self.nas_ip, framed_ip=call.ppp.peer_ip,
                                      session_time=int(now - (call.up_since or now)),
                                      input_octets=s.ip_rx_octets, output_octets=s.ip_tx_octets,
                                      input_packets=s.ip_rx_packets,
                                      output_packets=s.ip_tx_packets, terminate_cause=cause)
        call.acct_id = ""
        self._radius_ask(call.auth_vr or call.key.vr, spec, lambda _r: None)

    def _housekeep(self) -> None:
        """Once a second: ``ip inactivity-timer`` and RADIUS Session-Timeout."""
        now = self.now()
        for call in list(self._calls.values()):
            if call.up_since is None:
                continue
            idle = call.profile.ip_inactivity_timer if call.profile else 0
            if call.framed is not None and call.framed.idle_timeout:
                idle = call.framed.idle_timeout
            if idle and now - call.last_activity >= idle:
                self._end_call(call, "ip inactivity-timer expired", now=now, report=True)
                continue
            st = call.framed.session_timeout if call.framed is not None else None
            if st and now - call.up_since >= st:
                self._end_call(call, "Session-Timeout expired", now=now, report=True)
        self._pump()
        self._housekeeping = self.loop.call_later(1.0, self._housekeep)

    # ================================================================ L2TP events
    def _on_l2tp_event(self, ev) -> None:
        self._in_l2tp_event += 1
        try:
            self._handle_l2tp_event(ev)
        finally:
            self._in_l2tp_event -= 1

    def _handle_l2tp_event(self, ev) -> None:
        now = self.now()
        if isinstance(ev, le.PppFrame):
            call = self._by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is not None and call.ppp is not None:
                call.ppp.receive_frame(ev.frame, now=now)
                self._service_ppp(call)
        elif isinstance(ev, le.CallUp):
            call = self._by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is not None:
                call.established = True
                self.dialout.on_call_result(call.call_id, True, now=now,
                                            tunnel_id=ev.tunnel_id, session_id=ev.session_id)
        elif isinstance(ev, le.CallDown):
            call = self._by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is not None:
                reason = call.down_reason or (
                    f"CDN result {ev.result_code} error {ev.error_code}"
                    + (f": {ev.message}" if ev.message else ""))
                self._end_call(call, reason, now=now, report=True, send_cdn=False)
        elif isinstance(ev, le.TunnelUp):
            ref = self._tunnel_refs.get(ev.tunnel_id)
            if ref is not None:
                self.dialout.on_tunnel_result(ref, True, now=now, tunnel_id=ev.tunnel_id)
        elif isinstance(ev, le.TunnelDown):
            ref = self._tunnel_refs.pop(ev.tunnel_id, None)
            for call in [c for c in self._calls.values() if c.tunnel_id == ev.tunnel_id]:
                self._end_call(call, "tunnel down", now=now, report=False, send_cdn=False)
            if ref is not None:
                self._tunnel_ids.pop(ref, None)
                reason = (f"StopCCN result {ev.result_code}" + (f": {ev.message}" if ev.message
                                                               else ""))
                if not ev.by_peer and ev.result_code == 0:
                    reason = ev.message or "no answer"
                self.dialout.on_tunnel_result(ref, False, reason, now=now)
        elif isinstance(ev, le.OutgoingCallRequested):
            # the LNS accepts no outgoing call requests
            self.l2tp.reject_outgoing_call(ev.tunnel_id, ev.session_id, result=2, now=now)
        self._pump()

    # ================================================================ dataplane callbacks
    def _on_trigger(self, vr: str, packet: bytes) -> None:
        hdr = icmp.parse_ipv4(packet)
        if hdr is None:
            return
        self.dialout.on_trigger(vr, hdr.dst, packet, now=self.now())
        self._pump()

    def _on_session_packet(self, vr: str, ifname: str, packet: bytes) -> None:
        call = self._by_if.get((vr, ifname))
        if call is None or call.ppp is None:
            return
        call.ppp.send_ip(packet)
        call.last_activity = self.now()
        self._service_ppp(call)
        self._flush_l2tp_soon()

    def _on_local_packet(self, vr: str, packet: bytes) -> None:
        echo = icmp.parse_echo(packet)
        if echo is None:
            return
        if echo.type == 8:                         # echo request to one of our addresses
            reply = icmp.echo_reply_for(packet)
            if reply is not None:
                self.dp.send_from_vr(vr, reply)
            return
        cb = self._pinging.get((vr, echo.ident))
        if cb is not None:
            cb(packet)

    # ================================================================ operations
    def _source_address(self, vr: str) -> str:
        vrc = self._vr_config(vr)
        if vrc.loopbacks:
            return str(sorted(vrc.loopbacks)[0][1].ip)
        return "192.0.2.1"

    async def ping(self, vr: str, dst: str, *, count: int = 5, timeout: float = 2.0,
                   size: int = 56, source: str | None = None) -> PingResult:
        src = source or self._source_address(vr)
        self._ping_ident = (self._ping_ident % 0xFFFF) + 1
        ident = self._ping_ident
        waiters: dict[int, asyncio.Future] = {}

        def on_reply(packet: bytes) -> None:
            e = icmp.parse_echo(packet)
            fut = waiters.get(e.seq) if e is not None else None
            if fut is not None and not fut.done():
                fut.set_result(self.loop.time())

        self._pinging[(vr, ident)] = on_reply
        rtts = []
        try:
            payload = bytes(i & 0xFF for i in range(size))
            for seq in range(count):
                fut = self.loop.create_future()
                waiters[seq] = fut
                sent = self.loop.time()
                pkt = icmp.build_echo_request(src, dst, ident, seq, payload)
                self.dp.send_from_vr(vr, pkt)
                self._pump()
                try:
                    got = await asyncio.wait_for(fut, timeout)
                    rtts.append((got - sent) * 1000.0)
                except asyncio.TimeoutError:
                    pass
        finally:
            self._pinging.pop((vr, ident), None)
        return PingResult(count, len(rtts), tuple(rtts))

    def clear_sessions(self, vr: str | None = None, dst=None) -> int:
        n = self.dialout.clear(vr, dst, now=self.now())
        self._pump()
        return n

    def reset_sessions(self, vr: str | None = None, dst=None) -> int:
        n = self.dialout.reset(vr, dst, now=self.now())
        self._pump()
        return n

    def clear_tunnels(self, tunnel_id: int | None = None) -> int:
        now = self.now()
        ids = [tunnel_id] if tunnel_id is not None else list(self.l2tp.tunnels)
        n = 0
        for tid in ids:
            if tid in self.l2tp.tunnels:
                self.l2tp.close_tunnel(tid, now=now)
                n += 1
        self._pump()
        return n

    def clear_radius_statistics(self) -> None:
        for r in self._radius.values():
            r.client.reset_statistics()

    # ================================================================ snapshots and traces
    def snapshot(self) -> EngineSnapshot:
        now = self.now()
        ppp = tuple(PppInterfaceSnapshot(c.ifname, c.key.vr, str(c.key.dst), c.tunnel_id,
                                         c.session_id, c.ppp.snapshot())
                    for c in sorted(self._calls.values(), key=lambda c: c.call_id)
                    if c.ppp is not None and c.ifname)
        routes = tuple((vr, tuple(self.dp.routes(vr))) for vr in sorted(self._vrs_made)) \
            if self.dp is not None else ()
        return EngineSnapshot(
            now=now, started=self.started, dataplane=self.dataplane_kind,
            dialout=self.dialout.snapshot(now=now), l2tp=self.l2tp.snapshot(),
            l2tp_counters=dict(self.l2tp.counters), ppp=ppp,
            radius=tuple((vr, r.client.snapshot(now=now)) for vr, r in sorted(self._radius.items())),
            routes=routes)

    @property
    def debug(self) -> frozenset[str]:
        return self._debug

    @debug.setter
    def debug(self, kinds) -> None:
        """``debug l2tp`` and friends; control messages are described only while traced."""
        self._debug = frozenset(kinds)
        self.l2tp.trace = self._on_l2tp_trace if "l2tp" in self._debug else None
        self.dialout.trace = self._on_dialout_trace if "dial-out" in self._debug else None

    def set_debug(self, kind: str | None, on: bool) -> None:
        """Turn one kind of debug output on or off (``None``: every kind)."""
        if kind is None:
            self.debug = self._debug | {"l2tp", "dial-out", "ppp"} if on else ()
        else:
            self.debug = self._debug | {kind} if on else self._debug - {kind}

    def _trace(self, kind: str, line: str) -> None:
        if kind in self.debug:
            self.output(f"%{kind.upper()}: {line}")

    def _on_l2tp_trace(self, line: str) -> None:
        if "l2tp" in self.debug:
            self.output(f"L2TP: {line}")

    def _on_dialout_trace(self, ev: ds.DialoutTrace) -> None:
        if "dial-out" in self.debug:
            self.output(f"L2TP dial-out [{ev.vr}]: {ev.line}")

