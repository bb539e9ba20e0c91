"""PPP glue: builds each call's ``PppLink`` from the profile and the grant, moves its frames
over the L2TP session, checks the CPE's credentials against RADIUS and reacts to link events.

Renegotiation (the peer sends LCP Configure-Request after Opened, RFC 1661 §4.3): the link
goes back through authentication and IPCP while the dial-out session stays inService.

* Authentication is re-run at most ``MAX_RENEGOTIATIONS`` times per call; one more LCP
  renegotiation ends the session.  A peer that re-authenticates under another name ends it.
* Accounting stays one Start (when the session first comes up) and one Stop (when it ends).
* An IPCP re-address to a peer address outside the session's access routes ends the session:
  the routes installed for it would no longer lead to that peer.
"""
from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from engine.aaa import client as radius
from engine.aio.aaa_glue import AUTH_PROTOCOLS
from engine.aio.calls import Call
from engine.aio.config import ProfileConfig
from engine.aio.driver import CoreTimer
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause
from engine.ppp import events as pe
from engine.ppp.link import PppConfig, PppLink

if TYPE_CHECKING:
    from engine.aio.engine import Engine

log = logging.getLogger(__name__)

#: RFC 2866 Acct-Terminate-Cause of a link that finished on its own (no cause set before)
LINK_DOWN_CAUSES: dict[pe.DownCause, TerminateCause] = {
    pe.DownCause.PEER_TERMINATED: TerminateCause.USER_REQUEST,
    pe.DownCause.KEEPALIVE: TerminateCause.LOST_CARRIER,
    pe.DownCause.LOWER_DOWN: TerminateCause.LOST_CARRIER,
    pe.DownCause.NEGOTIATION: TerminateCause.SERVICE_UNAVAILABLE,
    pe.DownCause.AUTH: TerminateCause.USER_ERROR,
    pe.DownCause.LOCAL: TerminateCause.NAS_REQUEST,
}


def link_down_reason(reason: str, cause: pe.DownCause) -> str:
    """The session's reason for a link that finished with ``reason`` / ``cause``."""
    if cause is pe.DownCause.AUTH:
        return f"PPP authentication failed: {reason}"
    return f"PPP down: {reason}"


#: RFC 1661 §4.6 restart timer of a dial-out session's PPP (LCP, CHAP/PAP, IPCP).  The link
#: runs over an L2TP tunnel whose round trip is a few milliseconds to a few hundred, and its
#: data messages are never retransmitted by L2TP: a lost Configure-Request or Challenge is
#: repeated after one second instead of the three of a serial line, which keeps a call
#: under 30 % loss within the connect timeout (bench/loss.py).
SESSION_RESTART_TIMER = 1.0
MAX_RENEGOTIATIONS = 3          # LCP re-openings (and so CPE re-authentications) per call
CONFIG_CACHE = 1024              # distinct link configurations (local addresses) shared
K = TypeVar("K")
V = TypeVar("V")


def _shared(table: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """The object ``table`` keeps for ``key``, made by ``make`` the first time; the table is
    emptied when it reaches ``CONFIG_CACHE`` entries (a bound, not an eviction policy)."""
    value = table.get(key)
    if value is None:
        if len(table) >= CONFIG_CACHE:
            table.clear()
        value = table[key] = make()
    return value


class PppGlue:
    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self._configs: dict[tuple[Any, ...], PppConfig] = {}
        self._locals: dict[str, ipaddress.IPv4Address] = {}

    # ---------------------------------------------------------------- building the link
    def local_address(self, text: str) -> ipaddress.IPv4Address:
        """Our end of a link: the same loopback address for most calls, so one object."""
        return _shared(self._locals, text, lambda: ipaddress.IPv4Address(text))

    def _config(self, prof: ProfileConfig, auth_protocol: int, username: str,
                password: str, local_ip: str) -> PppConfig:
        """The link configuration of a call; calls with the same profile and credentials
        (most of them: the credentials come from the target's RADIUS profile) share one
        immutable object instead of each holding a copy."""
        hostname = self.e.config.hostname
        return _shared(
            self._configs, (prof, auth_protocol, username, password, local_ip, hostname),
            lambda: PppConfig(
                mru=prof.ppp_mru,
                auth_protocols_required=tuple(prof.ppp_authentication),
                auth_protocols_allowed=AUTH_PROTOCOLS.get(auth_protocol),
                username=username, password=password, hostname=hostname,
                keepalive_interval=float(prof.ppp_keepalive),
                local_ip=local_ip, restart_timer=SESSION_RESTART_TIMER))

    def start(self, req: ds.StartPpp) -> None:
        e = self.e
        call = e._calls.get(req.call_id)
        if call is None:
            return
        vrc = e.vr_config(req.session_key.vr)
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
        cfg = self._config(prof, req.auth_protocol, req.username or "", req.password or "",
                           local_ip)
        link = PppLink(cfg, rng=e.rng, role_name=req.ifname)
        call.ppp = link
        link.tracer = e.ppp_tracer(req.ifname)
        assert e.loop is not None
        # the link ignores an early timer: an armed timer is kept while it fires in time
        call.ppp_timer = CoreTimer(e.loop, link, self._after_timer, keep_earlier=True, arg=call)
        e._calls.set_interface(call, req.ifname)
        call.profile = prof
        call.auth_vr = prof.ppp_auth_vr or req.session_key.vr
        link.open(now=e.now())
        self.service(call)

    def _after_timer(self, call: Call) -> None:
        if call.ppp is not None and self.e._calls.live(call):
            self.service(call)
            self.e._pump()

    def service(self, call: Call) -> None:
        """Handle the link's events, send its frames over the L2TP session, re-arm its timer."""
        link = call.ppp
        if link is None:
            return
        e = self.e
        now = e.now()
        while True:
            ev = link.next_event()
            if ev is None:
                break
            self.on_event(call, ev, now)
            if call.ppp is None or not e._calls.live(call):
                return
        for f in link.frames_to_send():
            e.l2tp.send_ppp(call.tunnel_id, call.session_id, f)
        if call.ppp_timer is not None:
            if e.l2tp_glue.in_batch:
                e.l2tp_glue.arm_after_batch(call.ppp_timer)
            else:
                call.ppp_timer.arm()

    def close(self, call: Call, reason: str, *, now: float) -> None:
        """LCP Terminate (if the link still runs) and stop its timer."""
        if call.ppp_timer is not None:
            call.ppp_timer.cancel()
        link = call.ppp
        if link is not None and not link.finished:
            link.close(reason, now=now)
            for f in link.frames_to_send():
                self.e.l2tp.send_ppp(call.tunnel_id, call.session_id, f)

    # ---------------------------------------------------------------- link events
    def on_event(self, call: Call, ev: Any, now: float) -> None:
        e = self.e
        if isinstance(ev, pe.IpPacket):
            e.dialout.deadlines.activity(call.key, now=now)
            e.dp.deliver(call.key.vr, call.ifname, ev.packet)
        elif isinstance(ev, pe.AuthRequest):
            self.check_cpe(call, ev)
        elif isinstance(ev, pe.PeerAuthenticated):
            if call.peer_name and ev.username != call.peer_name:
                self._end(call, f"peer re-authenticated as {ev.username!r}, was "
                                f"{call.peer_name!r}", TerminateCause.USER_ERROR, now)
                return
            call.peer_name = ev.username
            e.trace("ppp", f"{call.ifname}: peer authenticated as {ev.username}")
        elif isinstance(ev, pe.AuthFailed):
            call.down_reason = f"PPP authentication failed ({ev.direction}): {ev.reason}"
            call.down_cause = TerminateCause.USER_ERROR
            e.trace("ppp", f"{call.ifname}: {call.down_reason}")
        elif isinstance(ev, pe.LinkUp):
            self._link_up(call, now)
        elif isinstance(ev, pe.NetworkUp):
            if call.dialin is not None:
                e.dialin.network_up(call, ev, now)
            elif call.in_service:
                self._network_up_again(call, ev, now)
            else:
                self._network_up(call, ev, now)
        elif isinstance(ev, pe.NetworkDown):
            if call.in_service:
                e.trace("ppp", f"{call.ifname}: IPCP down ({ev.reason})")
        elif isinstance(ev, pe.LinkDown):
            reason = call.down_reason or link_down_reason(ev.reason, ev.cause)
            e.end_call(call, reason, call.down_cause or LINK_DOWN_CAUSES[ev.cause], now=now,
                       report=True)

    @staticmethod
    def down_in_progress(call: Call) -> tuple[str, TerminateCause] | None:
        """Reason and cause of a link already going down on its own account (the peer's
        Terminate-Request, an authentication failure, keepalive loss) when the call under it
        ends: the LAC's CDN that follows says only that its side hung up."""
        link = call.ppp
        if link is None or link.down_reason is None or link.down_cause is pe.DownCause.LOCAL:
            return None
        return (link_down_reason(link.down_reason, link.down_cause),
                LINK_DOWN_CAUSES[link.down_cause])

    def _end(self, call: Call, reason: str, cause: TerminateCause, now: float) -> None:
        self.e.trace("ppp", f"{call.ifname}: {reason}")
        self.e.end_call(call, reason, cause, now=now, report=True)

    def _link_up(self, call: Call, now: float) -> None:
        call.lcp_opens += 1
        n = call.lcp_opens - 1
        if n == 0:
            return
        if n > MAX_RENEGOTIATIONS:
            self._end(call, f"PPP renegotiated more than {MAX_RENEGOTIATIONS} times",
                      TerminateCause.NAS_REQUEST, now)
            return
        self.e.trace("ppp", f"{call.ifname}: LCP renegotiated by peer ({n})")

    def _network_up(self, call: Call, ev: pe.NetworkUp, now: float) -> None:
        call.in_service = True
        call.up_since = now
        call.peer_ip = ev.peer_ip
        # parsed once here; the dial-out records and the dataplane keep these objects
        peer = ipaddress.IPv4Address(ev.peer_ip) if ev.peer_ip is not None else None
        local = self.local_address(ev.local_ip) if ev.local_ip is not None else None
        routes = self.access_routes(call, peer)
        idle = float(call.profile.ip_inactivity_timer) if call.profile else 0.0
        f = call.framed
        if f is not None and f.idle_timeout:
            idle = float(f.idle_timeout)
        st = float(f.session_timeout) if f is not None and f.session_timeout else 0.0
        self.e.dialout.on_ppp_up(call.key, routes, peer, now=now,
                                 local_ip=local, call_id=call.call_id,
                                 idle_timeout=idle, session_timeout=st)
        self.e.accounting.start(call, ev.peer_ip, now=now)

    def _network_up_again(self, call: Call, ev: pe.NetworkUp, now: float) -> None:
        """IPCP opened again after a renegotiation: keep the session only while its peer is
        still behind the access routes installed for it."""
        if ev.peer_ip == call.peer_ip:
            self.e.trace("ppp", f"{call.ifname}: IPCP up again, peer {ev.peer_ip}")
            return
        try:
            peer = ipaddress.IPv4Address(ev.peer_ip) if ev.peer_ip is not None else None
        except ValueError:
            peer = None
        snap = self.e.dialout.session_snapshot(call.key.vr, call.key.dst, now=now)
        installed = snap.access_routes if snap is not None else ()
        if peer is None or not any(peer in n for n in installed):
            routes = ", ".join(map(str, installed)) or "(none)"
            self._end(call, f"IPCP re-address to {ev.peer_ip} outside access route {routes}",
                      TerminateCause.USER_ERROR, now)
            return
        call.peer_ip = ev.peer_ip
        self.e.trace("ppp", f"{call.ifname}: IPCP re-address to {ev.peer_ip}")

    @staticmethod
    def access_routes(call: Call, peer_ip: ipaddress.IPv4Address | str | None
                      ) -> tuple[ipaddress.IPv4Network, ...]:
        """From the CPE's Access-Accept (dialout.md §6), else the IPCP peer address /32."""
        f = call.framed
        if f is None:
            return ds.access_routes_from(peer_ip=peer_ip)
        return ds.access_routes_from(framed_routes=f.routes, framed_ip=f.ip,
                                     framed_netmask=f.netmask, peer_ip=peer_ip)

    # ---------------------------------------------------------------- CPE credentials
    def check_cpe(self, call: Call, ev: pe.AuthRequest) -> None:
        e = self.e
        vr = call.auth_vr or call.key.vr
        if call.dialin is not None:            # subscriber: the AAA domain map of user@domain
            vr = e.dialin.auth_vr(call, ev.username)
        vrc = e.vr_config(vr)
        link = call.ppp
        assert link is not None

        def answer(ok: bool, message: str = "") -> None:
            if call.ppp is link and e._calls.live(call):
                link.auth_result(ev.request_id, ok, message, now=e.now())
                self.service(call)
                e.flush_l2tp()

        call.auth_requests += 1
        if call.auth_requests > 1 + MAX_RENEGOTIATIONS:
            answer(False, "too many authentications")
            return
        if vrc.aaa_ppp == "none":
            answer(*(e.dialin.authorized(call, None) if call.dialin is not None else (True, "")))
            return
        station = call.dialin.calling_number if call.dialin is not None else str(call.key.dst)
        if ev.protocol == "pap":
            spec = radius.pap_request(ev.username, ev.password or b"", nas_ip=e.radius.nas_ip_for(vr),
                                      calling_station_id=station)
        elif ev.chap_id is None or ev.chap_challenge is None or ev.chap_response is None:
            answer(False, "malformed CHAP response")
            return
        else:
            spec = radius.chap_request(ev.username, ev.chap_id, ev.chap_challenge,
                                       ev.chap_response, nas_ip=e.radius.nas_ip_for(vr),
                                       calling_station_id=station)

        def done(reply: Any) -> None:
            ok, message = radius.cpe_verdict(reply)
            if ok:
                call.framed = radius.parse_framed(reply)
                if call.dialin is not None and e._calls.live(call):
                    ok, message = e.dialin.authorized(call, call.framed)
            answer(ok, message)

        if not e.radius.ask(vr, spec, done):
            answer(False, radius.CPE_NO_SERVER)
