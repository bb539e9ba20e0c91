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
  receives it as if it came in on that interface.
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
``reconcile_stale()``, ``socket_in_vr(vr, family, type, proto)`` (L2TP/RADIUS sockets; the caller
closes them), ``remove_routes(vr, routes)`` (batched), ``ping(...)``, ``namespace(vr)``,
``session_kernel_name(vr, ifname)``, ``vrs()``, ``counters`` (a Counter of drops and errors),
context-manager use (``with LinuxDataplane() as dp``).  Constructing it without root raises
``DataplaneUnavailable`` (a RuntimeError) before anything is created.  Lab namespaces and veth
pairs: ``engine.dataplane.netns_helpers`` (``make_lab_namespace``, ``lab_namespace``,
``delete_namespace``).

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
import fcntl
import hashlib
import ipaddress
import logging
import os
import re
import shutil
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass, field

from . import netns_helpers as nsh
from . import rtnl
from .base import DISTANCE, Route

logger = logging.getLogger(__name__)

PROTO = {"static": 240, "access": 241, "dial-out": 242}
PROTO_NAMES = {v: k for k, v in PROTO.items()}
TRIGGER_IFNAME = "dialout0"
MAX_BURST = 256
READ_SIZE = 65535
SOL_RAW = 255
ICMP_FILTER = 1
_LOCAL_ICMP_TYPES = (0, 3, 11, 12)   # echo reply, unreachable, time exceeded, param problem

_NS_OK = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}")
_IF_OK = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
_RESERVED_IF = {"lo", TRIGGER_IFNAME}

ROOT_ERROR = "--dataplane linux needs root (network namespaces and TUN devices)"


LOCK_DIR = "/run/jcli"


class DataplaneUnavailable(RuntimeError):
    """The Linux dataplane cannot run here (not root, no /dev/net/tun, no ``ip``)."""


def netns_name(prefix: str, vr: str) -> str:
    if _NS_OK.fullmatch(vr):
        return prefix + vr
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", vr)[:24]
    return f"{prefix}{safe}-{hashlib.sha1(vr.encode()).hexdigest()[:8]}"


def kernel_ifname(ifname: str) -> str:
    if _IF_OK.fullmatch(ifname) and ifname not in _RESERVED_IF:
        return ifname
    return "t" + hashlib.sha1(ifname.encode()).hexdigest()[:12]


def route_priority(route: Route) -> int:
    return (route.admin_distance << 16) | min(max(route.metric, 0), 0xFFFF)


def _is_loopback(ifname: str) -> bool:
    return ifname == "lo" or ifname.lower().startswith("loopback")


@dataclass(slots=True)
class _Session:
    ifname: str
    kname: str
    fd: int
    index: int
    local: ipaddress.IPv4Address
    peer: ipaddress.IPv4Address


@dataclass(slots=True)
class _Vr:
    name: str
    ns: str
    nl: rtnl.Rtnl | None = None
    trigger_fd: int | None = None
    trigger_index: int = 0
    lo_index: int = 1
    raw: socket.socket | None = None
    icmp: socket.socket | None = None
    sessions: dict[str, _Session] = field(default_factory=dict)
    loopbacks: dict[str, ipaddress.IPv4Interface] = field(default_factory=dict)
    readers: list[int] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None


class LinuxDataplane:
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
        self._lock = self._claim_prefix(prefix)
        self._loop = loop
        self._vrs: dict[str, _Vr] = {}
        self._closed = False
        self.on_trigger = None
        self.on_session_packet = None
        self.on_local_packet = None
        self.counters: Counter[str] = Counter()

    @staticmethod
    def _claim_prefix(prefix: str) -> int:
        """Hold an exclusive lock on the prefix for the life of the process: a second router
        with the same prefix is refused, and the namespaces of a crashed one (whose lock the
        kernel released) may safely be reconciled."""
        os.makedirs(LOCK_DIR, exist_ok=True)
        fd = os.open(os.path.join(LOCK_DIR, prefix + "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataplaneUnavailable(f"another router is running with namespace prefix "
                                       f"{prefix!r}") from None
        return fd

    # -- namespaces ---------------------------------------------------------------------
    def namespace(self, vr: str) -> str:
        """The namespace name of ``vr`` (whether or not it exists)."""
        return netns_name(self.prefix, vr)

    def reconcile_stale(self) -> list[str]:
        """Delete ``<prefix>*`` namespaces not owned by this instance (left by a crashed run);
        their TUN devices and veth ends go with them.  Returns the deleted names."""
        mine = {st.ns for st in self._vrs.values()}
        stale = [ns for ns in nsh.list_namespaces() if ns.startswith(self.prefix) and ns not in mine]
        for ns in stale:
            logger.info("deleting stale namespace %s", ns)
            nsh.delete_namespace(ns)
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
        st = _Vr(vr, ns)
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
            for t in _LOCAL_ICMP_TYPES:
                mask &= ~(1 << t)
            st.icmp.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", mask))
            st.icmp.setblocking(False)
            self._ensure_readers(st)
        except BaseException:
            self._teardown(st, delete=True)
            raise
        self._vrs[vr] = st

    def remove_vr(self, vr: str) -> None:
        st = self._vrs.pop(vr, None)
        if st is not None:
            self._teardown(st, delete=not self.keep_namespaces)

    def close(self) -> None:
        """Delete every namespace (unless keep_namespaces) and device this instance created."""
        if self._closed:
            return
        self._closed = True
        try:
            for vr in list(self._vrs):
                self.remove_vr(vr)
        finally:
            os.close(self._lock)

    def __enter__(self) -> "LinuxDataplane":
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
        if ifname in st.sessions:
            sess = st.sessions[ifname]
            if address is None:
                self._ignore_missing(st.nl.addr, False, sess.index, sess.local, 32, sess.peer)
                return
            self._ignore_missing(st.nl.addr, False, sess.index, sess.local, 32, sess.peer)
            sess.local = address.ip
            st.nl.addr(True, sess.index, sess.local, 32, sess.peer)
            return
        if not _is_loopback(ifname):
            raise ValueError(f"{ifname}: no such interface in VR {vr} (only loopback and "
                             "session interfaces exist in the Linux dataplane)")
        old = st.loopbacks.pop(ifname, None)
        if old is not None and old != address:
            self._ignore_missing(st.nl.addr, False, st.lo_index, old.ip, old.network.prefixlen)
        if address is not None:
            st.nl.addr(True, st.lo_index, address.ip, address.network.prefixlen)
            st.loopbacks[ifname] = address

    @staticmethod
    def _ignore_missing(fn, *args) -> None:
        try:
            fn(*args)
        except OSError as exc:
            if exc.errno not in (errno.EADDRNOTAVAIL, errno.ESRCH, errno.ENOENT, errno.ENODEV):
                raise

    # -- routes --------------------------------------------------------------------------
    def _route_args(self, st: _Vr, route: Route) -> dict:
        if route.protocol not in PROTO:
            raise ValueError(f"cannot install a {route.protocol!r} route")
        if route.prefix.version != 4:
            raise ValueError("IPv4 routes only")
        kw = dict(prefix=route.prefix, protocol=PROTO[route.protocol],
                  priority=route_priority(route))
        if route.protocol == "dial-out":
            kw["oif"] = st.trigger_index
        elif route.ifname is not None and route.ifname.lower() == "null0":
            kw["rtype"] = rtnl.RTN_BLACKHOLE
        else:
            if route.ifname is not None:
                kw["oif"] = self._ifindex(st, route.ifname)
            if route.nexthop is not None:
                kw["gateway"] = route.nexthop
            if "oif" not in kw and "gateway" not in kw:
                raise ValueError(f"route {route.prefix} has neither interface nor next hop")
        return kw

    def _ifindex(self, st: _Vr, ifname: str) -> int:
        if ifname in st.sessions:
            return st.sessions[ifname].index
        if _is_loopback(ifname):
            return st.lo_index
        if ifname == TRIGGER_IFNAME:
            return st.trigger_index
        raise ValueError(f"{ifname}: no such interface in VR {st.name}")

    def add_route(self, vr: str, route: Route) -> None:
        st = self._vr(vr)
        if route.protocol == "connected":
            return  # the kernel derives connected routes from the addresses
        st.nl.route(rtnl.RTM_NEWROUTE, rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE,
                    **self._route_args(st, route))

    def add_routes(self, vr: str, routes: list[Route]) -> None:
        """Install many routes with one netlink round trip per ``Rtnl.CHUNK`` routes.

        Raises OSError naming the first failure after trying all of them."""
        self._batch(vr, routes, rtnl.RTM_NEWROUTE, rtnl.NLM_F_CREATE | rtnl.NLM_F_REPLACE)

    def remove_routes(self, vr: str, routes: list[Route]) -> None:
        """Batched ``remove_route``; routes that are not installed are ignored."""
        self._batch(vr, routes, rtnl.RTM_DELROUTE, 0, ignore=(errno.ESRCH,))

    def _batch(self, vr: str, routes: list[Route], mtype: int, flags: int,
               ignore: tuple[int, ...] = ()) -> None:
        st = self._vr(vr)
        routes = [r for r in routes if r.protocol != "connected"]
        if not routes:
            return
        msgs, seqs = [], []
        for route in routes:
            seq = st.nl.next_seq()
            msgs.append(rtnl.encode_route(mtype, flags | rtnl.NLM_F_REQUEST, seq,
                                          **self._route_args(st, route)))
            seqs.append(seq)
        failures = [(s, e) for s, e in st.nl.send_batch(msgs, seqs) if e not in ignore]
        if failures:
            by_seq = dict(zip(seqs, routes))
            seq, err = failures[0]
            raise OSError(err, f"{len(failures)} of {len(routes)} routes failed in VR {vr}; "
                               f"first {by_seq.get(seq)}: {os.strerror(err)}")

    def remove_route(self, vr: str, route: Route) -> None:
        st = self._vr(vr)
        if route.protocol == "connected":
            return
        try:
            st.nl.route(rtnl.RTM_DELROUTE, 0, **self._route_args(st, route))
        except OSError as exc:
            if exc.errno != errno.ESRCH:
                raise

    def routes(self, vr: str) -> list[Route]:
        """The IPv4 routes of the VR's main table as the kernel holds them."""
        st = self._vr(vr)
        names = self._index_names(st)
        loopback_nets: dict[ipaddress.IPv4Network, str] = {}
        for unit, iface in sorted(st.loopbacks.items(), reverse=True):
            loopback_nets[iface.network] = unit
            loopback_nets[ipaddress.IPv4Network(iface.ip)] = unit
        out = []
        for kr in st.nl.dump_routes():
            if kr.table != rtnl.RT_TABLE_MAIN:
                # a loopback unit's address is a local route on lo: show it as connected
                if (kr.type == rtnl.RTN_LOCAL and kr.oif == st.lo_index
                        and kr.prefix in loopback_nets):
                    out.append(Route(kr.prefix, "connected", ifname=loopback_nets[kr.prefix]))
                continue
            route = self._to_route(st, kr, names)
            if route is not None:
                out.append(route)
        return out

    def lookup(self, vr: str, dst: ipaddress.IPv4Address) -> Route | None:
        """The route the kernel would use for ``dst`` (RTM_GETROUTE, FIB match); None when
        unreachable (no route, or an unreachable/prohibit route)."""
        st = self._vr(vr)
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
        return self._to_route(st, kr, self._index_names(st))

    def _index_names(self, st: _Vr) -> dict[int, str | None]:
        names: dict[int, str | None] = {st.trigger_index: None}
        names[st.lo_index] = min(st.loopbacks) if st.loopbacks else "lo"
        for sess in st.sessions.values():
            names[sess.index] = sess.ifname
        return names

    def _to_route(self, st: _Vr, kr: rtnl.KernelRoute, names: dict) -> Route | None:
        if kr.type in (rtnl.RTN_UNREACHABLE, rtnl.RTN_PROHIBIT):
            return None
        if kr.type == rtnl.RTN_LOCAL or kr.protocol == rtnl.RTPROT_KERNEL:
            protocol = "connected"
        else:
            protocol = PROTO_NAMES.get(kr.protocol, "static")
        if kr.type == rtnl.RTN_BLACKHOLE:
            ifname = "null0"
        elif kr.type not in (rtnl.RTN_UNICAST, rtnl.RTN_LOCAL):
            return None
        elif kr.oif is None:
            ifname = None
        elif kr.oif in names:
            ifname = names[kr.oif]
        else:
            ifname = st.nl.links().get(kr.oif, str(kr.oif))
        distance, metric = kr.priority >> 16, kr.priority & 0xFFFF
        return Route(prefix=kr.prefix, protocol=protocol, ifname=ifname, nexthop=kr.gateway,
                     distance=None if distance == DISTANCE[protocol] else distance,
                     metric=metric)

    # -- session interfaces ----------------------------------------------------------------
    def add_session_interface(self, vr: str, ifname: str, local: ipaddress.IPv4Address,
                              peer: ipaddress.IPv4Address) -> None:
        st = self._vr(vr)
        if ifname in st.sessions:
            raise ValueError(f"{ifname}: session interface exists in VR {vr}")
        kname = kernel_ifname(ifname)
        if any(s.kname == kname for s in st.sessions.values()):
            raise ValueError(f"{ifname}: kernel name {kname} already in use in VR {vr}")
        self._ensure_readers(st)
        fd = nsh.open_tun_in_netns(st.ns, kname)
        try:
            index = st.nl.link_index(kname)
            sess = _Session(ifname, kname, fd, index, ipaddress.IPv4Address(local),
                            ipaddress.IPv4Address(peer))
            st.nl.addr(True, index, sess.local, 32, sess.peer)
            st.nl.link_up(index)
            if st.loop is not None:
                self._add_reader(st, fd, self._read_session, st, sess)
        except BaseException:
            os.close(fd)
            raise
        st.sessions[ifname] = sess

    def remove_session_interface(self, vr: str, ifname: str) -> None:
        st = self._vrs.get(vr)
        sess = st.sessions.pop(ifname, None) if st else None
        if sess is not None:
            self._close_fd(st, sess.fd)

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
        received = 0
        try:
            sock.settimeout(timeout)
            for seq in range(count):
                hdr = struct.pack("!BBHHH", 8, 0, 0, 0, seq) + b"jcli-ping"
                sock.sendto(hdr, (str(dst), 0))
                deadline = time.monotonic() + timeout
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    try:
                        data = sock.recv(2048)
                    except (TimeoutError, socket.timeout):
                        break
                    if data[:1] == b"\0" and struct.unpack("!H", data[6:8])[0] == seq:
                        received += 1
                        break
        finally:
            sock.close()
        return received

    # -- readers -------------------------------------------------------------------------
    def _get_loop(self) -> asyncio.AbstractEventLoop | None:
        if self._loop is not None:
            return self._loop
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            logger.info("no asyncio loop: the Linux dataplane's TUN devices are not read")
            return None

    def _ensure_readers(self, st: _Vr) -> None:
        """Start reading the VR's trigger TUN and ICMP socket once a loop is known."""
        if st.loop is not None:
            return
        st.loop = self._get_loop()
        if st.loop is not None:
            self._add_reader(st, st.trigger_fd, self._read_trigger, st)
            self._add_reader(st, st.icmp.fileno(), self._read_local, st)

    def _add_reader(self, st: _Vr, fd: int, cb, *args) -> None:
        st.loop.add_reader(fd, cb, *args)
        st.readers.append(fd)

    def _drain(self, fd: int, handle) -> None:
        for _ in range(MAX_BURST):
            try:
                pkt = os.read(fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                logger.debug("read fd %d: %s", fd, exc)
                return
            if not pkt or pkt[0] >> 4 != 4:
                self.counters["non_ipv4"] += 1
                continue
            try:
                handle(pkt)
            except Exception:
                self.counters["callback_errors"] += 1
                logger.exception("dataplane callback failed")

    def _read_trigger(self, st: _Vr) -> None:
        def handle(pkt: bytes) -> None:
            self.counters["triggers"] += 1
            if self.on_trigger is not None:
                self.on_trigger(st.name, pkt)
        self._drain(st.trigger_fd, handle)

    def _read_session(self, st: _Vr, sess: _Session) -> None:
        cb = self.on_session_packet
        name, ifname = st.name, sess.ifname
        if cb is None:
            self._drain(sess.fd, lambda pkt: None)
        else:
            self._drain(sess.fd, lambda pkt: cb(name, ifname, pkt))

    def _read_local(self, st: _Vr) -> None:
        def handle(pkt: bytes) -> None:
            if self.on_local_packet is not None:
                self.on_local_packet(st.name, pkt)
        self._drain(st.icmp.fileno(), handle)

    # -- internals -----------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("LinuxDataplane is closed")

    def _vr(self, vr: str) -> _Vr:
        try:
            return self._vrs[vr]
        except KeyError:
            raise KeyError(f"unknown VR {vr!r}") from None

    def _close_fd(self, st: _Vr, fd: int) -> None:
        if fd in st.readers:
            st.readers.remove(fd)
            st.loop.remove_reader(fd)
        os.close(fd)

    def _teardown(self, st: _Vr, *, delete: bool) -> None:
        for sess in list(st.sessions.values()):
            self._close_fd(st, sess.fd)
        st.sessions.clear()
        if st.icmp is not None:
            if st.icmp.fileno() in st.readers:
                st.readers.remove(st.icmp.fileno())
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
