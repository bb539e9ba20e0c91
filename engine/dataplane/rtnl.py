"""A small blocking rtnetlink client: links, addresses and IPv4 routes.

Why not pyroute2 here (it is a test dependency only, used to cross-check the kernel state):
its synchronous ``IPRoute`` runs its own asyncio loop with ``run_until_complete`` and so raises
"This event loop is already running" when called from the engine's loop (pyroute2 0.9.7); its
asynchronous API would make every dataplane call a coroutine; run from a helper thread instead,
creating a namespace and bringing ``lo`` up took 25-58 ms against 5-7 ms for ``ip netns add``
and ``ip link set lo up``, and one route per call is far slower than the batch below (figures
in ``bench/dataplane.py``).  This module speaks the few rtnetlink messages the dataplane needs
over one ``AF_NETLINK`` socket that the caller opened inside the target network namespace (a
netlink socket stays bound to the namespace it was created in).

Batching (``send_batch``): many ``RTM_NEWROUTE`` messages are packed into one ``sendmsg``; only the
last message of each chunk asks for an acknowledgement, so the kernel answers with one ack per
chunk plus one error message per failed request (identified by its sequence number).
"""
from __future__ import annotations

import errno as _errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26

IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_GROUP = 27
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15

RT_TABLE_MAIN = 254
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST = 0, 253, 254
RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT = 1, 2, 6, 7, 8
RTPROT_KERNEL = 2
RTM_F_FIB_MATCH = 0x2000
IFF_UP = 0x1

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTA = struct.Struct("=HH")
_U32 = struct.Struct("=I")


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTA.size + len(payload)
    return _RTA.pack(length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _attr_u32(kind: int, value: int) -> bytes:
    return _RTA.pack(8, kind) + _U32.pack(value)


def parse_attrs(data: bytes | memoryview, offset: int) -> dict[int, bytes]:
    attrs: dict[int, bytes] = {}
    end = len(data)
    while offset + _RTA.size <= end:
        length, kind = _RTA.unpack_from(data, offset)
        if length < _RTA.size or offset + length > end:
            break
        attrs[kind & 0x3FFF] = bytes(data[offset + _RTA.size:offset + length])
        offset += (length + 3) & ~3
    return attrs


@dataclass(frozen=True, slots=True)
class KernelRoute:
    """An IPv4 route as the kernel reports it (RTM_NEWROUTE)."""
    prefix: ipaddress.IPv4Network
    table: int
    protocol: int
    scope: int
    type: int
    oif: int | None
    gateway: ipaddress.IPv4Address | None
    priority: int


def encode_route(mtype: int, flags: int, seq: int, *, prefix: ipaddress.IPv4Network,
                 protocol: int, rtype: int = RTN_UNICAST, oif: int | None = None,
                 gateway: ipaddress.IPv4Address | None = None, priority: int = 0,
                 table: int = RT_TABLE_MAIN) -> bytes:
    """One RTM_NEWROUTE / RTM_DELROUTE message (IPv4)."""
    if rtype == RTN_UNICAST and gateway is None:
        scope = RT_SCOPE_LINK
    else:
        scope = RT_SCOPE_UNIVERSE
    body = _RTMSG.pack(socket.AF_INET, prefix.prefixlen, 0, 0, table if table < 256 else 0,
                       protocol, scope, rtype, 0)
    parts = [body]
    if prefix.prefixlen:
        parts.append(_RTA.pack(8, RTA_DST) + prefix.network_address.packed)
    parts.append(_attr_u32(RTA_TABLE, table))
    parts.append(_attr_u32(RTA_PRIORITY, priority))
    if oif is not None:
        parts.append(_attr_u32(RTA_OIF, oif))
    if gateway is not None:
        parts.append(_RTA.pack(8, RTA_GATEWAY) + gateway.packed)
    payload = b"".join(parts)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), mtype, flags, seq, 0) + payload


def decode_route(body: bytes) -> KernelRoute | None:
    if len(body) < _RTMSG.size:
        return None
    family, dst_len, _src_len, _tos, table, proto, scope, rtype, _flags = _RTMSG.unpack_from(body)
    if family != socket.AF_INET:
        return None
    attrs = parse_attrs(body, _RTMSG.size)
    if RTA_TABLE in attrs:
        table = _U32.unpack(attrs[RTA_TABLE][:4])[0]
    dst = attrs.get(RTA_DST, b"\0\0\0\0")
    prefix = ipaddress.IPv4Network((int.from_bytes(dst[:4], "big"), dst_len), strict=False)
    oif = _U32.unpack(attrs[RTA_OIF][:4])[0] if RTA_OIF in attrs else None
    gw = ipaddress.IPv4Address(attrs[RTA_GATEWAY][:4]) if RTA_GATEWAY in attrs else None
    prio = _U32.unpack(attrs[RTA_PRIORITY][:4])[0] if RTA_PRIORITY in attrs else 0
    return KernelRoute(prefix, table, proto, scope, rtype, oif, gw, prio)


UNREACHABLE_ERRNOS = (_errno.ENETUNREACH, _errno.EHOSTUNREACH, _errno.ESRCH, _errno.EACCES)


class NetlinkError(OSError):
    pass


class Rtnl:
    """Blocking rtnetlink client over an already created ``AF_NETLINK/NETLINK_ROUTE`` socket."""

    CHUNK = 512  # messages per sendmsg in a batch

    def __init__(self, sock: socket.socket, *, timeout: float = 10.0) -> None:
        self.sock = sock
        sock.settimeout(timeout)
        for opt, size in ((SO_SNDBUFFORCE, 1 << 21), (SO_RCVBUFFORCE, 1 << 22)):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, size)
            except OSError:
                pass
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:
            pass
        sock.bind((0, 0))
        self._seq = 0

    @staticmethod
    def open_socket() -> socket.socket:
        """Create the netlink socket in the *current* (calling thread's) namespace."""
        return socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                             NETLINK_ROUTE)

    def close(self) -> None:
        self.sock.close()

    def next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    # -- generic request / response -------------------------------------------------------
    def _messages(self):
        data = self.sock.recv(1 << 20)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, mtype, flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size:
                break
            yield mtype, flags, seq, data[offset + _NLMSGHDR.size:offset + length]
            offset += (length + 3) & ~3

    def request(self, mtype: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        seq = self.next_seq()
        dump = (flags & NLM_F_DUMP) == NLM_F_DUMP
        if not dump:
            flags |= NLM_F_ACK
        msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), mtype, flags | NLM_F_REQUEST, seq, 0)
        self.sock.send(msg + payload)
        out: list[tuple[int, bytes]] = []
        while True:
            for rtype, _rflags, rseq, body in self._messages():
                if rseq != seq:
                    continue
                if rtype == NLMSG_DONE:
                    return out
                if rtype == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", body)[0]
                    if err:
                        raise NetlinkError(err, os.strerror(err))
                    return out
                out.append((rtype, body))

    def send_batch(self, messages: list[bytes], seqs: list[int]) -> list[tuple[int, int]]:
        """Send pre-encoded request messages (without NLM_F_ACK) in chunks.

        Each chunk's last message is re-flagged with NLM_F_ACK.  Returns ``[(seq, errno)]`` of the
        requests that failed.
        """
        failures: list[tuple[int, int]] = []
        for start in range(0, len(messages), self.CHUNK):
            chunk = messages[start:start + self.CHUNK]
            last = bytearray(chunk[-1])
            flags = struct.unpack_from("=H", last, 6)[0] | NLM_F_ACK
            struct.pack_into("=H", last, 6, flags)
            chunk[-1] = bytes(last)
            last_seq = seqs[start + len(chunk) - 1]
            self.sock.send(b"".join(chunk))
            done = False
            while not done:
                for rtype, _rflags, rseq, body in self._messages():
                    if rtype != NLMSG_ERROR:
                        continue
                    err = -struct.unpack_from("=i", body)[0]
                    if err:
                        failures.append((rseq, err))
                    if rseq == last_seq:
                        done = True
        return failures

    # -- links ---------------------------------------------------------------------------
    def link_index(self, name: str) -> int:
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA_IFNAME,
                                                                       name.encode() + b"\0")
        for mtype, body in self.request(RTM_GETLINK, 0, payload):
            if mtype == RTM_NEWLINK:
                return _IFINFOMSG.unpack_from(body)[2]
        raise NetlinkError(_errno.ENODEV, f"no such device: {name}")

    def links(self) -> dict[int, str]:
        out: dict[int, str] = {}
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
        for mtype, body in self.request(RTM_GETLINK, NLM_F_DUMP, payload):
            if mtype != RTM_NEWLINK:
                continue
            index = _IFINFOMSG.unpack_from(body)[2]
            attrs = parse_attrs(body, _IFINFOMSG.size)
            out[index] = attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
        return out

    def link_up(self, index: int) -> None:
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, IFF_UP, IFF_UP)
        self.request(RTM_NEWLINK, 0, payload)

    def link_set_group(self, index: int, group: int) -> None:
        """Move a link to ``group`` (nothing else changes)."""
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0) + _attr_u32(IFLA_GROUP, group)
        self.request(RTM_NEWLINK, 0, payload)

    def delete_group(self, group: int) -> None:
        """Delete every link of ``group`` at once (one unregistration for all of them)."""
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr_u32(IFLA_GROUP, group)
        self.request(RTM_DELLINK, 0, payload)

    def link_set_mtu(self, index: int, mtu: int) -> None:
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0) + _attr_u32(IFLA_MTU, mtu)
        self.request(RTM_NEWLINK, 0, payload)

    def link_mtu(self, index: int) -> int:
        payload = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0)
        for mtype, body in self.request(RTM_GETLINK, 0, payload):
            if mtype == RTM_NEWLINK:
                raw = parse_attrs(body, _IFINFOMSG.size).get(IFLA_MTU)
                if raw is not None and len(raw) >= 4:
                    return int(_U32.unpack_from(raw)[0])
        raise NetlinkError(_errno.ENODEV, f"no such device index: {index}")

    # -- addresses -----------------------------------------------------------------------
    def addr(self, add: bool, index: int, local: ipaddress.IPv4Address, prefixlen: int,
             peer: ipaddress.IPv4Address | None = None) -> None:
        payload = (_IFADDRMSG.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
                   + _attr(IFA_LOCAL, local.packed)
                   + _attr(IFA_ADDRESS, (peer or local).packed))
        if add:
            self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, payload)
        else:
            self.request(RTM_DELADDR, 0, payload)

    # -- routes --------------------------------------------------------------------------
    def route(self, mtype: int, flags: int, **kw) -> None:
        msg = encode_route(mtype, 0, 0, **kw)
        self.request(mtype, flags, msg[_NLMSGHDR.size:])

    def dump_routes(self) -> list[KernelRoute]:
        payload = _RTMSG.pack(socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
        out = []
        for mtype, body in self.request(RTM_GETROUTE, NLM_F_DUMP, payload):
            if mtype == RTM_NEWROUTE:
                route = decode_route(body)
                if route is not None:
                    out.append(route)
        return out

    def get_route(self, dst: ipaddress.IPv4Address) -> KernelRoute | None:
        """The FIB entry the kernel would use for ``dst`` (RTM_F_FIB_MATCH), None if none.

        A blackhole match raises NetlinkError(EINVAL): the kernel reports no entry for it."""
        payload = (_RTMSG.pack(socket.AF_INET, 32, 0, 0, 0, 0, 0, 0, RTM_F_FIB_MATCH)
                   + _attr(RTA_DST, dst.packed))
        try:
            replies = self.request(RTM_GETROUTE, 0, payload)
        except NetlinkError as exc:
            if exc.errno in UNREACHABLE_ERRNOS:
                return None
            raise
        for mtype, body in replies:
            if mtype == RTM_NEWROUTE:
                return decode_route(body)
        return None
