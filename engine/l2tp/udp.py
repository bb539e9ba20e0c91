"""asyncio adapter: one non-blocking UDP socket per local address, drained with loop.add_reader.

After any input the adapter flushes the endpoint's output and re-arms a single timer. All
tunnels and calls of the socket live in one L2tpEndpoint (demultiplexed by tunnel id there);
replies go to the peer's source address and port.

Local sources: besides its main socket the adapter can hold more sockets, one per local
address the tunnels use (``add_local(key, addr, factory)``; the factory makes the socket, e.g.
inside a virtual router's namespace).  The endpoint knows peers as address tuples; a peer
reached through such a socket is a ``PeerAddr`` — an ``(ip, port)`` tuple that also carries the
socket's key in ``local`` — so the endpoint stays unaware of local addresses: datagrams read
from the socket are tagged with its key, and datagrams to a tagged peer leave from its socket.
A local address of the main socket's own namespace whose port the main socket holds on the
wildcard address cannot have a socket of its own: its datagrams leave from the main socket with
the source set per datagram (IP_PKTINFO); the answers arrive on the main socket.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
import sys
from collections.abc import Callable
from typing import Any

from engine.aio.driver import CoreTimer

from .connection import L2tpEndpoint

log = logging.getLogger(__name__)

READ_BATCH = 512
#: Linux socket option: send UDP datagrams with a zero checksum (asm-generic/socket.h)
SO_NO_CHECK = getattr(socket, "SO_NO_CHECK", 11)
NO_CHECK_SUPPORTED = sys.platform.startswith("linux")
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


def _is_local(address: str) -> bool:
    """True when ``address`` can be bound in this namespace (it is one of its addresses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


class PeerAddr(tuple):  # type: ignore[type-arg]
    """``(ip, port)`` of a peer reached through the local socket ``local`` (see the module
    docstring); equal to the plain tuple."""

    local: str

    def __new__(cls, ip: str, port: int, local: str) -> PeerAddr:
        self = super().__new__(cls, (ip, port))
        self.local = local
        return self


class L2tpUdpAdapter:
    """Drive an L2tpEndpoint from a UDP socket.

    ``on_event(event)`` receives every endpoint event; it may call endpoint API methods (the
    adapter flushes again afterwards). ``drop_in(data, addr)`` / ``drop_out(data, addr)`` return
    True to discard a datagram (lab failure modes, lossy tests). Call ``flush()`` after calling
    endpoint API methods from outside an event callback.
    """

    def __init__(self, endpoint: L2tpEndpoint, local_addr: tuple[str, int], *,
                 on_event: Callable[[Any], None] | None = None,
                 drop_in: Callable[[bytes, Any], bool] | None = None,
                 drop_out: Callable[[bytes, Any], bool] | None = None,
                 after_service: Callable[[], None] | None = None,
                 rcvbuf: int = 4 << 20) -> None:
        self.endpoint = endpoint
        self.requested_addr = local_addr
        self.on_event = on_event
        self.drop_in = drop_in
        self.drop_out = drop_out
        self.after_service = after_service
        self.rcvbuf = rcvbuf
        self.sock: socket.socket | None = None
        self._local: tuple[socket.socket, tuple[str, int]] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: CoreTimer | None = None
        self._backlog: list[tuple[bytes, Any]] = []
        self._writer = False
        self.send_errors = 0
        #: UDP checksums on data messages (control messages always carry one)
        self.data_checksums = True
        self._no_check = False          # SO_NO_CHECK as currently set on the socket
        #: why the last requested port could not be bound (None when it was)
        self.bind_error: str | None = None
        #: local sources: key -> socket (see the module docstring)
        self.locals: dict[str, socket.socket] = {}
        #: local sources sent from the main socket: key -> IP_PKTINFO (source address)
        self.pktinfo: dict[str, bytes] = {}
        self._pktinfo_addr: dict[str, tuple[str, int]] = {}
        self._writer_sock: socket.socket | None = None

    # ---------------------------------------------------------------- lifecycle
    def _open(self, addr: tuple[str, int],
              factory: Callable[[], socket.socket] | None = None) -> socket.socket:
        s = factory() if factory is not None else socket.socket(socket.AF_INET,
                                                                socket.SOCK_DGRAM)
        try:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.rcvbuf)
            except OSError:
                pass
            s.setblocking(False)
            s.bind(addr)
        except BaseException:
            s.close()
            raise
        return s

    def start(self) -> L2tpUdpAdapter:
        self.loop = asyncio.get_running_loop()
        s = self._open(self.requested_addr)
        self.sock = s
        self._no_check = False
        self.loop.add_reader(s.fileno(), self._on_readable)
        # the endpoint ignores an early timer: an armed timer is kept while it fires in time
        self._timer = CoreTimer(self.loop, self.endpoint, self.flush, keep_earlier=True)
        self.flush()
        return self

    def rebind(self, addr: tuple[str, int], *, fallback: bool = False) -> None:
        """Move to another local address/port (tunnels on the old port are not carried over).

        When ``addr`` cannot be bound: with ``fallback`` keep the current socket and record the
        reason in ``bind_error``; without, raise the OSError.
        """
        loop = self._running_loop()
        try:
            s = self._open(addr)
        except OSError as e:
            self.bind_error = f"port {addr[1]}: {e.strerror or e}"
            if not fallback:
                raise
            log.warning("L2TP cannot bind %s:%d (%s); staying on port %d", addr[0], addr[1],
                        e.strerror or e, self.local_addr[1])
            return
        self.bind_error = None
        for key in list(self.locals) + list(self.pktinfo):   # reopened on the new port
            self.remove_local(key)
        old = self.sock
        if old is not None:
            loop.remove_reader(old.fileno())
            if self._writer and self._writer_sock in (None, old):
                loop.remove_writer(old.fileno())
                self._writer = False
                self._writer_sock = None
            old.close()
        self.requested_addr = addr
        self.sock = s
        self._no_check = False
        loop.add_reader(s.fileno(), self._on_readable)
        self.flush()

    def add_local(self, key: str, addr: tuple[str, int],
                  factory: Callable[[], socket.socket] | None = None) -> None:
        """Open the socket of local source ``key`` bound to ``addr`` (once; OSError when it
        cannot be bound)."""
        if key in self.locals or key in self.pktinfo:
            return
        loop = self._running_loop()
        try:
            s = self._open(addr, factory)
        except OSError as exc:
            # the main socket holds the wildcard address on that port in this namespace:
            # send from it with the source set per datagram (IP_PKTINFO) when it is local
            if (exc.errno != errno.EADDRINUSE or factory is not None or self.sock is None
                    or self.local_addr != ("0.0.0.0", addr[1]) or not _is_local(addr[0])):
                raise
            self.pktinfo[key] = struct.pack("=I4s4s", 0, socket.inet_aton(addr[0]),
                                            bytes(4))
            self._pktinfo_addr[key] = (addr[0], addr[1])
            return
        self.locals[key] = s
        loop.add_reader(s.fileno(), self._on_readable, key)

    def remove_local(self, key: str) -> None:
        self.pktinfo.pop(key, None)
        self._pktinfo_addr.pop(key, None)
        s = self.locals.pop(key, None)
        if s is not None:
            self._forget_socket(s)

    def _forget_socket(self, s: socket.socket) -> None:
        if self.loop is not None:
            self.loop.remove_reader(s.fileno())
            if self._writer and self._writer_sock is s:
                self.loop.remove_writer(s.fileno())
                self._writer = False
        s.close()

    def local_source(self, key: str) -> tuple[str, int] | None:
        if key in self._pktinfo_addr:
            return self._pktinfo_addr[key]
        s = self.locals.get(key)
        if s is None:
            return None
        host, port = s.getsockname()[:2]
        return str(host), int(port)

    def set_data_checksums(self, enabled: bool) -> None:
        """UDP checksums on data messages on or off (SO_NO_CHECK around data sends; Linux only)."""
        if not enabled and not NO_CHECK_SUPPORTED:
            raise OSError("UDP checksums cannot be switched off on this system")
        self.data_checksums = enabled

    def _checksum_for(self, sock: socket.socket, data: bytes) -> None:
        want_no_check = not self.data_checksums and not (data[0] & 0x80)
        if sock is not self.sock:           # a local source's socket: set it every time
            sock.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1 if want_no_check else 0)
            return
        if want_no_check != self._no_check:
            sock.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1 if want_no_check else 0)
            self._no_check = want_no_check

    @property
    def local_addr(self) -> tuple[str, int]:
        """The bound address (asked of the socket once: a bound socket keeps it)."""
        sock = self.sock
        assert sock is not None
        known = self._local
        if known is None or known[0] is not sock:
            host, port = sock.getsockname()[:2]
            known = self._local = (sock, (str(host), int(port)))
        return known[1]

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("L2TP adapter not started")
        return self.loop

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for key in list(self.locals):
            self.remove_local(key)
        if self.sock is not None:
            if self.loop is not None:
                self.loop.remove_reader(self.sock.fileno())
                if self._writer:
                    self.loop.remove_writer(self.sock.fileno())
            self.sock.close()
            self.sock = None

    def now(self) -> float:
        return self._running_loop().time()

    # ---------------------------------------------------------------- I/O
    def _on_readable(self, key: str | None = None) -> None:
        sock = self.sock if key is None else self.locals.get(key)
        if sock is None:
            return
        ep = self.endpoint
        now = self._running_loop().time()
        drop_in = self.drop_in
        for _ in range(READ_BATCH):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:  # e.g. ICMP port unreachable reported on the socket
                log.debug("recvfrom: %s", e)
                continue
            if drop_in is not None and drop_in(data, addr):
                continue
            if key is not None:
                addr = PeerAddr(addr[0], addr[1], key)
            ep.receive_datagram(data, addr, now=now)
        self.flush()

    def flush(self) -> None:
        """Deliver events, send pending output, re-arm the timer.

        Events go first: what their handlers send (a PPP frame, the next call's request)
        leaves in the same batch as the acknowledgement of the messages just received, which
        then rides on a control message instead of costing a ZLB of its own."""
        if self.sock is None:
            return
        ep = self.endpoint
        loop = self._running_loop()
        for _ in range(100):
            ev = ep.next_event()
            delivered = ev is not None
            while ev is not None:
                if self.on_event is not None:
                    try:
                        self.on_event(ev)
                    except Exception:
                        log.exception("on_event handler failed for %r", ev)
                ev = ep.next_event()
            out = ep.datagrams_to_send(now=loop.time())
            if out:
                self._send(out)
            elif not delivered:
                break
        if self.after_service is not None:
            self.after_service()
        if self._timer is not None:
            self._timer.arm()

    def _send(self, out: list[tuple[bytes, Any]]) -> None:
        main = self.sock
        if main is None:
            return
        drop_out = self.drop_out
        if self._backlog:
            self._backlog.extend(out)
            return
        locals_ = self.locals
        for i, (data, addr) in enumerate(out):
            if drop_out is not None and drop_out(data, addr):
                continue
            sock = main
            cmsg = None
            if type(addr) is PeerAddr:
                found = locals_.get(addr.local)
                if found is None:
                    cmsg = self.pktinfo.get(addr.local)
                    if cmsg is None:        # its source is gone: not sent from another
                        self.send_errors += 1
                        continue
                else:
                    sock = found
            try:
                if not self.data_checksums or self._no_check or sock is not main:
                    self._checksum_for(sock, data)
                if cmsg is None:
                    sock.sendto(data, addr)
                else:
                    sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, cmsg)], 0,
                                 (addr[0], addr[1]))
            except (BlockingIOError, InterruptedError):
                self._backlog.extend(out[i:])
                if not self._writer:
                    self._writer = True
                    self._writer_sock = sock
                    self._running_loop().add_writer(sock.fileno(), self._on_writable)
                return
            except OSError as e:
                self.send_errors += 1
                log.debug("sendto %s: %s", addr, e)

    def _on_writable(self) -> None:
        backlog, self._backlog = self._backlog, []
        sock = self._writer_sock or self.sock
        if sock is None or self.sock is None:
            return
        self._running_loop().remove_writer(sock.fileno())
        self._writer = False
        self._writer_sock = None
        self._send(backlog)
