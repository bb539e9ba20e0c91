"""Helpers for real-UDP tests: an engine side driven by L2tpUdpAdapter, a lossy UDP relay."""
from __future__ import annotations

import asyncio
import random
import socket

from engine.l2tp import L2tpConfig, L2tpEndpoint
from engine.l2tp.udp import L2tpUdpAdapter


class EngineSide:
    def __init__(self, *, seed: int = 1, config: L2tpConfig | None = None, host_name: str = "lns",
                 trace=None, addr=("127.0.0.1", 0)):
        self.endpoint = L2tpEndpoint(rng=random.Random(seed), host_name=host_name, config=config, trace=trace)
        self.events: list = []
        self._changed = asyncio.Event()
        self.adapter = L2tpUdpAdapter(self.endpoint, addr, on_event=self._on_event).start()

    def _on_event(self, ev):
        self.events.append(ev)
        self._changed.set()

    @property
    def now(self) -> float:
        return self.adapter.now()

    def of(self, cls):
        return [e for e in self.events if isinstance(e, cls)]

    async def wait_for(self, pred, timeout: float = 30.0):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not pred():
            left = end - loop.time()
            if left <= 0:
                raise TimeoutError("condition not met")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass
        return True

    def close(self):
        self.adapter.close()


class LossyRelay:
    """UDP relay between a client (the engine) and a server (the LAC) dropping a share of datagrams
    in each direction with a seeded rng."""

    def __init__(self, server: tuple[str, int], *, loss: float, seed: int = 1):
        self.server = server
        self.loss = loss
        self.rng = random.Random(seed)
        self.front = self._sock()
        self.back = self._sock()
        self.client = None
        self.dropped = 0
        self.forwarded = 0
        loop = asyncio.get_running_loop()
        self.loop = loop
        loop.add_reader(self.front.fileno(), self._from_client)
        loop.add_reader(self.back.fileno(), self._from_server)

    @staticmethod
    def _sock():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.bind(("127.0.0.1", 0))
        return s

    @property
    def addr(self):
        return self.front.getsockname()

    def _pump(self, src, dst_sock, dst_addr_fn):
        while True:
            try:
                data, addr = src.recvfrom(65535)
            except BlockingIOError:
                return
            if src is self.front:
                self.client = addr
            if self.rng.random() < self.loss:
                self.dropped += 1
                continue
            dst = dst_addr_fn()
            if dst is not None:
                self.forwarded += 1
                try:
                    dst_sock.sendto(data, dst)
                except OSError:
                    pass

    def _from_client(self):
        self._pump(self.front, self.back, lambda: self.server)

    def _from_server(self):
        self._pump(self.back, self.front, lambda: self.client)

    def close(self):
        for s in (self.front, self.back):
            self.loop.remove_reader(s.fileno())
            s.close()

