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
  one timer (``driver.CoreTimer``) at its ``get_timer()``.  Inactivity and Session-Timeout are
  deadlines of the dial-out service (``engine.dialout.deadlines``), fired by its timer.

Parts (one reason to change each): ``aaa_glue`` (RADIUS clients, dial-out authorisation,
accounting), ``ppp_glue`` (PPP links, CPE credentials, renegotiation), ``l2tp_glue`` (tunnels,
calls, endpoint events), ``dataplane_glue`` (VRs, addresses, routes, session interfaces),
``calls`` (the call table), ``tracing`` (the debug kinds and their tracers), ``snapshots``
(read-only views: ``EngineReads`` answers the show commands per object, by key or as lazy
iterators; ``snapshot()`` copies everything and is for tests and tools only), ``teardown``
(a large ``clear l2tp dial-out session`` and the sessions of a tunnel gone down, ended a slice
per loop turn).
``Engine`` wires them together, applies the configuration and carries out the dial-out
requests.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine import icmp
from engine.aio import aaa_glue, memory
from engine.aio.aaa_glue import (
    AUTH_PROTOCOL_CODES,
    AUTH_PROTOCOLS,
    Accounting,
    RadiusClients,
)
from engine.aio.calls import Call, CallTable
from engine.aio.config import EngineConfig, L2tpDefaults, VirtualRouterConfig
from engine.aio.dataplane_glue import DataplaneGlue
from engine.aio.dialin_glue import DialinGlue
from engine.aio.driver import CoreTimer
from engine.aio.entropy import PooledRandom
from engine.aio.l2tp_glue import L2TP_PORT, L2tpGlue
from engine.aio.ppp_glue import PppGlue
from engine.aio.snapshots import (
    ClearProgress,
    EngineReads,
    EngineSnapshot,
    PingResult,
    PppInterfaceSnapshot,
    subscriber_label,
)
from engine.aio.teardown import TEARDOWN_SLICE, Teardown
from engine.aio.tracing import EngineDebug, format_dialout_trace
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause
from engine.dialout.targets import TargetConfig as DsTargetConfig
from engine.dialout.targets import TargetState
from engine.l2tp.config import L2tpConfig
from engine.l2tp.connection import L2tpEndpoint
from engine.l2tp.udp import L2tpUdpAdapter

log = logging.getLogger(__name__)


__all__ = ["AUTH_PROTOCOLS", "AUTH_PROTOCOL_CODES", "L2TP_PORT", "TEARDOWN_SLICE", "Engine",
           "EngineSnapshot", "PingResult", "PppInterfaceSnapshot", "format_dialout_trace"]



class Engine(EngineDebug):
    """Owns the dial-out service, the L2TP endpoint, RADIUS clients, PPP links and dataplane."""

    def __init__(self, *, dataplane: str = "sim", rng: random.Random | None = None,
                 l2tp_bind: tuple[str, int] = ("0.0.0.0", 0), nas_ip: str = "127.0.0.1",
                 keep_namespaces: bool = False, netns_prefix: str = "jcli-",
                 output: Callable[[str], None] | None = None) -> None:
        self.rng = rng or PooledRandom()
        self.dataplane_kind = dataplane
        self.l2tp_bind = l2tp_bind
        self.nas_ip = nas_ip
        self.keep_namespaces = keep_namespaces
        self.netns_prefix = netns_prefix
        self.output = output or (lambda line: print(line, flush=True))
        self.config = EngineConfig()
        self._unconfigured: dict[str, VirtualRouterConfig] = {}   # VRs named, not configured
        self._debug: frozenset[str] = frozenset()   # "l2tp", "dial-out", "ppp"
        self.dialout = ds.DialoutService(keep_events=False)
        # dialout.md §7: initIncomplete until start() has the L2TP socket and the dataplane
        self.dialout.set_chassis_state(ds.ChassisState.INIT_INCOMPLETE)
        self.l2tp = L2tpEndpoint(rng=self.rng, host_name="host1", config=L2tpConfig())
        self.l2tp.acceptance = self.config.l2tp_acceptance     # LNS: closed until configured
        self.loop: asyncio.AbstractEventLoop | None = None
        self.l2tp_adapter: L2tpUdpAdapter | None = None
        self._calls = CallTable()
        # per VR: the configuration last applied and its dial-out form (unchanged VRs are skipped)
        self._applied_vrs: dict[str, tuple[VirtualRouterConfig, ds.VrConfig]] = {}
        self.radius = RadiusClients(rng=self.rng, nas_ip=nas_ip, now=self.now,
                                    after_event=self._pump)
        self.radius.tracer = self._radius_tracer
        self.accounting = Accounting(self.radius)
        self.dataplane = DataplaneGlue(self._calls, lambda line: self.output(line))
        self.ppp = PppGlue(self)
        self.l2tp_glue = L2tpGlue(self)
        self.dialin = DialinGlue(self)               # incoming calls (LNS role)
        self._dialout_timer: CoreTimer | None = None
        self._pinging: dict[tuple[str, int], Callable[[bytes], None]] = {}
        self._ping_ident = self.rng.randrange(1, 0xFFFF)
        self._pumping = False
        self.started = time.time()
        # ---- show-facing reads; sessions ended in slices (clears, tunnels gone down)
        self.reads = EngineReads(self)
        self.teardown = Teardown(self)
        self.memory_releases = 0                     # after_teardown runs
        # (a dial-out session and its call are one session: the larger of the two counts)
        self.collector = memory.Collector(lambda: max(len(self._calls), len(self.dialout)))

    @property
    def dp(self) -> Any:
        """The dataplane (SimDataplane or LinuxDataplane) once started, else None."""
        return self.dataplane.dp

    # ================================================================ lifecycle
    async def start(self) -> Engine:
        self.collector.install()         # short collector pauses with many sessions up
        self.loop = asyncio.get_running_loop()
        dp: Any
        if self.dataplane_kind == "linux":
            from engine.dataplane.linux import LinuxDataplane
            dp = LinuxDataplane(prefix=self.netns_prefix, keep_namespaces=self.keep_namespaces)
            stale = dp.reconcile_stale()
            if stale:
                log.warning("removed stale namespaces of an earlier run: %s", ", ".join(stale))
        else:
            from engine.dataplane.sim import SimDataplane
            dp = SimDataplane()
        dp.on_trigger = self._on_trigger
        dp.on_session_packet = self._on_session_packet
        dp.on_local_packet = self._on_local_packet
        self.dataplane.dp = dp
        # the service ignores an early timer: an armed timer is kept while it fires in time
        self._dialout_timer = CoreTimer(self.loop, self.dialout, self._pump, keep_earlier=True)
        self.l2tp_adapter = L2tpUdpAdapter(self.l2tp, self.l2tp_bind,
                                           on_event=self.l2tp_glue.on_event,
                                           after_service=self.l2tp_glue.after_batch).start()
        self.dataplane.ensure_vr("default")
        self.dialout.set_chassis_state(ds.ChassisState.IN_SERVICE, now=self.now())
        self.apply_config(self.config)
        return self

    async def stop(self) -> None:
        self.teardown.cancel()
        self.collector.uninstall()
        now = self.now()
        for call in self._calls.values():
            self.end_call(call, "administrative shutdown", TerminateCause.ADMIN_REBOOT, now=now,
                          report=False)
        for tid in list(self.l2tp.tunnels):
            self.l2tp.close_tunnel(tid, now=now)
        if self.l2tp_adapter is not None:
            self.l2tp_adapter.flush()
            await asyncio.sleep(0.05)
            self.l2tp_adapter.close()
            self.l2tp_adapter = None
        self.radius.close()
        if self._dialout_timer is not None:
            self._dialout_timer.cancel()
        if self.dp is not None:
            self.dp.close()
            self.dataplane.dp = None

    def now(self) -> float:
        return self.loop.time() if self.loop is not None else 0.0

    @property
    def l2tp_local_addr(self) -> tuple[str, int]:
        assert self.l2tp_adapter is not None
        return self.l2tp_adapter.local_addr

    # ================================================================ configuration
    def _apply_l2tp_socket(self, l2tp: L2tpDefaults) -> None:
        """`l2tp udp-port` (a busy port is reported and retried on the next change) and
        `l2tp checksum` (UDP checksums on data messages)."""
        ad = self.l2tp_adapter
        if ad is None:
            return
        if l2tp.udp_port is not None and l2tp.udp_port != ad.requested_addr[1]:
            ad.rebind((ad.requested_addr[0], l2tp.udp_port), fallback=True)
        try:
            ad.set_data_checksums(l2tp.checksum)
        except OSError as e:
            log.warning("l2tp checksum: %s", e)

    def apply_config(self, config: EngineConfig) -> None:
        """Reconcile everything from the configuration (idempotent)."""
        self.config = config
        if self.loop is None:
            return
        now = self.now()
        self.l2tp.host_name = config.l2tp.host_name or config.hostname
        lc = self.l2tp.config
        idle = config.l2tp.tunnel_idle_timeout
        self.l2tp.config = replace(lc, max_retries=config.l2tp.retransmissions,
                                   hello_interval=float(config.l2tp.hello_interval),
                                   receive_window=config.l2tp.receive_window,
                                   tunnel_idle_timeout=float(idle) if idle > 0 else None)
        self.l2tp.acceptance = config.l2tp_acceptance
        self._apply_l2tp_socket(config.l2tp)
        names = {"default"} | {v.name for v in config.vrs}
        failed = {name for name in sorted(names) if not self.dataplane.ensure_vr(name)}
        for name in sorted(set(self.dataplane.vr_failures) - names):
            del self.dataplane.vr_failures[name]
        for name in sorted(self.dataplane.vrs_made - names):
            self.radius.remove(name)
            self.dataplane.remove_vr(name)
            self._applied_vrs.pop(name, None)
        ds_vrs = []
        for v in config.vrs:
            if v.name in failed:
                # no context in the dataplane: nothing of the VR is installed (its targets
                # neither), everything is retried at the next apply
                self._applied_vrs.pop(v.name, None)
                ds_vrs.append(ds.VrConfig(name=v.name, targets=(),
                                          max_buffered_triggers=v.max_buffered_triggers,
                                          route_distinguisher=v.route_distinguisher,
                                          profiles=frozenset(p.name for p in v.profiles)))
                continue
            done = self._applied_vrs.get(v.name)
            if done is None or done[0] != v:      # only the virtual routers that changed
                self.dataplane.apply_addresses(v)
                complete = self.dataplane.apply_static(v)
                self.radius.apply(v, self.loop, self.dataplane.socket_factory(v.name))
                done = (v, ds.VrConfig(
                    name=v.name,
                    targets=tuple(DsTargetConfig(prefix=t.prefix, domain=t.domain,
                                                 profile=t.profile) for t in v.targets),
                    max_buffered_triggers=v.max_buffered_triggers,
                    route_distinguisher=v.route_distinguisher,
                    profiles=frozenset(p.name for p in v.profiles)))
                if complete:            # a refused route is retried at the next apply
                    self._applied_vrs[v.name] = done
                else:
                    self._applied_vrs.pop(v.name, None)
            ds_vrs.append(done[1])
        dcfg = ds.DialoutConfig(chassis=config.chassis, vrs=tuple(ds_vrs))
        self.dialout.apply_config(dcfg, now=now)
        self.dialin.apply_pools()
        for v in config.vrs:
            if v.name in failed:
                self.dialout.set_vr_state(v.name, ds.VrState.INIT_FAILED,
                                          self.dataplane.vr_failures[v.name], now=now)
            else:
                self.dialout.set_vr_state(v.name, self._vr_dialout_state(v), now=now)
                for t in v.targets:
                    why = self._target_inhibited_by(v, t.domain, t.profile)
                    self.dialout.set_target_state(
                        v.name, t.prefix, TargetState.INHIBITED if why else
                        TargetState.IN_SERVICE, why, now=now)
        self._pump()

    def _vr_dialout_state(self, v: VirtualRouterConfig) -> str:
        """A VR whose targets cannot reach any RADIUS server is down (dialout.md §7); a
        target mapped to a virtual router that does not exist is inhibited instead."""
        for t in v.targets:
            name = self.auth_vr_for_domain(v.name, t.domain)
            if self.config.vr(name) is None and name != v.name:
                continue
            if not self.vr_config(name).radius_auth:
                return ds.VrState.DOWN
        return ds.VrState.IN_SERVICE

    def _target_inhibited_by(self, v: VirtualRouterConfig, domain: str, profile: str) -> str:
        """Why a target cannot handle triggers (dialout.md §7 inhibited): the virtual
        router that authorises its dial-outs, or the one its profile checks the CPE in, does
        not exist.  Empty when it can."""
        name = self.auth_vr_for_domain(v.name, domain)
        if name != v.name and self.config.vr(name) is None:
            return f'domain {domain} maps to virtual router "{name}", which does not exist'
        prof = v.profile(profile)
        if prof is not None and prof.ppp_auth_vr and self.config.vr(prof.ppp_auth_vr) is None:
            return (f'profile "{profile}" checks the CPE in virtual router '
                    f'"{prof.ppp_auth_vr}", which does not exist')
        return ""

    def vr_config(self, name: str) -> VirtualRouterConfig:
        """The configuration of VR ``name``; an empty one, made once, when it has none."""
        v = self.config.vr(name)
        if v is None:
            v = self._unconfigured.get(name)
            if v is None:
                v = self._unconfigured[name] = VirtualRouterConfig(name)
        return v

    def auth_vr_for_domain(self, vr: str, domain: str) -> str:
        for source in (vr, "default"):
            for d, target_vr in self.vr_config(source).domain_map:
                if d.lower() == domain.lower():
                    return target_vr
        return vr

    # ================================================================ dial-out requests
    def _pump(self) -> None:
        """Carry out every pending dial-out request, then flush L2TP and re-arm the timer."""
        if self._pumping:
            return
        self._pumping = True
        try:
            while True:
                req = self.dialout.next_request()
                if req is None:
                    break
                try:
                    self._carry_out(req)
                except Exception as e:                  # a bug must not stop the router
                    # one line naming the request's kind: its fields hold tunnel secrets
                    log.error("dial-out request %s failed: %s", type(req).__name__, type(e).__name__)
                    log.debug("dial-out request %s", type(req).__name__, exc_info=True)
        finally:
            self._pumping = False
        self.flush_l2tp()
        if self.l2tp_glue.in_batch:
            self.l2tp_glue.arm_after_batch(self._dialout_timer)
        elif self._dialout_timer is not None:
            self._dialout_timer.arm()

    def _carry_out(self, req: ds.Request) -> None:
        match req:
            case ds.AuthorizeRequest():
                aaa_glue.authorize(self.radius, self.dialout, req,
                                   self.auth_vr_for_domain(req.vr, req.domain))
            case ds.OpenTunnel():
                self.l2tp_glue.open_tunnel(req)
            case ds.PlaceCall():
                self.l2tp_glue.place_call(req)
            case ds.StartPpp():
                self.ppp.start(req)
            case ds.InstallRoutes():
                self.dataplane.install_routes(req)
            case ds.RemoveRoutes():
                self.dataplane.remove_routes(req)
            case ds.ForwardPackets():
                self._forward(req)
            case ds.TearDown():
                call = self._calls.get(req.call_id)
                if call is not None:
                    self.end_call(call, req.reason, req.cause, now=self.now(), report=False)
            case ds.CloseTunnel():
                self.l2tp_glue.close_tunnel(req)
            case _:
                log.error("unknown dial-out request %r", req)

    def _forward(self, req: ds.ForwardPackets) -> None:
        call = self._calls.by_if.get((req.vr, req.ifname)) if req.ifname else None
        if call is None or call.ppp is None:
            return
        for p in req.packets:
            call.ppp.send_ip(p)
        self.dialout.deadlines.activity(call.key, now=self.now())
        self.ppp.service(call)

    def flush_l2tp(self) -> None:
        self.l2tp_glue.flush()

    # ================================================================ calls
    def end_call(self, call: Call, reason: str, cause: TerminateCause, *, now: float,
                 report: bool, send_cdn: bool = True) -> None:
        """Tear the call down locally (LCP Terminate, CDN, accounting Stop with ``cause``);
        report to dial-out if asked."""
        if not self._calls.pop(call):
            return
        if call.ppp is not None:
            self.ppp.close(call, reason, now=now)
            self.accounting.stop(call, cause, now=now)
        if call.dialin is not None:                # incoming call: routes, address, timers
            self.dialin.ended(call)
            report = False
        if call.ifname is not None:
            self.dataplane.remove_interface(call.key.vr, call.ifname)
        if send_cdn:
            self.l2tp.disconnect_call(call.tunnel_id, call.session_id, message=reason,
                                      now=now)
        if call.ppp_timer is not None:          # the timer and the link point back at the call
            call.ppp_timer.cancel()
            call.ppp_timer = None
        if call.ppp is not None:
            call.ppp.release()
        if report:
            if call.established:
                self.dialout.on_call_down(call.key, reason, now=now)
            else:
                self.dialout.on_call_result(call.call_id, False, reason, now=now)

    # ================================================================ dataplane callbacks
    def _on_trigger(self, vr: str, packet: bytes) -> None:
        hdr = icmp.parse_ipv4(packet)
        if hdr is None:
            return
        self.dialout.on_trigger(vr, hdr.dst, packet, now=self.now())
        self._pump()

    def _on_session_packet(self, vr: str, ifname: str, packet: bytes) -> None:
        call = self._calls.by_if.get((vr, ifname))
        if call is None or call.ppp is None:
            return
        call.ppp.send_ip(packet)
        self.dialout.deadlines.activity(call.key, now=self.now())
        self.ppp.service(call)
        self.l2tp_glue.flush_soon()

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
        vrc = self.vr_config(vr)
        if vrc.loopbacks:
            return str(min(vrc.loopbacks)[1].ip)
        return "192.0.2.1"

    async def ping(self, vr: str, dst: str, *, count: int = 5, timeout: float = 2.0,
                   size: int = 56, source: str | None = None) -> PingResult:
        loop = self.loop
        assert loop is not None
        src = source or self._source_address(vr)
        self._ping_ident = (self._ping_ident % 0xFFFF) + 1
        ident = self._ping_ident
        waiters: dict[int, asyncio.Future[float]] = {}

        def on_reply(packet: bytes) -> None:
            e = icmp.parse_echo(packet)
            fut = waiters.get(e.seq) if e is not None else None
            if fut is not None and not fut.done():
                fut.set_result(loop.time())

        self._pinging[(vr, ident)] = on_reply
        rtts = []
        try:
            payload = bytes(i & 0xFF for i in range(size))
            for seq in range(count):
                fut: asyncio.Future[float] = loop.create_future()
                waiters[seq] = fut
                sent = loop.time()
                pkt = icmp.build_echo_request(src, dst, ident, seq, payload)
                self.dp.send_from_vr(vr, pkt)
                self._pump()
                try:
                    got = await asyncio.wait_for(fut, timeout)
                    rtts.append((got - sent) * 1000.0)
                except TimeoutError:
                    pass
        finally:
            self._pinging.pop((vr, ident), None)
        return PingResult(count, len(rtts), tuple(rtts))

    def clear_sessions(self, vr: str | None = None, dst: Any = None) -> int:
        n = self.dialout.clear(vr, dst, now=self.now())
        self._pump()
        return n

    # ---------------------------------------------------------------- teardown in slices
    def start_clear(self, vr: str | None = None, dst: Any = None) -> tuple[int, bool]:
        """``clear l2tp dial-out session``: (sessions named, whether all are gone already).
        Up to ``TEARDOWN_SLICE`` sessions are cleared at once; more are queued and cleared a
        slice per loop turn (CDNs then leave at the pace of each tunnel's window), so the
        router keeps answering; ``clear_progress`` tells how far it is."""
        keys = self.dialout.select(vr, dst)
        return len(keys), self.teardown.clear(keys)

    def clear_progress(self) -> ClearProgress | None:
        """The clear under way, or None."""
        return self.teardown.clearing()

    def teardown_progress(self) -> ClearProgress | None:
        """The sessions of tunnels gone down still being ended, or None."""
        return self.teardown.tunnels_down()

    def after_teardown(self) -> None:
        """A large teardown is done (a sliced clear, the sessions of a tunnel): give the memory
        it freed back to the system (``engine.aio.memory``)."""
        self.memory_releases += 1
        self.collector.release()

    def reset_sessions(self, vr: str | None = None, dst: Any = None) -> int:
        n = self.dialout.reset(vr, dst, now=self.now())
        self._pump()
        return n

    def clear_tunnels(self, tunnel_id: int | None = None) -> int:
        now = self.now()
        ids = [tunnel_id] if tunnel_id is not None else list(self.l2tp.tunnels)
        n = 0
        for tid in ids:
            if tid in self.l2tp.tunnels:
                self.l2tp.close_tunnel(tid, message="cleared by operator", now=now)
                n += 1
        self._pump()
        return n

    def clear_calls(self, tunnel_id: int | None = None, session_id: int | None = None) -> int:
        """``clear l2tp session``: end the calls (every one, or the one with these local
        ids), dial-in or dial-out, with a CDN saying so; dial-out sessions go dormant as
        after any call-down."""
        now = self.now()
        keys = [(tid, sid) for tid, t in list(self.l2tp.tunnels.items()) for sid in list(t.calls)
                if tunnel_id is None or (tid, sid) == (tunnel_id, session_id)]
        for tid, sid in keys:
            call = self._calls.by_l2tp.get((tid, sid))
            if call is not None:
                self.end_call(call, "cleared by operator", TerminateCause.ADMIN_RESET, now=now,
                              report=True)
            else:                       # a call with no session yet (before ICCN / OCRP)
                self.l2tp.disconnect_call(tid, sid, message="cleared by operator", now=now)
        self._pump()
        return len(keys)

    def clear_radius_statistics(self) -> None:
        self.radius.reset_statistics()

    # ================================================================ snapshots and traces
    def snapshot(self) -> EngineSnapshot:
        now = self.now()
        ppp = tuple(PppInterfaceSnapshot(c.ifname, c.key.vr, str(c.key.dst), c.tunnel_id,
                                         c.session_id, c.ppp.snapshot(), subscriber_label(c))
                    for c in sorted(self._calls.values(), key=lambda c: c.call_id)
                    if c.ppp is not None and c.ifname)
        return EngineSnapshot(
            now=now, started=self.started, dataplane=self.dataplane_kind,
            dialout=self.dialout.snapshot(now=now), l2tp=self.l2tp.snapshot(),
            l2tp_counters=dict(self.l2tp.counters), ppp=ppp,
            radius=self.radius.snapshot(now=now), routes=self.dataplane.routes(),
            radius_unknown_sources=tuple((vr, r.client.counters["unknown_source"])
                                         for vr, r in sorted(self.radius.by_vr.items())),
            l2tp_local=self.l2tp_adapter.local_addr if self.l2tp_adapter is not None else None,
            l2tp_bind_error=self.l2tp_adapter.bind_error if self.l2tp_adapter is not None else None,
            subscribers=self.dialin.snapshot(now=now))
