"""Dial-in glue: incoming calls from admitted LACs become subscriber sessions.

* ICRQ on a tunnel admitted under a remote host with a dynamic interface profile (``profile``
  of the host; the profile lives in the destination profile's virtual router) is answered ICRP
  by the L2TP core; the ICCN brings the call up and a ``PppLink`` is built from the profile:
  LCP, then the subscriber authenticates (the profile's ``ppp authentication``, PAP or CHAP).
* Proxy LCP and proxy authentication AVPs of the ICCN are not used: the LNS always
  renegotiates LCP and authenticates the subscriber itself (RFC 2661 §4.4.5 leaves their use
  to the LNS), so a subscriber is never admitted on the LAC's word.
* The subscriber's credentials go to the RADIUS servers of the VR the AAA domain map names
  for ``user@domain`` (else the profile's VR).  The address is the reply's Framed-IP-Address,
  else one from the profile's ``ip address-pool``; without an address the subscriber is
  refused.  Framed-Route, Session-Timeout and Idle-Timeout (else the profile's
  ``ip inactivity-timer``: no IP packet either way for that long) are honoured.
* A tunnel we opened for dial-out to a LAC that also has a destination profile and a remote
  host matching its Host Name takes that host's incoming calls too (same profile and
  ``max-sessions``); released by dial-out, it is closed once its incoming calls end.  Dial-out
  does not place calls on a tunnel the LAC opened: a dial-out tunnel is chosen by the RADIUS
  reply's tunnel attributes (endpoint, password, client and assignment ids, preference), which a
  LAC-opened tunnel authenticated with the destination profile's password does not carry, and
  the dial-out tunnel state (failover, tunnel-idle reuse, per-target limits) would then depend
  on a tunnel the LAC may close at any time.
* IPCP up: a session interface to the subscriber's /32 and the framed routes through it are
  installed in the VR; accounting Start (Stop when the session ends).  The data path,
  keepalives (LCP Echo) and ``clear l2tp`` are those of dial-out calls.
"""
from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING

from engine.aaa import client as radius
from engine.aio.calls import Call
from engine.aio.config import ProfileConfig
from engine.aio.driver import CoreTimer
from engine.dialin import sessions as ds_in
from engine.dialout.causes import TerminateCause
from engine.dialout.model import SessionKey
from engine.l2tp import events as le
from engine.l2tp.errors import CDN_PERM_NO_FACILITIES
from engine.ppp import events as pe
from engine.ppp.link import PppConfig, PppLink
from engine.types import Route

if TYPE_CHECKING:
    import asyncio

    from engine.aio.engine import Engine

log = logging.getLogger(__name__)

UNASSIGNED = ipaddress.IPv4Address(0)
#: PPP frames kept per incoming call that is not up yet (the LAC's first LCP Configure-Request
#: may overtake its ICCN); more are dropped, as PPP retransmits
MAX_EARLY_FRAMES = 4
MAX_PENDING_CALLS = 4096
#: call ids of incoming calls count down from here; dial-out call ids are positive
FIRST_CALL_ID = -1


class DialinGlue:
    def __init__(self, engine: Engine) -> None:
        self.e = engine
        self.sessions = ds_in.SessionTable()
        self._timeouts: dict[int, asyncio.TimerHandle] = {}
        self._early: dict[tuple[int, int], list[bytes]] = {}

    # ---------------------------------------------------------------- configuration
    def apply_pools(self) -> None:
        for v in self.e.config.vrs:
            self.sessions.set_pools(v.name, {n: (a, b) for n, a, b in v.local_pools})

    def snapshot(self, *, now: float) -> tuple[ds_in.SubscriberView, ...]:
        return ds_in.views(self.sessions, now=now)

    # ---------------------------------------------------------------- incoming calls
    def _profile_of(self, tunnel_id: int) -> tuple[str, ProfileConfig] | None:
        """(VR, dynamic interface profile) of the tunnel's remote host, when configured."""
        e = self.e
        t = e.l2tp.tunnels.get(tunnel_id)
        host = t.host_policy if t is not None else None
        if t is None or host is None or host.profile is None:
            return None
        vr = "default"
        for p in e.config.l2tp_acceptance.peers:
            if p.name == t.dest_profile:
                vr = p.virtual_router
        prof = e.vr_config(vr).profile(host.profile)
        return (vr, prof) if prof is not None else None

    def early_frame(self, ev: le.PppFrame) -> None:
        """A PPP frame of an incoming call we answered (ICRP) whose ICCN has not arrived."""
        q = self._early.get((ev.tunnel_id, ev.session_id))
        if q is not None and len(q) < MAX_EARLY_FRAMES:
            q.append(ev.frame)
            self.sessions.counters["early_frames"] += 1

    def incoming_requested(self, ev: le.IncomingCallRequested) -> None:
        """ICRP has gone out; a profile that no longer exists refuses the call."""
        if len(self._early) >= MAX_PENDING_CALLS:     # forget calls that never came up
            tunnels = self.e.l2tp.tunnels
            for key in [k for k in self._early
                        if k[0] not in tunnels or k[1] not in tunnels[k[0]].calls]:
                del self._early[key]
        if len(self._early) < MAX_PENDING_CALLS:
            self._early[(ev.tunnel_id, ev.session_id)] = []
        if self._profile_of(ev.tunnel_id) is None:
            self.e.l2tp.disconnect_call(ev.tunnel_id, ev.session_id, result=CDN_PERM_NO_FACILITIES,
                                        message="dynamic interface profile not configured",
                                        now=self.e.now())

    def call_up(self, ev: le.CallUp) -> None:
        """ICCN received: build the subscriber's PPP link (LCP is renegotiated)."""
        e = self.e
        now = e.now()
        early = self._early.pop((ev.tunnel_id, ev.session_id), [])
        found = self._profile_of(ev.tunnel_id)
        if found is None:
            e.l2tp.disconnect_call(ev.tunnel_id, ev.session_id, result=CDN_PERM_NO_FACILITIES,
                                   message="dynamic interface profile not configured", now=now)
            return
        vr, prof = found
        lc = e.l2tp.tunnels[ev.tunnel_id].calls.get(ev.session_id)
        calling = lc.calling_number if lc is not None else ""
        ifname = f"l2tp{ev.tunnel_id}.{ev.session_id}"
        s = self.sessions.new(ev.tunnel_id, ev.session_id, vr=vr, profile=prof.name,
                              ifname=ifname, calling_number=calling, now=now)
        lt = e.l2tp.tunnels[ev.tunnel_id]
        local = e.l2tp_adapter.local_addr[0] if e.l2tp_adapter is not None else "0.0.0.0"
        s.tunnel_attrs = ds_in.tunnel_accounting(
            lac=str(lt.peer_addr[0]), lns=e.nas_ip if local == "0.0.0.0" else local,
            lac_host=lt.peer_host_name, lns_host=lt.host_name, tunnel_id=ev.tunnel_id,
            session_id=ev.session_id)
        call = Call(FIRST_CALL_ID - s.sid, SessionKey(vr, UNASSIGNED), 0, ev.tunnel_id,
                    ev.session_id, established=True, dialin=s)
        vrc = e.vr_config(vr)
        local_ip = None
        if prof.ip_unnumbered_loopback is not None:
            lo = vrc.loopback(prof.ip_unnumbered_loopback)
            local_ip = str(lo.ip) if lo is not None else None
        if local_ip is None and vrc.loopbacks:
            local_ip = str(vrc.loopbacks[0][1].ip)
        cfg = PppConfig(mru=prof.ppp_mru, auth_protocols_required=tuple(prof.ppp_authentication),
                        auth_protocols_allowed=None, hostname=e.config.hostname,
                        keepalive_interval=float(prof.ppp_keepalive),
                        local_ip=local_ip or "192.0.2.1", accept_peer_ip=False)
        link = PppLink(cfg, rng=e.rng, role_name=ifname)
        link.tracer = e.ppp_tracer(ifname)
        call.ppp = link
        call.profile = prof
        call.auth_vr = vr
        e._calls.add(call)
        e._calls.set_interface(call, ifname)
        assert e.loop is not None
        call.ppp_timer = CoreTimer(e.loop, link, e.ppp._after_timer, arg=call)
        link.open(now=now)
        for frame in early:
            link.receive_frame(frame, now=now)
        e.ppp.service(call)

    # ---------------------------------------------------------------- authentication
    def auth_vr(self, call: Call, username: str) -> str:
        """The VR whose RADIUS servers check ``user@domain`` (the AAA domain map)."""
        s = call.dialin
        assert s is not None
        _, domain = ds_in.split_user(username)
        s.user = username
        s.auth_vr = self.e.auth_vr_for_domain(s.vr, domain) if domain else s.vr
        call.auth_vr = s.auth_vr
        return s.auth_vr

    def authorized(self, call: Call, framed: radius.FramedInfo | None) -> tuple[bool, str]:
        """The subscriber passed RADIUS: give it an address before IPCP starts."""
        s = call.dialin
        link = call.ppp
        assert s is not None and link is not None
        prof = call.profile
        pool = prof.ip_address_pool if prof is not None else None
        if not self.sessions.assign(s, framed.ip if framed is not None else None, pool):
            self.sessions.counters["auth_failed"] += 1
            return False, "no address for the subscriber"
        assert s.address is not None
        if framed is not None:
            s.routes = tuple(ipaddress.IPv4Network(f"{r[0]}/{r[1]}", strict=False)
                             for r in framed.routes)
            s.session_timeout = float(framed.session_timeout or 0)
            s.idle_timeout = float(framed.idle_timeout or 0)
        if not s.idle_timeout and prof is not None:
            s.idle_timeout = float(prof.ip_inactivity_timer)
        call.key = SessionKey(s.vr, s.address)
        link.assign_peer_ip(str(s.address))
        self.sessions.fire(s, "authorized")
        return True, ""

    # ---------------------------------------------------------------- network phase
    def network_up(self, call: Call, ev: pe.NetworkUp, now: float) -> None:
        s = call.dialin
        e = self.e
        assert s is not None
        if "install_routes" not in self.sessions.fire(s, "network_up"):
            return
        call.in_service = True
        call.up_since = s.up_since = now
        call.peer_ip = ev.peer_ip
        local = e.ppp.local_address(ev.local_ip or "192.0.2.1")
        assert s.address is not None
        e.dp.add_session_interface(s.vr, s.ifname, local, s.address)
        call.network_up = True
        if s.routes:
            e.dp.add_routes(s.vr, [Route(n, "access", ifname=s.ifname) for n in s.routes])
        e.accounting.start(call, str(s.address), now=now)
        self._arm(call, now)

    def _arm(self, call: Call, now: float) -> None:
        """One timer per session: the Session-Timeout, or the next inactivity check."""
        s = call.dialin
        e = self.e
        assert s is not None and s.up_since is not None and e.loop is not None
        at = [s.up_since + s.session_timeout] if s.session_timeout > 0 else []
        if s.idle_timeout > 0:
            at.append(now + s.idle_timeout)
        if at:
            self._timeouts[s.sid] = e.loop.call_at(min(at), self._check, call,
                                                   self._activity(call))

    @staticmethod
    def _activity(call: Call) -> int:
        """IP packets through the session so far (read from the link: no data-path hook)."""
        link = call.ppp
        return link.ip_rx_packets + link.ip_tx_packets if link is not None else 0

    def _check(self, call: Call, seen: int) -> None:
        s = call.dialin
        e = self.e
        if s is None or not e._calls.live(call) or s.up_since is None:
            return
        self._timeouts.pop(s.sid, None)
        now = e.now()
        if s.session_timeout > 0 and now >= s.up_since + s.session_timeout - 1e-3:
            self._end(call, "session timeout", TerminateCause.SESSION_TIMEOUT)
        elif s.idle_timeout > 0 and self._activity(call) == seen:
            self._end(call, "idle timeout", TerminateCause.IDLE_TIMEOUT)
        else:
            self._arm(call, now)

    def _end(self, call: Call, reason: str, cause: TerminateCause) -> None:
        call.down_reason = reason
        self.e.end_call(call, reason, cause, now=self.e.now(), report=True)
        self.e._pump()

    def ended(self, call: Call) -> None:
        """The call is going (before its interface is removed): routes, address, timers."""
        s = call.dialin
        if s is None:
            return
        h = self._timeouts.pop(s.sid, None)
        if h is not None:
            h.cancel()
        actions = self.sessions.fire(s, "down")
        if "remove_routes" in actions:
            for n in s.routes:
                try:
                    self.e.dp.remove_route(s.vr, Route(n, "access", ifname=s.ifname))
                except Exception:
                    log.debug("route %s already gone", n)
        if "release_address" in actions:
            self.sessions.release(s)
