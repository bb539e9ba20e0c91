"""RADIUS glue: one client per virtual router, dial-out authorisation and accounting.

* ``RadiusClients`` keeps a ``RadiusClient`` + UDP adapter per VR in step with the VR's
  configured servers and routes replies to the callback of the request.
* ``authorize`` carries out ``AuthorizeRequest`` (Access-Request, Service-Type Outbound, to the
  VR the AAA domain map names) and turns the reply into a dial-out ``Grant`` or ``Denial``.
* ``Accounting`` sends one Start when a session comes up and one Stop when it ends, with the
  RFC 2866 Terminate-Cause the place that ended it named.
"""
from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.aaa import client as radius
from engine.aaa.tunnel_attrs import DialoutGrant, parse_dialout_reply
from engine.aaa.udp import RadiusUdpAdapter
from engine.aio.calls import Call
from engine.aio.config import VirtualRouterConfig
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause
from engine.dialout.selection import TunnelDef

log = logging.getLogger(__name__)

# ERX-PPP-Auth-Protocol: what the LNS accepts to authenticate itself (dialout.md §3)
AUTH_PROTOCOLS: dict[int, tuple[str, ...] | None] = {
    0: None, 1: ("pap",), 2: ("chap",), 3: ("pap", "chap"), 4: ("chap", "pap")}
AUTH_PROTOCOL_CODES = {protos: code for code, protos in AUTH_PROTOCOLS.items() if protos}

Callback = Callable[[Any], None]


@dataclass(slots=True, eq=False)
class VrRadius:
    servers: tuple[radius.RadiusServer, ...]
    client: radius.RadiusClient
    adapter: RadiusUdpAdapter | None = None
    local_host: str = "0.0.0.0"
    in_namespace: bool = False               # sockets made by the VR's socket factory
    callbacks: dict[int, Callback] = field(default_factory=dict)
    kinds: frozenset[str] = frozenset()      # the servers' kinds ("auth", "acct")

    def __post_init__(self) -> None:
        self.kinds = frozenset(s.kind for s in self.servers)


class RadiusClients:
    """The RADIUS clients of every virtual router."""

    def __init__(self, *, rng: random.Random, nas_ip: str, now: Callable[[], float],
                 after_event: Callable[[], None]) -> None:
        self.rng = rng
        self.nas_ip = nas_ip
        self.now = now
        self.after_event = after_event
        self.by_vr: dict[str, VrRadius] = {}
        self.sources: dict[str, str] = {}        # VR -> NAS-IP-Address of its requests
        # `debug radius`: gives the per-VR packet tracer (None while nobody listens)
        self.tracer: Callable[[str], Callable[[str], None] | None] = lambda vr: None

    def apply(self, v: VirtualRouterConfig, loop: asyncio.AbstractEventLoop,
              socket_factory: Callable[[], socket.socket] | None) -> None:
        servers = tuple(
            radius.RadiusServer(s.address, s.port, s.key.encode(), timeout=s.timeout,
                                retransmit=s.retransmit, deadtime_s=s.deadtime_min * 60.0,
                                kind=kind, max_sessions=s.max_sessions,
                                require_message_authenticator=s.require_message_authenticator)
            for kind, group in (("auth", v.radius_auth), ("acct", v.radius_acct)) for s in group)
        local_host = str(v.radius_update_source) if v.radius_update_source else "0.0.0.0"
        source = (str(v.radius_update_source) if v.radius_update_source
                  else source_toward(servers, socket_factory) or self.nas_ip)
        cur = self.by_vr.get(v.name)
        in_namespace = socket_factory is not None
        if (cur is not None and cur.servers == servers and cur.local_host == local_host
                and cur.in_namespace == in_namespace):
            cur.client.nas_ip = self.sources[v.name] = source
            return
        if cur is not None:
            self.remove(v.name)
        self.sources[v.name] = source
        if not servers:
            return
        client = radius.RadiusClient(list(servers), rng=self.rng, nas_ip=source)
        entry = VrRadius(servers, client, local_host=local_host, in_namespace=in_namespace)
        try:
            entry.adapter = self._adapter(entry, v.name, loop, socket_factory)
        except OSError as exc:      # update-source-addr not an address of the VR (yet)
            log.warning("virtual-router %s: RADIUS source %s: %s; using any", v.name,
                        local_host, exc.strerror or exc)
            entry.local_host = "0.0.0.0"
            entry.adapter = self._adapter(entry, v.name, loop, socket_factory)
            entry.local_host = local_host        # retried at the next change
        self.by_vr[v.name] = entry

    def nas_ip_for(self, vr: str) -> str:
        """NAS-IP-Address of ``vr``'s requests: ``radius update-source-addr``, else the
        address its requests leave from toward its first server."""
        return self.sources.get(vr, self.nas_ip)

    def _adapter(self, entry: VrRadius, vr: str, loop: asyncio.AbstractEventLoop,
                 socket_factory: Callable[[], socket.socket] | None) -> RadiusUdpAdapter:
        def on_event(ev: Any) -> None:
            self._on_event(entry, ev)

        adapter = RadiusUdpAdapter(entry.client, local_host=entry.local_host,
                                   on_event=on_event, loop=loop, socket_factory=socket_factory)
        adapter.on_trace = self.tracer(vr)
        return adapter

    def remove(self, vr: str) -> None:
        """Close the VR's client; every outstanding request is answered with a timeout."""
        self.sources.pop(vr, None)
        cur = self.by_vr.pop(vr, None)
        if cur is None:
            return
        if cur.adapter is not None:
            cur.adapter.close()
        for cb in cur.callbacks.values():
            cb(radius.RadiusTimeout(0, "no-server"))

    def close(self) -> None:
        for r in self.by_vr.values():
            if r.adapter is not None:
                r.adapter.close()
        self.by_vr.clear()

    def has(self, vr: str, kind: str) -> bool:
        entry = self.by_vr.get(vr)
        return entry is not None and kind in entry.kinds

    def ask(self, vr: str, spec: radius.RequestSpec, callback: Callback) -> bool:
        """Send ``spec`` through the VR's servers; False when it has none of that kind."""
        entry = self.by_vr.get(vr)
        if entry is None or entry.adapter is None or not self.has(vr, spec.kind):
            return False
        rid = entry.client.request(spec, now=self.now())
        entry.callbacks[rid] = callback          # before the flush: it may answer at once
        entry.adapter._service()
        return True

    def _on_event(self, entry: VrRadius, ev: Any) -> None:
        cb = entry.callbacks.pop(ev.request_id, None)
        if cb is not None:
            cb(ev)
        self.after_event()

    def reset_statistics(self) -> None:
        for r in self.by_vr.values():
            r.client.reset_statistics()

    def snapshot(self, *, now: float) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        return tuple((vr, r.client.snapshot(now=now)) for vr, r in sorted(self.by_vr.items()))


def source_toward(servers: tuple[radius.RadiusServer, ...],
                  socket_factory: Callable[[], socket.socket] | None) -> str | None:
    """The local address the kernel picks toward the first server (a connected UDP socket
    in the VR's namespace sends nothing); None when there is no route."""
    if not servers:
        return None
    try:
        s = (socket_factory() if socket_factory is not None
             else socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    except OSError:
        return None
    try:
        s.connect((servers[0].address, servers[0].port))
        addr: str = s.getsockname()[0]
        return addr if addr != "0.0.0.0" else None
    except OSError:
        return None
    finally:
        s.close()


# ---------------------------------------------------------------- dial-out authorisation
def authorize(clients: RadiusClients, dialout: ds.DialoutService, req: ds.AuthorizeRequest,
              auth_vr: str) -> None:
    """Carry out ``AuthorizeRequest``; the result goes to ``dialout.on_auth_result``."""
    spec = radius.dialout_request(req.user_name, nas_ip=clients.nas_ip_for(auth_vr))

    def done(reply: Any) -> None:
        result = parse_dialout_reply(reply)
        dialout.on_auth_result(req.session_key, to_grant(result), now=clients.now(),
                               request_id=req.request_id)

    if not clients.ask(auth_vr, spec, done):
        dialout.on_auth_result(req.session_key,
                               ds.Denial(f"no RADIUS server in virtual router {auth_vr}"),
                               now=clients.now(), request_id=req.request_id)


def to_grant(result: Any) -> ds.AuthResult:
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


# ---------------------------------------------------------------- accounting
def _tunnel_of(call: Call) -> tuple[tuple[str, object], ...]:
    """RFC 2867: the tunnel a dial-in subscriber came in by (a dial-out has none here)."""
    return call.dialin.tunnel_attrs if call.dialin is not None else ()


class Accounting:
    """Accounting runs where the CPE was authenticated, when that VR has a server:
    one Start when the session comes up, one Stop (with its cause) when it ends."""

    def __init__(self, clients: RadiusClients) -> None:
        self.clients = clients

    @staticmethod
    def _vr(call: Call) -> str:
        return call.auth_vr or call.key.vr

    def start(self, call: Call, peer_ip: str | None, *, now: float) -> None:
        if call.acct_id or not self.clients.has(self._vr(call), "acct"):
            return
        call.acct_id = f"{call.tunnel_id:04x}{call.session_id:04x}{int(now):08x}"
        spec = radius.accounting_start(call.acct_id, user_name=call.peer_name or None,
                                       nas_ip=self.clients.nas_ip_for(self._vr(call)),
                                       framed_ip=peer_ip,
                                       calling_station_id=(call.dialin.calling_number
                                                           if call.dialin is not None
                                                           else str(call.key.dst)),
                                       extra=_tunnel_of(call))
        self.clients.ask(self._vr(call), spec, lambda _r: None)

    def stop(self, call: Call, cause: TerminateCause, *, now: float) -> None:
        if not call.acct_id or call.ppp is None:
            return
        s = call.ppp.snapshot().counters
        spec = radius.accounting_stop(call.acct_id, user_name=call.peer_name or None,
                                      nas_ip=self.clients.nas_ip_for(self._vr(call)),
                                      framed_ip=call.peer_ip or call.ppp.peer_ip,
                                      session_time=int(now - (call.up_since or now)),
                                      input_octets=s.ip_rx_octets, output_octets=s.ip_tx_octets,
                                      input_packets=s.ip_rx_packets,
                                      output_packets=s.ip_tx_packets,
                                      terminate_cause=int(cause), extra=_tunnel_of(call))
        call.acct_id = ""
        self.clients.ask(self._vr(call), spec, lambda _r: None)
