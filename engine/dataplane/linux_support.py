"""Linux dataplane support: names, per-VR state, route translation, the instance lock.

Everything here is used by ``engine.dataplane.linux.LinuxDataplane`` (whose docstring gives
the theory of operation); it is split out so that the class holds only the operations.
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
import socket
import struct
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..rib import prefix_key
from . import rtnl
from .base import DISTANCE, DataplaneConfigError, Route
from .nexthop import NextHops

logger = logging.getLogger(__name__)

PROTO = {"static": 240, "access": 241, "dial-out": 242}
PROTO_NAMES = {v: k for k, v in PROTO.items()}
TRIGGER_IFNAME = "dialout0"
MAX_BURST = 256
READ_SIZE = 65535
SOL_RAW = 255
ICMP_FILTER = 1
LOCAL_ICMP_TYPES = (0, 3, 11, 12)   # echo reply, unreachable, time exceeded, param problem
RETIRED_GROUP = 0x6A636000         # link groups of session devices waiting to be deleted:
RETIRED_GROUPS = 4096               # RETIRED_GROUP + 0..4095, one per batch
RETIRE_BATCH = 64                   # devices deleted together, one batch per loop turn
# (16,000 sessions, bench/dataplane.py: batches of 32 -> 18.7 s, longest loop stall 75 ms;
#  64 -> 13.3 s, 96 ms; 128 -> 11.3 s, 156 ms; one by one: 17-20 ms per device)
MIN_MTU, MAX_MTU = 68, 65535        # RFC 791 minimum; the TUN driver's maximum

_NS_OK = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,39}")
_IF_OK = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
_RESERVED_IF = {"lo", TRIGGER_IFNAME}

ROOT_ERROR = "--dataplane linux needs root (network namespaces and TUN devices)"
LOCK_DIR = "/run/jcli"
LOCK_SUFFIX = "lock"


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


def is_loopback(ifname: str) -> bool:
    return ifname == "lo" or ifname.lower().startswith("loopback")


# -- per-VR state ----------------------------------------------------------------------------
@dataclass(slots=True)
class SessionState:
    ifname: str
    kname: str
    fd: int
    index: int
    local: ipaddress.IPv4Address
    peer: ipaddress.IPv4Address


@dataclass(slots=True)
class VrState:
    name: str
    ns: str
    nl: rtnl.Rtnl = None  # type: ignore[assignment]   # set by add_vr before any use
    trigger_fd: int | None = None
    trigger_index: int = 0
    lo_index: int = 1
    raw: socket.socket | None = None
    icmp: socket.socket | None = None
    sessions: dict[str, SessionState] = field(default_factory=dict)
    loopbacks: dict[str, ipaddress.IPv4Interface] = field(default_factory=dict)
    readers: set[int] = field(default_factory=set)
    knames: set[str] = field(default_factory=set)              # kernel names of sessions
    # batches of retired devices, oldest first: (link group, [(fd, kernel name)])
    retired: deque[tuple[int, list[tuple[int, str]]]] = field(default_factory=deque)
    retire_seq: int = 0
    flush_scheduled: bool = False
    loop: asyncio.AbstractEventLoop | None = None
    nexthops: NextHops = field(default_factory=NextHops)
    ports: dict[str, int] = field(default_factory=dict)         # port name -> ifindex


# -- route translation -------------------------------------------------------------------------
def ifindex(st: VrState, ifname: str) -> int:
    if ifname in st.sessions:
        return st.sessions[ifname].index
    if is_loopback(ifname):
        return st.lo_index
    if ifname == TRIGGER_IFNAME:
        return st.trigger_index
    if ifname in st.ports:
        return st.ports[ifname]
    raise DataplaneConfigError(st.name, ifname, "no such interface")


def route_args(st: VrState, route: Route) -> dict[str, Any]:
    """Keyword arguments of ``rtnl.encode_route`` for ``route`` in ``st``."""
    if route.protocol not in PROTO:
        raise DataplaneConfigError(st.name, route.describe(),
                                   f"cannot install a {route.protocol} route")
    if route.prefix.version != 4:
        raise DataplaneConfigError(st.name, route.describe(), "IPv4 routes only")
    kw: dict[str, Any] = dict(prefix=route.prefix, protocol=PROTO[route.protocol],
                              priority=route_priority(route))
    if route.protocol == "dial-out":
        kw["oif"] = st.trigger_index
    elif route.ifname is not None and route.ifname.lower() == "null0":
        kw["rtype"] = rtnl.RTN_BLACKHOLE
    else:
        if route.ifname is not None:
            kw["oif"] = ifindex(st, route.ifname)
        if route.nexthop is not None:
            kw["gateway"] = route.nexthop
        if "oif" not in kw and "gateway" not in kw:
            raise DataplaneConfigError(st.name, route.describe(),
                                       "neither interface nor next hop")
    return kw


def index_names(st: VrState) -> dict[int, str | None]:
    names: dict[int, str | None] = {st.trigger_index: None}
    names[st.lo_index] = min(st.loopbacks) if st.loopbacks else "lo"
    for sess in st.sessions.values():
        names[sess.index] = sess.ifname
    for port, index in st.ports.items():
        names[index] = port
    return names


def to_route(st: VrState, kr: rtnl.KernelRoute, names: dict[int, str | None]) -> Route | None:
    if kr.type in (rtnl.RTN_UNREACHABLE, rtnl.RTN_PROHIBIT):
        return None
    if kr.type == rtnl.RTN_LOCAL or kr.protocol == rtnl.RTPROT_KERNEL:
        protocol = "connected"
    else:
        protocol = PROTO_NAMES.get(kr.protocol, "static")
    ifname: str | None
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


def kernel_routes(st: VrState) -> list[Route]:
    """The IPv4 routes of the VR's main table as the kernel holds them, loopback addresses as
    connected routes of their units."""
    names = index_names(st)
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
        route = to_route(st, kr, names)
        if route is not None:
            out.append(route)
    return out


def in_prefix_order(routes: list[Route], start: ipaddress.IPv4Network | None = None, *,
                    after: bool = False) -> Iterator[Route]:
    """``routes`` sorted by prefix (address, then length; stable) from ``start``."""
    first = None if start is None else prefix_key(start)
    keyed = sorted(((prefix_key(r.prefix), i, r) for i, r in enumerate(routes)
                    if first is None or prefix_key(r.prefix) > first
                    or (not after and prefix_key(r.prefix) == first)),
                   key=lambda t: (t[0], t[1]))
    return (r for _k, _i, r in keyed)


def echo(sock: socket.socket, dst: ipaddress.IPv4Address, count: int, timeout: float) -> int:
    """ICMP echo requests through a datagram ICMP socket (closed afterwards); returns the
    number of replies."""
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
                except TimeoutError:
                    break
                if data[:1] == b"\0" and struct.unpack("!H", data[6:8])[0] == seq:
                    received += 1
                    break
    finally:
        sock.close()
    return received


def schedule_flush(st: VrState) -> None:
    """Delete the retired session devices, one batch per loop turn (at once without a loop)."""
    if st.flush_scheduled or not st.retired:
        return
    if st.loop is None or st.loop.is_closed():
        flush_retired(st)
    else:
        st.flush_scheduled = True
        st.loop.call_soon(flush_retired, st, False)


def flush_retired(st: VrState, every: bool = True) -> None:
    """Delete the oldest batch of retired session devices (every batch when ``every``)."""
    st.flush_scheduled = False
    while st.retired:
        group, batch = st.retired.popleft()
        if batch:
            try:
                st.nl.delete_group(group)
            except OSError as exc:   # closing the fds deletes the devices, one by one
                logger.debug("deleting retired devices in VR %s: %s", st.name, exc)
            for fd, kname in batch:
                os.close(fd)
                st.knames.discard(kname)
            if not every:
                break
    schedule_flush(st)


def ignore_missing(fn: Any, *args: Any) -> None:
    """Call ``fn``; an error saying the object is already gone is not an error."""
    try:
        fn(*args)
    except OSError as exc:
        if exc.errno not in (errno.EADDRNOTAVAIL, errno.ESRCH, errno.ENOENT, errno.ENODEV):
            raise


# -- the instance lock -------------------------------------------------------------------------
def lock_path(prefix: str) -> str:
    return os.path.join(LOCK_DIR, prefix + LOCK_SUFFIX)


def claim_prefix(prefix: str) -> int:
    """Hold an exclusive lock on the prefix for the life of the process: a second router with
    the same prefix is refused, and the namespaces of a crashed one (whose lock the kernel
    released) may safely be reconciled.  The lock is on the file that is at the path once
    locked (another process may have removed a stale one meanwhile)."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    path = lock_path(prefix)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataplaneUnavailable(f"another router is running with namespace prefix "
                                       f"{prefix!r}") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def release_prefix(prefix: str, fd: int) -> None:
    """Remove the lock file (still holding the lock, so nobody else holds it) and release."""
    try:
        if os.fstat(fd).st_ino == os.stat(lock_path(prefix)).st_ino:
            os.unlink(lock_path(prefix))
    except OSError:
        pass
    os.close(fd)


def reconcile_locks() -> list[str]:
    """Remove the lock files nobody holds (left by routers that crashed); returns their
    names."""
    try:
        names = sorted(n for n in os.listdir(LOCK_DIR) if n.endswith(LOCK_SUFFIX))
    except FileNotFoundError:
        return []
    gone = []
    for name in names:
        path = os.path.join(LOCK_DIR, name)
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                os.unlink(path)
                gone.append(name)
        except OSError:
            pass
        os.close(fd)
    return gone
