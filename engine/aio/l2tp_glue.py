"""L2TP glue: tunnels and outgoing calls asked for by the dial-out service, and the endpoint's
events (tunnel/call up and down, PPP frames) turned into dial-out inputs and PPP input."""
from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.aio.calls import Call
from engine.aio.driver import CoreTimer
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause
from engine.l2tp import events as le
from engine.l2tp.avp import bearer_type_bits
from engine.l2tp.udp import PeerAddr

if TYPE_CHECKING:
    from engine.aio.engine import Engine

log = logging.getLogger(__name__)

L2TP_PORT = 1701


class L2tpGlue:
    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self.tunnel_ids: dict[int, int] = {}         # tunnel_ref -> l2tp tunnel id
        self.tunnel_refs: dict[int, int] = {}        # l2tp tunnel id -> tunnel_ref
        self.tunnel_keys: dict[int, tuple[Any, ...]] = {}   # l2tp tunnel id -> (LAC, secret, names)
        self.idle_tunnels: dict[tuple[Any, ...], int] = {}  # tunnels without sessions, kept open
        self._in_event = 0                           # >0 while the adapter delivers an event
        self._flush_scheduled = False
        # timers to re-arm once the adapter has delivered its whole batch of events
        self._to_arm: dict[CoreTimer, None] = {}

    # ---------------------------------------------------------------- flushing
    def flush(self) -> None:
        """Flush the L2TP adapter now, unless it is delivering an event right now: its own
        loop then sends the output (a nested flush per event would recurse once per event)."""
        adapter = self.e.l2tp_adapter
        if adapter is not None and not self._in_event:
            adapter.flush()

    def flush_soon(self) -> None:
        """Data path: a burst of packets from the dataplane costs one flush."""
        e = self.e
        if e.l2tp_adapter is not None and not self._flush_scheduled and e.loop is not None:
            self._flush_scheduled = True
            e.loop.call_soon(self._deferred_flush)

    @property
    def in_batch(self) -> bool:
        """True while the adapter delivers events: timers are re-armed after the batch."""
        return self._in_event > 0

    def arm_after_batch(self, timer: CoreTimer | None) -> None:
        if timer is not None:
            self._to_arm[timer] = None

    def after_batch(self) -> None:
        """The adapter delivered a batch of events: re-arm each timer they touched, once."""
        while self._to_arm:
            timers, self._to_arm = self._to_arm, {}
            for t in timers:
                t.arm()

    def _deferred_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    # ---------------------------------------------------------------- dial-out requests
    def open_tunnel(self, req: ds.OpenTunnel) -> None:
        e = self.e
        t = req.tunnel
        host = t.client_auth_id or e.l2tp.host_name
        # `l2tp disable challenge`: no tunnel authentication (and so no hidden AVPs)
        secret = t.password if e.config.l2tp.challenge else None
        source = t.client_endpoint or self._vr_source(req.vr)
        key = (t.server_endpoint, secret, host, t.server_auth_id, source)
        idle = self.idle_tunnels.pop(key, None)
        lt = e.l2tp.tunnels.get(idle) if idle is not None else None
        if idle is not None and lt is not None and lt.state == "established":
            # `l2tp tunnel-idle-timeout`: a tunnel kept open without sessions is used again
            self.tunnel_ids[req.tunnel_ref] = idle
            self.tunnel_refs[idle] = req.tunnel_ref
            assert e.loop is not None
            e.loop.call_soon(self._reuse_tunnel, req.tunnel_ref, idle)
            return
        peer: tuple[str, int] = (t.server_endpoint, L2TP_PORT)
        if source is not None:
            local = self.local_source(source)
            if local is None:
                assert e.loop is not None
                e.loop.call_soon(self._fail_tunnel, req.tunnel_ref,
                                 f"cannot start a tunnel from {source}")
                return
            peer = PeerAddr(t.server_endpoint, L2TP_PORT, local)
        tid = e.l2tp.open_tunnel(peer, secret=secret,
                                 host_name=host, expected_peer_host=t.server_auth_id,
                                 now=e.now())
        self.tunnel_ids[req.tunnel_ref] = tid
        self.tunnel_refs[tid] = req.tunnel_ref
        self.tunnel_keys[tid] = key

    def _vr_source(self, vr: str) -> str | None:
        src = self.e.vr_config(vr).l2tp_source
        return str(src) if src is not None else None

    def owner_vr(self, address: str) -> str | None:
        """The VR that has ``address`` on a port or a loopback (None: no VR has it)."""
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            return None
        for v in self.e.config.vrs:
            addrs = [p.address for p in v.ports] + [a for _u, a in v.loopbacks]
            if any(a is not None and a.ip == ip for a in addrs):
                return v.name
        return None

    def local_source(self, address: str) -> str | None:
        """The key of the L2TP socket bound to ``address`` (on the main socket's port, 1701
        unless configured otherwise) in the VR that owns the
        address (in the router's namespace when no VR has it), opened on first use; None
        when it cannot be bound."""
        e = self.e
        adapter = e.l2tp_adapter
        if adapter is None:
            return None
        vr = self.owner_vr(address)
        key = f"{vr or ''}/{address}"
        if key in adapter.locals:
            return key
        dp = e.dp
        factory: Callable[[], socket.socket] | None = None
        if vr is not None and hasattr(dp, "socket_in_vr"):     # even the default VR's
            def factory() -> socket.socket:
                return dp.socket_in_vr(vr)
        port = adapter.local_addr[1]          # every L2TP socket on the same port
        try:
            adapter.add_local(key, (address, port), factory)
        except (OSError, ValueError) as exc:
            log.warning("L2TP source %s:%d%s: %s", address, port,
                        f" in virtual-router {vr}" if vr else "",
                        getattr(exc, "strerror", None) or exc)
            return None
        return key

    def _fail_tunnel(self, ref: int, reason: str) -> None:
        e = self.e
        e.dialout.on_tunnel_result(ref, False, reason, now=e.now())
        e._pump()

    def _reuse_tunnel(self, ref: int, tid: int) -> None:
        e = self.e
        if self.tunnel_ids.get(ref) == tid and tid in e.l2tp.tunnels:
            e.dialout.on_tunnel_result(ref, True, now=e.now(), tunnel_id=tid)
            e._pump()

    def place_call(self, req: ds.PlaceCall) -> None:
        e = self.e
        tid = self.tunnel_ids.get(req.tunnel_ref)
        if tid is None or tid not in e.l2tp.tunnels:
            e.dialout.on_call_result(req.call_id, False, "tunnel gone", now=e.now())
            return
        c = req.call
        sid = e.l2tp.place_outgoing_call(tid, called_number=c.dial_out_number, min_bps=c.min_bps,
                                         max_bps=c.max_bps,
                                         bearer_type=bearer_type_bits(c.bearer_type),
                                         now=e.now())
        e._calls.add(Call(req.call_id, req.session_key, req.tunnel_ref, tid, sid))

    def close_tunnel(self, req: ds.CloseTunnel) -> None:
        tid = self.tunnel_ids.pop(req.tunnel_ref, None)
        if tid is not None:
            self.tunnel_refs.pop(tid, None)
            key = self.tunnel_keys.get(tid)
            if self.e.l2tp.config.tunnel_idle_timeout is not None and key is not None:
                # kept open for new sessions; the endpoint closes it after the idle timeout
                self.idle_tunnels[key] = tid
            else:
                # incoming calls the LAC placed on this tunnel keep it open until they end
                self.e.l2tp.release_tunnel(tid, now=self.e.now())

    # ---------------------------------------------------------------- endpoint events
    def on_event(self, ev: Any) -> None:
        self._in_event += 1
        try:
            self._handle(ev)
        finally:
            self._in_event -= 1

    def _handle(self, ev: Any) -> None:
        e = self.e
        now = e.now()
        calls = e._calls
        if isinstance(ev, le.PppFrame):
            call = calls.by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is not None and call.ppp is not None:
                call.ppp.receive_frame(ev.frame, now=now)
                e.ppp.service(call)
            elif call is None:
                e.dialin.early_frame(ev)
        elif isinstance(ev, le.CallUp):
            call = calls.by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is None and ev.direction == "incoming":
                e.dialin.call_up(ev)
            elif call is not None:
                call.established = True
                e.dialout.on_call_result(call.call_id, True, now=now,
                                         tunnel_id=ev.tunnel_id, session_id=ev.session_id)
        elif isinstance(ev, le.CallDown):
            call = calls.by_l2tp.get((ev.tunnel_id, ev.session_id))
            if call is not None:
                # a LAC hanging up after its PPP peer ended the link: the link's reason
                ppp_down = e.ppp.down_in_progress(call)
                reason = call.down_reason or (ppp_down[0] if ppp_down else
                                              le.describe_call_down(ev))
                cause = call.down_cause or (ppp_down[1] if ppp_down else
                                            TerminateCause.LOST_CARRIER)
                e.end_call(call, reason, cause, now=now, report=True, send_cdn=False)
        elif isinstance(ev, le.TunnelUp):
            ref = self.tunnel_refs.get(ev.tunnel_id)
            if ref is not None:
                e.dialout.on_tunnel_result(ref, True, now=now, tunnel_id=ev.tunnel_id)
        elif isinstance(ev, le.TunnelDown):
            key = self.tunnel_keys.pop(ev.tunnel_id, None)
            if key is not None and self.idle_tunnels.get(key) == ev.tunnel_id:
                del self.idle_tunnels[key]
            ref = self.tunnel_refs.pop(ev.tunnel_id, None)
            if ev.sessions:                  # what its calls ended with
                reason = le.describe_tunnel_down(ev)
            else:
                reason = (f"StopCCN result {ev.result_code}"
                          + (f": {ev.message}" if ev.message else ""))
                if not ev.by_peer and ev.result_code == 0:
                    reason = ev.message or "no answer"
            if ref is not None:
                self.tunnel_ids.pop(ref, None)
            # the service forgets the tunnel now; its sessions end a slice per loop turn
            e.teardown.tunnel_down(ref, reason, calls.take_tunnel(ev.tunnel_id))
        elif isinstance(ev, le.OutgoingCallRequested):
            # the LNS accepts no outgoing call requests
            e.l2tp.reject_outgoing_call(ev.tunnel_id, ev.session_id, result=2, now=now)
        elif isinstance(ev, le.IncomingCallRequested):
            e.dialin.incoming_requested(ev)
        e._pump()
