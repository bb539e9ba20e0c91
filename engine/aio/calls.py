"""The engine's record of one dial-out call and the table that finds it by every key."""
from __future__ import annotations

from dataclasses import dataclass

from engine.aaa import client as radius
from engine.aio.config import ProfileConfig
from engine.aio.driver import CoreTimer
from engine.compact import compact
from engine.dialin.sessions import Session as DialinSession
from engine.dialout import service as ds
from engine.dialout.causes import TerminateCause
from engine.ppp.link import PppLink


@dataclass(slots=True, eq=False)
class Call:
    """One call: the L2TP session under it and the PPP link over it.  A dial-out call is
    keyed by its target (``key``); an incoming call (``dialin`` set) by its subscriber
    session, its ``key`` naming the VR and, once assigned, the subscriber's address."""
    call_id: int
    key: ds.SessionKey
    tunnel_ref: int
    tunnel_id: int
    session_id: int = 0
    established: bool = False
    ppp: PppLink | None = None
    ppp_timer: CoreTimer | None = None
    ifname: str | None = None
    profile: ProfileConfig | None = None
    auth_vr: str | None = None
    framed: radius.FramedInfo | None = None
    peer_name: str = ""
    down_reason: str = ""
    down_cause: TerminateCause | None = None
    up_since: float | None = None
    acct_id: str = ""
    network_up: bool = False          # the session interface exists in the dataplane
    in_service: bool = False          # IPCP opened once and the session was reported up
    lcp_opens: int = 0                # LCP reached Opened this many times (2nd+ = renegotiation)
    auth_requests: int = 0            # CPE credential checks asked for
    peer_ip: str | None = None        # IPCP peer address when the session came up
    dialin: DialinSession | None = None   # an incoming call's subscriber session


class CallTable:
    """Calls by call id, by (tunnel id, session id), by tunnel id (the calls of one tunnel in
    O(their number)) and by (VR, interface name)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Call] = {}
        self.by_l2tp: dict[tuple[int, int], Call] = {}
        self.by_tunnel: dict[int, dict[int, Call]] = {}     # tunnel id -> call id -> call
        self.by_if: dict[tuple[str, str], Call] = {}

    def __len__(self) -> int:
        return len(self.by_id)

    def __bool__(self) -> bool:
        return bool(self.by_id)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self.by_id

    def values(self) -> list[Call]:
        return list(self.by_id.values())

    def get(self, call_id: int) -> Call | None:
        return self.by_id.get(call_id)

    def add(self, call: Call) -> None:
        self.by_id[call.call_id] = call
        self.by_l2tp[(call.tunnel_id, call.session_id)] = call
        on_tunnel = self.by_tunnel.get(call.tunnel_id)
        if on_tunnel is None:
            on_tunnel = self.by_tunnel[call.tunnel_id] = {}
        on_tunnel[call.call_id] = call

    def on_tunnel(self, tunnel_id: int) -> list[Call]:
        """The calls on one tunnel."""
        return list(self.by_tunnel.get(tunnel_id, {}).values())

    def take_tunnel(self, tunnel_id: int) -> dict[int, Call]:
        """The calls of a tunnel that is gone, by call id, no longer indexed under its id (a
        new tunnel may get the same id while they are ended); each stays in the table until
        ``pop``."""
        return self.by_tunnel.pop(tunnel_id, {})

    def set_interface(self, call: Call, ifname: str) -> None:
        call.ifname = ifname
        self.by_if[(call.key.vr, ifname)] = call

    def pop(self, call: Call) -> bool:
        """Forget the call's id and L2TP keys; False when it was already gone."""
        if self.by_id.pop(call.call_id, None) is None:
            return False
        key = (call.tunnel_id, call.session_id)
        if self.by_l2tp.get(key) is call:
            del self.by_l2tp[key]
        on_tunnel = self.by_tunnel.get(call.tunnel_id)
        if on_tunnel is not None and on_tunnel.pop(call.call_id, None) is call and not on_tunnel:
            del self.by_tunnel[call.tunnel_id]
        compact(self.by_id)
        compact(self.by_l2tp)
        return True

    def pop_interface(self, vr: str, ifname: str) -> Call | None:
        """Forget the call behind interface ``ifname`` of ``vr``; the call, or None."""
        call = self.by_if.pop((vr, ifname), None)
        if call is not None:
            compact(self.by_if)
        return call

    def live(self, call: Call) -> bool:
        return self.by_id.get(call.call_id) is call
