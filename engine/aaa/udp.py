"""asyncio adapter for the sans-IO RadiusClient.

Non-blocking UDP sockets driven by ``loop.add_reader`` (no datagram transport).  The
adapter owns one socket per socket index of the client (index 0 opened at start, further
ones opened when the client first addresses them, i.e. when more than 255 requests are
outstanding to one server).  After any input the client's output is flushed and a
single timer is re-armed at ``client.get_timer()``.  Time is ``loop.time()``.

Events go to ``on_event(event)`` when given; ``await adapter.ask(spec)`` is a
convenience returning the RadiusReply or RadiusTimeout of one request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from engine.aaa.client import RadiusClient, RequestSpec
from engine.aaa.server import ServerStats
from engine.aaa.trace import format_packet
from engine.aaa.types import RadiusEvent
from engine.aio.driver import CoreTimer

log = logging.getLogger(__name__)


class RadiusUdpAdapter:
    def __init__(self, client: RadiusClient, local_addr: tuple[str, int] | None = None, *,
                 local_host: str = "0.0.0.0",
                 on_event: Callable[[RadiusEvent], None] | None = None,
                 loop: asyncio.AbstractEventLoop | None = None,
                 socket_factory: Callable[[], socket.socket] | None = None) -> None:
        """``local_addr`` (host, port) binds socket 0 (further sockets get a free port
        on the same host); without it every socket binds ``local_host`` port 0.
        ``socket_factory`` makes the UDP sockets (e.g. inside a virtual router's network
        namespace); by default they are made in the process's own namespace."""
        self._socket_factory = socket_factory
        self.client = client
        self.local_host = local_addr[0] if local_addr else local_host
        self._first_port = local_addr[1] if local_addr else 0
        self.on_event = on_event
        self._loop = loop or asyncio.get_running_loop()
        self._socks: list[socket.socket] = []
        # an armed timer that fires no later than needed is kept: an early wake-up is
        # harmless (handle_timer does nothing) and saves re-arming on every reply
        self._timer = CoreTimer(self._loop, client, self._service, keep_earlier=True)
        self._waiters: dict[int, asyncio.Future[RadiusEvent]] = {}
        self._closed = False
        self.send_errors = 0
        # `debug radius`: called with one line per packet sent or received when set
        self.on_trace: Callable[[str], None] | None = None
        self._open_socket()

    # -------------------------------------------------- public

    @property
    def local_addresses(self) -> list[tuple[str, int]]:
        return [s.getsockname() for s in self._socks]

    def snapshot(self) -> tuple[ServerStats, ...]:
        """Per-server statistics (client.snapshot at the loop's current time)."""
        return self.client.snapshot(now=self._loop.time())

    def submit(self, spec: RequestSpec) -> int:
        """Start a request; its event goes to on_event (or to ask()'s future)."""
        rid = self.client.request(spec, now=self._loop.time())
        self._service()
        return rid

    async def ask(self, spec: RequestSpec) -> RadiusEvent:
        """Send one request and wait for its RadiusReply / RadiusTimeout."""
        fut: asyncio.Future[RadiusEvent] = self._loop.create_future()
        rid = self.client.request(spec, now=self._loop.time())
        self._waiters[rid] = fut
        self._service()
        try:
            return await fut
        finally:
            if self._waiters.pop(rid, None) is not None and not self._closed:
                # abandoned (task cancelled): forget the request in the client too
                self.client.cancel(rid, now=self._loop.time())

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._timer.cancel()
        for s in self._socks:
            try:
                self._loop.remove_reader(s.fileno())
            except Exception:  # loop already closed
                pass
            s.close()
        self._socks.clear()
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()

    # -------------------------------------------------- internals

    def _open_socket(self) -> None:
        s = (self._socket_factory() if self._socket_factory is not None
             else socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        s.setblocking(False)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        index = len(self._socks)
        try:
            s.bind((self.local_host, self._first_port if index == 0 else 0))
        except OSError:
            s.close()
            raise
        self._socks.append(s)
        self._loop.add_reader(s.fileno(), self._on_readable, index)

    def _on_readable(self, index: int) -> None:
        if self._closed:
            return
        s = self._socks[index]
        client = self.client
        now = self._loop.time()
        for _ in range(256):
            try:
                data, addr = s.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. ICMP port unreachable reported on the socket
                log.debug("recvfrom: %s", exc)
                continue
            if self.on_trace is not None:
                self.on_trace(format_packet("received", data, (addr[0], addr[1])))
            client.receive_datagram(data, addr if index == 0 else (addr[0], addr[1], index),
                                    now=now)
        self._service()

    def _service(self) -> None:
        if self._closed:
            return
        client = self.client
        for data, addr in client.datagrams_to_send(now=self._loop.time()):
            index = addr[2] if len(addr) > 2 else 0
            while index >= len(self._socks):
                self._open_socket()
            if self.on_trace is not None:
                self.on_trace(format_packet("sent", data, (addr[0], addr[1])))
            try:
                self._socks[index].sendto(data, (addr[0], addr[1]))
            except (BlockingIOError, InterruptedError):
                self.send_errors += 1  # the retransmission timer covers it
            except OSError as exc:
                self.send_errors += 1
                log.info("sendto %s:%s failed: %s", addr[0], addr[1], exc)
        while True:
            ev = client.next_event()
            if ev is None:
                break
            fut = self._waiters.pop(ev.request_id, None)
            if fut is not None:
                if not fut.done():
                    fut.set_result(ev)
            elif self.on_event is not None:
                try:
                    self.on_event(ev)
                except Exception:
                    log.exception("RADIUS event handler failed")
        self._timer.arm()
