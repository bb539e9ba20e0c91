"""Dial-in subscriber sessions (sans-IO): their state table, address pools and the domain
of a subscriber's user name.

A session is one incoming call (RFC 2661 §7.4.2, LNS role) carrying one subscriber's PPP link:

    negotiating --authorized--> authorized --network_up--> up --down--> down

``SessionTable.fire`` moves a session along the table and returns the actions the caller
carries out (assign or release an address, install or remove routes, accounting).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

NEGOTIATING, AUTHORIZED, UP, DOWN = "negotiating", "authorized", "up", "down"
STATES = (NEGOTIATING, AUTHORIZED, UP, DOWN)
EVENTS = ("authorized", "network_up", "down")

Row = tuple[str, tuple[str, ...]]

#: {(state, event): (next state, actions)}; a missing row leaves the session as it is
TABLE: dict[tuple[str, str], Row] = {
    (NEGOTIATING, "authorized"): (AUTHORIZED, ()),
    (NEGOTIATING, "down"): (DOWN, ("release_address",)),
    (AUTHORIZED, "authorized"): (AUTHORIZED, ()),                 # re-authentication
    (AUTHORIZED, "network_up"): (UP, ("install_routes", "accounting_start")),
    (AUTHORIZED, "down"): (DOWN, ("release_address",)),
    (UP, "authorized"): (UP, ()),
    (UP, "network_up"): (UP, ()),                                 # IPCP renegotiated
    (UP, "down"): (DOWN, ("remove_routes", "accounting_stop", "release_address")),
}


def tunnel_accounting(*, lac: str, lns: str, lac_host: str, lns_host: str, tunnel_id: int,
                      session_id: int) -> tuple[tuple[str, object], ...]:
    """RFC 2867 §4: the tunnel a subscriber's session runs in (L2TP over IPv4, tag 1)."""
    attrs: list[tuple[str, object]] = [
        ("Tunnel-Type:1", "L2TP"), ("Tunnel-Medium-Type:1", "IPv4"),
        ("Tunnel-Client-Endpoint:1", lac), ("Tunnel-Server-Endpoint:1", lns)]
    if lac_host:
        attrs.append(("Tunnel-Client-Auth-Id:1", lac_host[:240]))
    if lns_host:
        attrs.append(("Tunnel-Server-Auth-Id:1", lns_host[:240]))
    attrs.append(("Acct-Tunnel-Connection", f"{tunnel_id}/{session_id}"))
    return tuple(attrs)


def split_user(user: str) -> tuple[str, str]:
    """``name@domain`` -> (name, domain); no ``@``: (user, "")."""
    name, sep, domain = user.rpartition("@")
    return (name, domain) if sep else (user, "")


class AddressPool:
    """``ip local pool NAME FIRST LAST``: addresses handed to subscribers, lowest free first."""

    def __init__(self, name: str, first: ipaddress.IPv4Address, last: ipaddress.IPv4Address) -> None:
        if int(last) < int(first):
            raise ValueError(f"pool {name}: last address below first")
        self.name = name
        self.first = first
        self.last = last
        self._next = int(first)
        self._free: list[int] = []           # released addresses below _next
        self._used: set[int] = set()

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    @property
    def in_use(self) -> int:
        return len(self._used)

    def allocate(self) -> ipaddress.IPv4Address | None:
        while self._free:
            a = self._free.pop()
            if a not in self._used:
                self._used.add(a)
                return ipaddress.IPv4Address(a)
        while self._next <= int(self.last):
            a = self._next
            self._next += 1
            if a not in self._used:
                self._used.add(a)
                return ipaddress.IPv4Address(a)
        return None

    def release(self, address: ipaddress.IPv4Address) -> bool:
        a = int(address)
        if a not in self._used:
            return False
        self._used.discard(a)
        self._free.append(a)
        return True


@dataclass(slots=True, eq=False)
class Session:
    """One subscriber: the incoming call and what its authorisation gave it."""
    sid: int
    tunnel_id: int
    session_id: int
    vr: str                                   # where the subscriber's routes live
    profile: str
    ifname: str
    calling_number: str = ""
    user: str = ""
    auth_vr: str = ""
    address: ipaddress.IPv4Address | None = None
    pool: str | None = None                   # the pool ``address`` came from
    routes: tuple[ipaddress.IPv4Network, ...] = ()
    session_timeout: float = 0.0
    idle_timeout: float = 0.0                 # Idle-Timeout, else the profile's inactivity timer
    state: str = NEGOTIATING
    created: float = 0.0
    up_since: float | None = None
    #: RFC 2867 accounting attributes of the tunnel carrying the call
    tunnel_attrs: tuple[tuple[str, object], ...] = ()


class SessionTable:
    """Dial-in sessions by id, by (tunnel id, session id) and the VRs' address pools."""

    def __init__(self) -> None:
        self.by_sid: dict[int, Session] = {}
        self.by_l2tp: dict[tuple[int, int], Session] = {}
        self.pools: dict[tuple[str, str], AddressPool] = {}
        self.counters: dict[str, int] = {"sessions": 0, "auth_failed": 0, "no_address": 0,
                                         "address_in_use": 0, "ended": 0, "early_frames": 0}
        #: (VR, address) -> the session holding it: no two subscribers share an address
        self.holders: dict[tuple[str, ipaddress.IPv4Address], int] = {}
        self._next_sid = 1

    def __len__(self) -> int:
        return len(self.by_sid)

    def new(self, tunnel_id: int, session_id: int, *, vr: str, profile: str, ifname: str,
            calling_number: str, now: float) -> Session:
        s = Session(self._next_sid, tunnel_id, session_id, vr, profile, ifname, calling_number,
                    created=now)
        self._next_sid += 1
        self.by_sid[s.sid] = s
        self.by_l2tp[(tunnel_id, session_id)] = s
        self.counters["sessions"] += 1
        return s

    def set_pools(self, vr: str, pools: dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]]) -> None:
        """Reconcile the VR's pools; a pool whose range is unchanged keeps its addresses."""
        for key in [k for k in self.pools if k[0] == vr and k[1] not in pools]:
            del self.pools[key]
        for name, (first, last) in pools.items():
            cur = self.pools.get((vr, name))
            if cur is None or (cur.first, cur.last) != (first, last):
                self.pools[(vr, name)] = AddressPool(name, first, last)

    def fire(self, s: Session, event: str) -> tuple[str, ...]:
        row = TABLE.get((s.state, event))
        if row is None:
            return ()
        s.state, actions = row
        if s.state == DOWN:
            self.by_sid.pop(s.sid, None)
            self.by_l2tp.pop((s.tunnel_id, s.session_id), None)
            self.counters["ended"] += 1
        return actions

    def assign(self, s: Session, framed_ip: str | None, pool: str | None) -> bool:
        """The subscriber's address: Framed-IP-Address, else one from the profile's pool
        (also when the server sends 255.255.255.254, "NAS chooses", RFC 2865 §5.8)."""
        if s.address is not None:
            return True
        if framed_ip is not None:
            addr = self._framed(framed_ip)
            if addr is not None:
                if (s.vr, addr) in self.holders:
                    self.counters["address_in_use"] += 1
                    return False
                s.address = addr
                self.holders[(s.vr, addr)] = s.sid
                return True
        if pool is not None:
            p = self.pools.get((s.vr, pool))
            while p is not None:
                got = p.allocate()
                if got is None:
                    break
                if (s.vr, got) in self.holders:   # a Framed-IP-Address inside the pool: it
                    continue                      # stays taken in the pool until released
                s.address, s.pool = got, pool
                self.holders[(s.vr, got)] = s.sid
                return True
        self.counters["no_address"] += 1
        return False

    @staticmethod
    def _framed(framed_ip: str) -> ipaddress.IPv4Address | None:
        """A Framed-IP-Address we may hand out; None for an unusable one (0.0.0.0, "NAS
        chooses" and "user chooses" 255.255.255.254/255, multicast, reserved, loopback)."""
        try:
            addr = ipaddress.IPv4Address(framed_ip)
        except ValueError:
            return None
        if addr.is_unspecified or addr.is_multicast or addr.is_reserved or addr.is_loopback:
            return None
        return addr

    def release(self, s: Session) -> None:
        if s.address is None:
            return
        if self.holders.get((s.vr, s.address)) == s.sid:
            del self.holders[(s.vr, s.address)]
        for (vr, _), p in self.pools.items():   # its own pool, or one it was skipped in
            if vr == s.vr and (s.pool is None or p.name == s.pool):
                p.release(s.address)
        s.pool = None


@dataclass(frozen=True, slots=True)
class SubscriberView:
    """One line of ``show subscribers``."""
    user: str
    vr: str
    address: str | None
    ifname: str
    state: str
    uptime: float | None                      # seconds since IPCP opened; None: not up
    tunnel_id: int
    session_id: int


def views(table: SessionTable, *, now: float) -> tuple[SubscriberView, ...]:
    return tuple(SubscriberView(s.user, s.vr, str(s.address) if s.address is not None else None,
                                s.ifname, s.state,
                                now - s.up_since if s.up_since is not None else None,
                                s.tunnel_id, s.session_id)
                 for s in sorted(table.by_sid.values(), key=lambda s: s.sid))
