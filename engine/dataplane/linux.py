"""Linux forwarding plane: a network namespace per virtual router, TUN devices, kernel routes.

Theory of operation
-------------------
* VR ``vr`` lives in the network namespace ``netns_name(prefix, vr)`` (``jcli-home`` for VR
  ``home``).  ``add_vr`` creates it (``lo`` up, IPv4 forwarding on, rp_filter off, IPv6 off so no
  router solicitations leak into the TUN devices) and opens, *inside* it: one rtnetlink socket
  (all route/address work of that VR goes through it), the trigger TUN ``dialout0``, a raw
  ``IPPROTO_RAW`` socket (``send_from_vr``) and a raw ICMP socket (``on_local_packet``).
* Dial-out routes point at ``dialout0``; whatever the kernel routes into it is read and handed to
  ``on_trigger(vr, packet)``.
* ``add_session_interface`` creates a point-to-point TUN (IFF_TUN|IFF_NO_PI) with
  ``local`` peer ``peer``/32; packets the kernel routes into it go to
  ``on_session_packet(vr, ifname, packet)``; ``deliver`` writes a packet into it, so the kernel
  receives it as if it came in on that interface.  ``remove_session_interface`` stops reading
  the device at once and deletes the devices removed in one loop turn together, as one link
  group, when the loop next turns (with the routes through them): one by one the kernel needs
  17-20 ms per TUN device, and taking each down first costs a walk of the whole FIB.
* ``send_from_vr`` sends a complete IPv4 packet through the raw socket (IP_HDRINCL): the kernel
  routes it by its destination (a packet to a dial-out prefix thus reaches ``on_trigger``).
* ``on_local_packet``: the kernel answers pings to its own addresses itself; the raw ICMP socket
  passes ICMP echo replies, unreachables, time-exceeded and parameter-problem messages addressed
  to the VR to ``on_local_packet(vr, packet)``.  So a ``ping`` from the shell is
  ``send_from_vr(echo request)`` and the reply comes back on ``on_local_packet`` (as with the
  simulated dataplane).  ``ping(vr, dst, count, timeout)`` is a blocking alternative (a datagram
  ICMP socket in the namespace; call it off the loop, e.g. ``asyncio.to_thread``, because the
  loop must keep reading the TUN devices the echo may cross).
* All fds are non-blocking and read with ``loop.add_reader`` (up to ``MAX_BURST`` packets per
  wake-up).  The loop is the ``loop`` argument, or else the loop running when the VR / session is
  created; with no loop at all the devices exist but are not read.

Beyond the Dataplane protocol
-----------------------------
``reconcile_stale()`` (namespaces and lock files left by a crashed run),
``socket_in_vr(vr, family, type, proto)`` (L2TP/RADIUS sockets; the caller closes them),
``remove_routes(vr, routes)`` (batched), ``set_mtu``/``mtu`` (a session TUN's MTU),
``ping(...)``, ``namespace(vr)``, ``session_kernel_name(vr, ifname)``, ``vrs()``, ``counters``
(a Counter of drops and errors), context-manager use (``with LinuxDataplane() as dp``).
Constructing it without root raises ``DataplaneUnavailable`` (a RuntimeError) before anything
is created.  Errors of the kernel surface as ``DataplaneError`` (one line naming the VR and
the object).  Lab namespaces and veth pairs: ``engine.dataplane.netns_helpers``
(``make_lab_namespace``, ``lab_namespace``, ``delete_namespace``).  Names, per-VR state and
route translation: ``engine.dataplane.linux_support``; the device readers:
``engine.dataplane.linux_readers``.

Lifecycle
---------
An instance holds an exclusive lock on ``/run/jcli/<prefix>lock`` for its life; ``close()``
removes the file, and ``reconcile_stale()`` removes the lock files nobody holds (routers that
crashed), as it deletes their namespaces.

Routes (main table of the namespace)
------------------------------------
* kernel ``proto``: static 240, access 241, dial-out 242; ``proto kernel`` (2) reads back as
  ``connected``; any other proto reads back as ``static``.
* kernel metric (``priority``) = ``admin_distance << 16 | min(metric, 0xffff)``, so for an
  identical prefix the lower distance wins (access 1 supersedes dial-out 250); read back into
  ``distance`` (None when it equals the protocol's default) and ``metric``.
* ``ifname``: ``null0`` = blackhole route; ``loopbackN``/``lo`` = ``lo``; dial-out routes always
  point at the trigger TUN and read back with ``ifname=None``; session interfaces by their
  engine name.
* ``connected`` routes given to add_route/add_routes/remove_route are ignored: the kernel makes
  them from the addresses.
* A route with a next hop and no interface goes to the kernel only once its next hop lies in a
  connected network of the VR (a loopback address's network, a session's peer); until then
  it is kept and listed inactive (``engine.dataplane.nexthop``), and it is installed, moved or
  withdrawn as connected networks come and go.
* Installation uses NLM_F_CREATE|NLM_F_REPLACE: re-adding a route with the same prefix and
  distance/metric replaces it.  ``add_routes`` batches (see ``rtnl.Rtnl.send_batch``).

Naming
------
* ``reconcile_stale`` deletes every namespace starting with the prefix: lab namespaces must use
  another prefix (e.g. ``jlab-``).
* Namespace: ``prefix + vr`` when ``vr`` matches ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}``; otherwise
  ``prefix + <vr with other characters replaced by '_', cut to 24> + '-' + 8 hex digits of
  sha1(vr)``.
* Interface: the engine name when it is a valid Linux name (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}``,
  not ``lo``/``dialout0``), otherwise ``t`` + 12 hex digits of sha1(name).  ``routes()`` maps
  names back.
* Loopback units (``loopbackN``) are addresses on ``lo`` (no dummy driver here); an address with
  a prefix shorter than /32 on ``lo`` makes the whole prefix local, as Linux does.  ``routes()``
  lists each loopback address as a ``connected`` route on its unit (from the local table); a
  route pointing at ``lo`` reads back with the first loopback unit's name.
* ``Route.tag`` is not stored in the kernel and reads back as 0.
"""
from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import re
import shutil
import socket
import struct
from collections import Counter
from collections.abc import Callable, Iterator

from . import netns_helpers as nsh
from . import rtnl
from .base import DataplaneConfigError, DataplaneError, Route, UnknownVirtualRouter
from .linux_readers import LinuxReaders
from .linux_support import (
    ICMP_FILTER,
    LOCAL_ICMP_TYPES,
    MAX_MTU,
    MIN_MTU,
    PROTO,
    PROTO_NAMES,
    RETIRE_BATCH,
    RETIRED_GROUP,
    RETIRED_GROUPS,
    ROOT_ERROR,
    SOL_RAW,
    TRIGGER_IFNAME,
    DataplaneUnavailable,
    SessionState,
    VrState,
    claim_prefix,
    echo,
    flush_retired,
    ignore_missing,
    in_prefix_order,
    index_names,
    is_loopback,
    kernel_ifname,
    kernel_routes,
    netns_name,
    reconcile_locks,
    release_prefix,
    route_args,
    route_priority,
    schedule_flush,
    to_route,
)
from .nexthop import needs_resolution
from .ports import LinuxPortOps, LinuxPorts

__all__ = ["LinuxDataplane", "DataplaneUnavailable", "ROOT_ERROR", "PROTO", "PROTO_NAMES",
           "TRIGGER_IFNAME", "kernel_ifname", "netns_name", "route_priority"]

logger = logging.getLogger(__name__)


class LinuxDataplane(LinuxPortOps, LinuxReaders):
    """The ``Dataplane`` protocol over Linux namespaces; see the module docstring."""

    name = "linux"

    def __init__(self, *, prefix: str = "jcli-", keep_namespaces: bool = False,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        if os.geteuid() != 0:
            raise DataplaneUnavailable(ROOT_ERROR)
        if not os.path.exists("/dev/net/tun"):
            raise DataplaneUnavailable("--dataplane linux needs /dev/net/tun (TUN driver)")
        if shutil.which("ip") is None:
            raise DataplaneUnavailable("--dataplane linux needs the 'ip' tool (iproute2)")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", prefix):
            raise ValueError(f"bad namespace prefix {prefix!r}")
        self.prefix = prefix
        self.keep_namespaces = keep_namespaces
        self._lock = claim_prefix(prefix)
        self.ports = LinuxPorts(prefix)     # physical ports (engine.dataplane.ports)
        self._loop = loop
        self._vrs: dict[str, VrState] = {}
        self._closed = False
        self.on_trigger = None
        self.on_session_packet: Callable[[str, str, bytes], None] | None = None
        self.on_local_packet = None
        self.counters: Counter[str] = Counter()

    # -- namespaces ---------------------------------------------------------------------
    def namespace(self, vr: str) -> str:
        """The namespace name of ``vr`` (whether or not it exists)."""
        return netns_name(self.prefix, vr)

    def reconcile_stale(self) -> list[str]:
        """Delete ``<prefix>*`` namespaces not owned by this instance (left by a crashed run);
        their TUN devices and veth ends go with them.  Returns the deleted names."""
        mine = {st.ns for st in self._vrs.values()}
        for port in self.ports.reconcile():     # before a namespace deletion destroys a veth
            logger.info("gave port %s back after an earlier run", port)
        stale = [ns for ns in nsh.list_namespaces() if ns.startswith(self.prefix) and ns not in mine]
        for ns in stale:
            logger.info("deleting stale namespace %s", ns)
            nsh.delete_namespace(ns)
        for name in reconcile_locks():
            logger.info("removed the lock file %s of a router that is gone", name)
        return stale

    def vrs(self) -> list[str]:
        return list(self._vrs)

    def add_vr(self, vr: str) -> None:
        self._check_open()
        if vr in self._vrs:
            return
        ns = self.namespace(vr)
        if any(st.ns == ns for st in self._vrs.values()):
            raise ValueError(f"VR {vr!r} maps to namespace {ns} already in use")
        st = VrState(vr, ns)
        nsh.delete_namespace(ns)  # a leftover of the same name would carry stale state
        try:
            nsh.create_namespace(ns)
            nsh.set_sysctls(ns, {
                "net.ipv4.ip_forward": "1",
                "net.ipv4.conf.all.rp_filter": "0",
                "net.ipv4.conf.default.rp_filter": "0",
                "net.ipv6.conf.all.disable_ipv6": "1",
                "net.ipv6.conf.default.disable_ipv6": "1",
                "net.ipv4.ping_group_range": "0 2147483647",
            })
            st.nl = rtnl.Rtnl(nsh.run_in_netns(ns, rtnl.Rtnl.open_socket))
            st.lo_index = st.nl.link_index("lo")
            st.trigger_fd = nsh.open_tun_in_netns(ns, TRIGGER_IFNAME)
            st.trigger_index = st.nl.link_index(TRIGGER_IFNAME)
            st.nl.link_up(st.trigger_index)
            st.raw = nsh.socket_in_netns(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            st.raw.setblocking(False)
            st.icmp = nsh.socket_in_netns(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            mask = 0xFFFFFFFF
            for t in LOCAL_ICMP_TYPES:
                mask &= ~(1 << t)
            st.icmp.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", mask))
            st.icmp.setblocking(False)
            self._ensure_readers(st)
        except BaseException:
            self._teardown(st, delete=True)
            raise
        self._vrs[vr] = st

    def remove_vr(self, vr: str) -> None:
        self.ports.release_vr(vr)
        st = self._vrs.pop(vr, None)
        if st is not None:
            self._teardown(st, delete=not self.keep_namespaces)

    def close(self) -> None:
        """Delete every namespace (unless keep_namespaces) and device this instance created."""
        if self._closed:
            return
        self._closed = True
        try:
            self.ports.close()
            for vr in list(self._vrs):
                self.remove_vr(vr)
        finally:
            release_prefix(self.prefix, self._lock)

    def __enter__(self) -> LinuxDataplane:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def socket_in_vr(self, vr: str, family: int = socket.AF_INET,
                     type: int = socket.SOCK_DGRAM, proto: int = 0) -> socket.socket:
        """A new socket living in ``vr``'s namespace (for L2TP/RADIUS); the caller closes it."""
        return nsh.socket_in_netns(self._vr(vr).ns, family, type, proto)

    # -- addresses -----------------------------------------------------------------------
    def set_address(self, vr: str, ifname: str, address: ipaddress.IPv4Interface | None) -> None:
        st = self._vr(vr)
        try:
            self._set_address(st, ifname, address)
        except rtnl.NetlinkError as exc:
            raise DataplaneError(vr, f"{ifname} address {address}", os.strerror(exc.errno or 0),
                                 errno=exc.errno) from None

    def _set_address(self, st: VrState, ifname: str,
                     address: ipaddress.IPv4Interface | None) -> None:
        if ifname in st.sessions:
            sess = st.sessions[ifname]
            ignore_missing(st.nl.addr, False, sess.index, sess.local, 32, sess.peer)
            if address is not None:
                sess.local = address.ip
                st.nl.addr(True, sess.index, sess.local, 32, sess.peer)
            return
        if not is_loopback(ifname):
            raise DataplaneConfigError(st.name, ifname, "no such interface (ports: set_port)")
        old = st.loopbacks.pop(ifname, None)
        if old is not None and old != address:
            ignore_missing(st.nl.addr, False, st.lo_index, old.ip, old.network.prefixlen)
            lost, moved = st.nexthops.connected_down(ifname, old.network)
            self._kernel_routes(st, lost, add=False)
            self._kernel_routes(st, [r for r, _via in moved], add=True)
        if address is not None:
            st.nl.addr(True, st.lo_index, address.ip, address.network.prefixlen)
            st.loopbacks[ifname] = address
            up = st.nexthops.connected_up(ifname, address.network)
            self._kernel_routes(st, [r for r, _via in up], add=True)

    # -- routes --------------------------------------------------------------------------
    def add_route(self, vr: str, route: Route) -> None:
        """Install ``route``; a next-hop route whose next hop is not in a connected network is
        kept inactive and installed when one covers it."""
        self.add_routes(vr, [route])

    def add_routes(self, vr: str, routes: list[Route]) -> None:
        """Install many routes with one netlink round trip per ``Rtnl.CHUNK`` routes.

        Raises DataplaneError naming the first failure after trying all of them."""
        st = self._vr(vr)
        ready = [r for r in routes if r.protocol != "connected"
                 and (not needs_resolution(r) or st.nexthops.add(r) is not None)]
        self._kernel_routes(st, ready, add=True)

    def remove_routes(self, vr: str, routes: list[Route]) -> None:
        """Batched ``remove_route``; routes that are not installed are ignored."""
        st = self._vr(vr)
        installed = [r for r in routes if r.protocol != "connected"
                     and (not needs_resolution(r) or st.nexthops.remove(r) is not None)]
        self._kernel_routes(st, installed, add=False)

    def remove_route(self, vr: str, route: Route) -> None:
        self.remove_routes(vr, [route])

    def _kernel_routes(self, st: VrState, routes: list[Route], *, add: bool) -> None:
        if not routes:
            return
        if add:
            mtype, flags = rtnl.RTM_NEWROUTE, rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE
            ignore: tuple[int, ...] = ()
        else:
            mtype, flags, ignore = rtnl.RTM_DELROUTE, 0, (errno.ESRCH,)
        msgs, by_seq = [], {}
        for route in routes:
            try:
                args = route_args(st, route)
            except DataplaneError:
                if add and needs_resolution(route):
                    st.nexthops.remove(route)
                raise
            seq = st.nl.next_seq()
            msgs.append(rtnl.encode_route(mtype, flags | rtnl.NLM_F_REQUEST, seq, **args))
            by_seq[seq] = route
        failures = [(s, e) for s, e in st.nl.send_batch(msgs, list(by_seq)) if e not in ignore]
        if not failures:
            return
        if add:
            for seq, _err in failures:       # not in the kernel: not active either
                if needs_resolution(by_seq[seq]):
                    st.nexthops.remove(by_seq[seq])
        seq, err = failures[0]
        more = f" ({len(failures)} of {len(routes)} routes failed)" if len(routes) > 1 else ""
        raise DataplaneError(st.name, f"route {by_seq[seq].describe()}",
                             os.strerror(err) + more, errno=err)

    def routes(self, vr: str) -> list[Route]:
        """The IPv4 routes of the VR's main table as the kernel holds them, then the inactive
        next-hop routes (``active`` False)."""
        st = self._vr(vr)
        flush_retired(st)             # what is read reflects every removal
        return kernel_routes(st) + st.nexthops.inactive()

    def iter_routes(self, vr: str, start: ipaddress.IPv4Network | None = None, *,
                    after: bool = False) -> Iterator[Route]:
        """``routes`` in prefix order (network address, then length) from ``start``, as the
        sim dataplane's ``iter_routes`` (the kernel's table is read once)."""
        return in_prefix_order(self.routes(vr), start, after=after)

    def lookup(self, vr: str, dst: ipaddress.IPv4Address) -> Route | None:
        """The route the kernel would use for ``dst`` (RTM_GETROUTE, FIB match); None when
        unreachable (no route, or an unreachable/prohibit route)."""
        st = self._vr(vr)
        flush_retired(st)
        dst = ipaddress.IPv4Address(dst)
        try:
            kr = st.nl.get_route(dst)
        except rtnl.NetlinkError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # the kernel answers EINVAL for a blackhole match: find it in the table
            best = None
            for cand in st.nl.dump_routes():
                if (cand.table == rtnl.RT_TABLE_MAIN and dst in cand.prefix
                        and (best is None or (cand.prefix.prefixlen, -cand.priority)
                             > (best.prefix.prefixlen, -best.priority))):
                    best = cand
            if best is None or best.type != rtnl.RTN_BLACKHOLE:
                return None
            kr = best
        if kr is None:
            return None
        return to_route(st, kr, index_names(st))

    # -- session interfaces ----------------------------------------------------------------
    def add_session_interface(self, vr: str, ifname: str, local: ipaddress.IPv4Address,
                              peer: ipaddress.IPv4Address) -> None:
        st = self._vr(vr)
        if ifname in st.sessions:
            raise ValueError(f"{ifname}: session interface exists in VR {vr}")
        kname = kernel_ifname(ifname)
        if kname in st.knames and any(k == kname for _g, b in st.retired for _fd, k in b):
            flush_retired(st)
        if kname in st.knames:
            raise DataplaneConfigError(vr, ifname, f"kernel name {kname} already in use")
        self._ensure_readers(st)
        fd = nsh.open_tun_in_netns(st.ns, kname)
        try:
            index = st.nl.link_index(kname)
            sess = SessionState(ifname, kname, fd, index, ipaddress.IPv4Address(local),
                            ipaddress.IPv4Address(peer))
            st.nl.addr(True, index, sess.local, 32, sess.peer)
            st.nl.link_up(index)
            if st.loop is not None:
                self._add_reader(st, fd, self._read_session, st, sess)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, rtnl.NetlinkError):
                raise DataplaneError(vr, ifname, os.strerror(exc.errno or 0),
                                     errno=exc.errno) from None
            raise
        st.sessions[ifname] = sess
        st.knames.add(kname)
        up = st.nexthops.connected_up(ifname, ipaddress.IPv4Network(sess.peer))
        self._kernel_routes(st, [r for r, _via in up], add=True)

    def remove_session_interface(self, vr: str, ifname: str) -> None:
        st = self._vrs.get(vr)
        sess = st.sessions.pop(ifname, None) if st else None
        if st is not None and sess is not None:
            self._retire(st, sess)          # the kernel withdraws the routes through it
            _lost, moved = st.nexthops.connected_down(ifname, ipaddress.IPv4Network(sess.peer))
            self._kernel_routes(st, [r for r, _via in moved], add=True)

    def set_mtu(self, vr: str, ifname: str, mtu: int) -> None:
        """Set a session interface's MTU (the TUN device's, through netlink)."""
        st = self._vr(vr)
        sess = st.sessions.get(ifname)
        if sess is None:
            raise DataplaneConfigError(vr, ifname, "no such session interface")
        if not MIN_MTU <= mtu <= MAX_MTU:
            raise DataplaneConfigError(vr, ifname, f"MTU {mtu} out of range {MIN_MTU}-{MAX_MTU}")
        try:
            st.nl.link_set_mtu(sess.index, mtu)
        except rtnl.NetlinkError as exc:
            raise DataplaneError(vr, f"{ifname} mtu {mtu}", os.strerror(exc.errno or 0),
                                 errno=exc.errno) from None

    def mtu(self, vr: str, ifname: str) -> int:
        st = self._vr(vr)
        sess = st.sessions.get(ifname)
        if sess is None:
            raise DataplaneConfigError(vr, ifname, "no such session interface")
        return st.nl.link_mtu(sess.index)

    def session_kernel_name(self, vr: str, ifname: str) -> str:
        return self._vr(vr).sessions[ifname].kname

    # -- packets -------------------------------------------------------------------------
    def deliver(self, vr: str, ifname: str, packet: bytes) -> None:
        st = self._vrs.get(vr)
        sess = st.sessions.get(ifname) if st else None
        if sess is None:
            self.counters["deliver_no_interface"] += 1
            return
        try:
            os.write(sess.fd, packet)
            self.counters["delivered"] += 1
        except OSError as exc:
            self.counters["deliver_errors"] += 1
            logger.debug("deliver on %s/%s: %s", vr, ifname, exc)

    def send_from_vr(self, vr: str, packet: bytes) -> None:
        st = self._vr(vr)
        if len(packet) < 20 or packet[0] >> 4 != 4:
            self.counters["send_malformed"] += 1
            return
        dst = socket.inet_ntoa(packet[16:20])
        assert st.raw is not None
        try:
            st.raw.sendto(packet, (dst, 0))
            self.counters["sent_from_vr"] += 1
        except OSError as exc:
            self.counters["send_errors"] += 1
            logger.debug("send_from_vr %s to %s: %s", vr, dst, exc)

    def ping(self, vr: str, dst: ipaddress.IPv4Address, count: int = 1,
             timeout: float = 1.0, *, ident: int | None = None) -> int:
        """Blocking ICMP echo from inside ``vr`` through a datagram ICMP socket; returns the
        number of replies (for tools and tests; the shell uses send_from_vr/on_local_packet)."""
        sock = self.socket_in_vr(vr, socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        return echo(sock, dst, count, timeout)

    # -- internals -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("LinuxDataplane is closed")

    def _vr(self, vr: str) -> VrState:
        try:
            return self._vrs[vr]
        except KeyError:
            raise UnknownVirtualRouter(vr) from None

    def _retire(self, st: VrState, sess: SessionState) -> None:
        """Stop reading a session's device and queue it for deletion in batches, one batch per
        loop turn (see the module docstring)."""
        self._remove_reader(st, sess.fd)
        if not st.retired or len(st.retired[-1][1]) >= RETIRE_BATCH:
            st.retire_seq = (st.retire_seq + 1) % RETIRED_GROUPS
            st.retired.append((RETIRED_GROUP + st.retire_seq, []))
        group, batch = st.retired[-1]
        try:
            st.nl.link_set_group(sess.index, group)
        except OSError as exc:
            logger.debug("retiring %s: %s", sess.kname, exc)
            os.close(sess.fd)
            st.knames.discard(sess.kname)
            return
        batch.append((sess.fd, sess.kname))
        schedule_flush(st)

    def pending_removals(self, vr: str) -> int:
        """Session devices removed but not yet deleted from the kernel."""
        return sum(len(batch) for _group, batch in self._vr(vr).retired)

    def _teardown(self, st: VrState, *, delete: bool) -> None:
        for sess in list(st.sessions.values()):
            if st.nl is not None:
                self._retire(st, sess)
            else:
                self._close_fd(st, sess.fd)
        st.sessions.clear()
        if st.nl is not None:
            flush_retired(st)
        if st.icmp is not None:
            if st.icmp.fileno() in st.readers:
                st.readers.discard(st.icmp.fileno())
                assert st.loop is not None
                st.loop.remove_reader(st.icmp.fileno())
            st.icmp.close()
        if st.trigger_fd is not None:
            self._close_fd(st, st.trigger_fd)
            st.trigger_fd = None
        if st.raw is not None:
            st.raw.close()
        if st.nl is not None:
            st.nl.close()
        if delete:
            nsh.delete_namespace(st.ns)
