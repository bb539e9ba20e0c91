"""In-process dataplane: one ``Rib`` per virtual router, packets moved by function calls.

Theory of operation:

* ``send_from_vr(vr, packet)``: a packet the router originates in ``vr``.
  ``deliver(vr, ifname, packet)``: a packet received over a session's PPP link.
* Both parse only the IPv4 header (version, IHL, total length, TTL, destination).  A packet
  addressed to one of the VR's own addresses goes to ``on_local_packet``.  Otherwise the VR's
  RIB decides:

  - dial-out route            -> ``on_trigger(vr, packet)``
  - route out of a session interface (access route, or connected peer /32)
                              -> ``on_session_packet(vr, ifname, packet)``
  - ``null0``, an interface with no session behind it, or no route -> dropped and counted.

* Forwarded packets (those that came in by ``deliver``) have their TTL decremented and header
  checksum recomputed; a packet arriving with TTL <= 1 that is not for the router is dropped
  (``ttl_exceeded``).  Packets the router originates are sent unchanged.
* Malformed packets are counted and dropped; nothing from a packet raises to the caller.
* ``set_address`` adds a connected route for the interface's network; ``add_session_interface``
  adds the local address and a connected /32 to the peer; removing an interface removes every
  route through it (as the kernel does), in time proportional to those routes only.
* A route with a next hop and no interface is resolved through the connected networks
  (``engine.dataplane.nexthop``): installed out of the interface that reaches the next hop, or
  kept inactive (listed with ``active`` False, not used) until a connected network covers it.
* ``mtu(vr, ifname)``/``set_mtu``: a session interface's MTU; a packet longer than the MTU of
  the session interface it is routed to is dropped and counted (``too_big``), as a device
  with that MTU would not carry it.
* Ports (``set_port``): a physical port is an in-process link with nobody behind it.  While it
  has an address and is up, its network is a connected network of the VR (next hops resolve
  through it, the address is local); packets routed into it are counted (``to_port``) and
  dropped.  The VR's sockets (RADIUS, L2TP) are ordinary sockets of the host, so lab peers
  "behind" a port are reached on the host's loopback addresses, not through the port.
"""
from __future__ import annotations

import heapq
import ipaddress
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from engine.compact import compact
from engine.dataplane.base import (
    DataplaneConfigError,
    LocalPacketCallback,
    Route,
    SessionPacketCallback,
    TriggerCallback,
    UnknownVirtualRouter,
)
from engine.dataplane.nexthop import NextHops, needs_resolution
from engine.icmp import checksum
from engine.rib import Rib, prefix_key
from engine.types import as_address

log = logging.getLogger(__name__)

NULL_IFNAME = "null0"
DEFAULT_MTU = 1500
MIN_MTU = 68                      # RFC 791: every IPv4 device carries 68 octets
MAX_MTU = 65535
ipv4_checksum = checksum          # the Internet checksum (RFC 1071), one implementation


def parse_ipv4_destination(packet: bytes) -> ipaddress.IPv4Address | None:
    """Destination of an IPv4 packet, or None when the header is not a valid IPv4 header."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return None
    return ipaddress.IPv4Address(packet[16:20])


def decrement_ttl(packet: bytes) -> bytes | None:
    """The packet with TTL - 1 and a fresh header checksum; None when TTL would reach 0."""
    ttl = packet[8]
    if ttl <= 1:
        return None
    ihl = (packet[0] & 0x0F) * 4
    header = bytearray(packet[:ihl])
    header[8] = ttl - 1
    header[10:12] = b"\x00\x00"
    header[10:12] = ipv4_checksum(bytes(header)).to_bytes(2, "big")
    return bytes(header) + packet[ihl:]


@dataclass(slots=True)
class _Vr:
    rib: Rib = field(default_factory=Rib)
    addresses: dict[str, ipaddress.IPv4Interface] = field(default_factory=dict)  # ifname -> addr
    local: Counter = field(default_factory=Counter)           # local address -> refcount
    sessions: dict[str, tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = field(
        default_factory=dict)                                  # ifname -> (local, peer)
    counters: Counter = field(default_factory=Counter)
    nexthops: NextHops = field(default_factory=NextHops)
    mtus: dict[str, int] = field(default_factory=dict)          # session ifname -> MTU
    port_tx: Counter = field(default_factory=Counter)           # port -> packets routed to it
    port_tx_bytes: Counter = field(default_factory=Counter)


class SimDataplane:
    """The ``Dataplane`` protocol implemented in-process."""

    name = "sim"

    def __init__(self) -> None:
        self.on_trigger: TriggerCallback | None = None
        self.on_session_packet: SessionPacketCallback | None = None
        self.on_local_packet: LocalPacketCallback | None = None
        self._vrs: dict[str, _Vr] = {}
        self.counters: Counter = Counter()
        self.ports: dict[str, dict[str, Any]] = {}         # port name -> its state

    # -- virtual routers -------------------------------------------------------------------
    def add_vr(self, vr: str) -> None:
        self._vrs.setdefault(vr, _Vr())

    def remove_vr(self, vr: str) -> None:
        self._vrs.pop(vr, None)
        for name in [n for n, p in self.ports.items() if p["vr"] == vr]:
            del self.ports[name]

    # -- ports -----------------------------------------------------------------------------
    def set_port(self, vr: str, name: str, kname: str,
                 address: ipaddress.IPv4Interface | None, up: bool) -> None:
        """A port in the simulation is an in-process link: while it has an address and is
        up, its network is a connected network of ``vr`` (it resolves next hops; packets
        routed into it are counted ``to_port``, nobody answers on it)."""
        v = self._vr(vr)
        old = self.ports.get(name)
        if old is not None and old["vr"] != vr:
            self.remove_port(name)
        want = address if up else None
        if v.addresses.get(name) != want:
            self.set_address(vr, name, want)
        self.ports[name] = {"name": name, "kernel_name": kname, "vr": vr,
                            "address": str(address) if address else None, "admin_up": up}

    def remove_port(self, name: str) -> None:
        port = self.ports.pop(name, None)
        if port is not None and port["vr"] in self._vrs:
            self.set_address(port["vr"], name, None)

    def port_status(self, vr: str) -> list[dict[str, Any]]:
        v = self._vr(vr)
        out = []
        for name, port in sorted(self.ports.items()):
            if port["vr"] == vr:
                row = dict(port, oper_up=port["admin_up"])
                row["counters"] = {"tx_packets": v.port_tx.get(name, 0),
                                   "tx_bytes": v.port_tx_bytes.get(name, 0)}
                out.append(row)
        return out

    def vrs(self) -> list[str]:
        return list(self._vrs)

    def _vr(self, vr: str) -> _Vr:
        try:
            return self._vrs[vr]
        except KeyError:
            raise UnknownVirtualRouter(vr) from None

    # -- interfaces and addresses ----------------------------------------------------------
    def set_address(self, vr: str, ifname: str, address: ipaddress.IPv4Interface | None) -> None:
        v = self._vr(vr)
        old = v.addresses.pop(ifname, None)
        if old is not None:
            self._unref_local(v, old.ip)
            v.rib.remove(Route(old.network, "connected", ifname=ifname))
            self._connected_down(v, ifname, old.network)
        if address is None:
            return
        address = ipaddress.IPv4Interface(address)
        v.addresses[ifname] = address
        v.local[address.ip] += 1
        v.rib.add(Route(address.network, "connected", ifname=ifname))
        self._connected_up(v, ifname, address.network)

    @staticmethod
    def _connected_up(v: _Vr, ifname: str, network: ipaddress.IPv4Network) -> None:
        for route, via in v.nexthops.connected_up(ifname, network):
            v.rib.add(replace(route, ifname=via))

    @staticmethod
    def _connected_down(v: _Vr, ifname: str, network: ipaddress.IPv4Network) -> None:
        lost, moved = v.nexthops.connected_down(ifname, network)
        for route in lost:
            v.rib.remove(replace(route, ifname=ifname))
        for route, via in moved:
            v.rib.remove(replace(route, ifname=ifname))
            v.rib.add(replace(route, ifname=via))

    @staticmethod
    def _unref_local(v: _Vr, ip: ipaddress.IPv4Address) -> None:
        v.local[ip] -= 1
        if v.local[ip] <= 0:
            del v.local[ip]

    def add_session_interface(self, vr: str, ifname: str, local: ipaddress.IPv4Address,
                              peer: ipaddress.IPv4Address) -> None:
        v = self._vr(vr)
        if ifname in v.sessions:
            self.remove_session_interface(vr, ifname)
        local, peer = as_address(local), as_address(peer)
        v.sessions[ifname] = (local, peer)
        v.local[local] += 1
        network = ipaddress.IPv4Network(int(peer))
        v.rib.add(Route(network, "connected", ifname=ifname))
        self._connected_up(v, ifname, network)

    def remove_session_interface(self, vr: str, ifname: str) -> None:
        v = self._vrs.get(vr)
        if v is None or ifname not in v.sessions:
            return
        local, peer = v.sessions.pop(ifname)
        v.mtus.pop(ifname, None)
        compact(v.sessions)
        compact(v.mtus)
        self._unref_local(v, local)
        v.rib.remove_interface(ifname)
        self._connected_down(v, ifname, ipaddress.IPv4Network(int(peer)))

    def set_mtu(self, vr: str, ifname: str, mtu: int) -> None:
        """Set a session interface's MTU (``MIN_MTU``..``MAX_MTU``)."""
        v = self._vr(vr)
        if ifname not in v.sessions:
            raise DataplaneConfigError(vr, ifname, "no such session interface")
        if not MIN_MTU <= mtu <= MAX_MTU:
            raise DataplaneConfigError(vr, ifname, f"MTU {mtu} out of range "
                                                   f"{MIN_MTU}-{MAX_MTU}")
        v.mtus[ifname] = mtu

    def mtu(self, vr: str, ifname: str) -> int:
        v = self._vr(vr)
        if ifname not in v.sessions:
            raise DataplaneConfigError(vr, ifname, "no such session interface")
        return v.mtus.get(ifname, DEFAULT_MTU)

    def session_interfaces(self, vr: str) -> dict[str, tuple[ipaddress.IPv4Address,
                                                               ipaddress.IPv4Address]]:
        return dict(self._vr(vr).sessions)

    def is_local(self, vr: str, dst: ipaddress.IPv4Address) -> bool:
        return ipaddress.IPv4Address(dst) in self._vr(vr).local

    # -- routes ----------------------------------------------------------------------------
    def rib(self, vr: str) -> Rib:
        return self._vr(vr).rib

    def add_route(self, vr: str, route: Route) -> None:
        v = self._vr(vr)
        if needs_resolution(route):
            via = v.nexthops.add(route)
            if via is not None:
                v.rib.add(replace(route, ifname=via))
            return
        v.rib.add(route)

    def add_routes(self, vr: str, routes: list[Route]) -> None:
        for route in routes:
            self.add_route(vr, route)

    def remove_route(self, vr: str, route: Route) -> None:
        v = self._vrs.get(vr)
        if v is None:
            return
        if needs_resolution(route):
            via = v.nexthops.remove(route)
            if via is not None:
                v.rib.remove(replace(route, ifname=via))
            return
        v.rib.remove(route)

    def routes(self, vr: str) -> list[Route]:
        """Every route of the VR in prefix order, inactive ones included."""
        return list(self.iter_routes(vr))

    def iter_routes(self, vr: str, start: ipaddress.IPv4Network | None = None, *,
                    after: bool = False) -> Iterator[Route]:
        """The VR's routes in prefix order, lazily (see ``Rib.iter_routes``); inactive
        next-hop routes are merged in at their place."""
        v = self._vr(vr)
        inactive = v.nexthops.inactive()
        stream = v.rib.iter_routes(start, after=after)
        if not inactive:
            return stream
        first = None if start is None else prefix_key(start)
        inactive = sorted((r for r in inactive if first is None
                           or (prefix_key(r.prefix) > first if after
                               else prefix_key(r.prefix) >= first)),
                          key=lambda r: prefix_key(r.prefix))
        return heapq.merge(stream, inactive, key=lambda r: prefix_key(r.prefix))

    def lookup(self, vr: str, dst: ipaddress.IPv4Address) -> Route | None:
        return self._vr(vr).rib.lookup(dst)

    # -- packets ---------------------------------------------------------------------------
    def _count(self, v: _Vr, name: str) -> None:
        v.counters[name] += 1
        self.counters[name] += 1

    def vr_counters(self, vr: str) -> dict[str, int]:
        return dict(self._vr(vr).counters)

    def send_from_vr(self, vr: str, packet: bytes) -> None:
        v = self._vrs.get(vr)
        if v is None:
            self.counters["unknown_vr"] += 1
            return
        self._count(v, "originated")
        self._route(vr, v, packet, forwarded=False)

    def deliver(self, vr: str, ifname: str, packet: bytes) -> None:
        v = self._vrs.get(vr)
        if v is None:
            self.counters["unknown_vr"] += 1
            return
        self._count(v, "received")
        self._route(vr, v, packet, forwarded=True)

    def _route(self, vr: str, v: _Vr, packet: bytes, *, forwarded: bool) -> None:
        dst = parse_ipv4_destination(packet)
        if dst is None:
            self._count(v, "malformed")
            log.debug("vr %s: malformed IPv4 packet dropped (%d bytes)", vr, len(packet))
            return
        if dst in v.local:
            self._count(v, "local")
            if self.on_local_packet is not None:
                self.on_local_packet(vr, packet)
            return
        if forwarded:
            out = decrement_ttl(packet)
            if out is None:
                self._count(v, "ttl_exceeded")
                return
            packet = out
        route = v.rib.lookup(int(dst))
        if route is None:
            self._count(v, "no_route")
            return
        if route.protocol == "dial-out":
            self._count(v, "trigger")
            if self.on_trigger is not None:
                self.on_trigger(vr, packet)
            return
        ifname = route.ifname
        if ifname is None or ifname == NULL_IFNAME:
            self._count(v, "null_route")
            return
        if ifname in v.sessions:
            if len(packet) > v.mtus.get(ifname, DEFAULT_MTU):
                self._count(v, "too_big")
                return
            self._count(v, "to_session")
            if self.on_session_packet is not None:
                self.on_session_packet(vr, ifname, packet)
            return
        if ifname in self.ports:
            self._count(v, "to_port")
            v.port_tx[ifname] += 1
            v.port_tx_bytes[ifname] += len(packet)
            return
        # A connected network on a loopback/ordinary interface with nobody else on it.
        self._count(v, "no_neighbor")

    def close(self) -> None:
        self._vrs.clear()
