"""The UDP adapter delivers an event batch before sending, so what the handlers send leaves
together with (and ahead of) the acknowledgement of what was received."""
from __future__ import annotations

import asyncio
import socket
from typing import Any

from engine.l2tp.udp import L2tpUdpAdapter


class ScriptedEndpoint:
    """Duck-typed endpoint: one event pending and one acknowledgement to send; a handler's
    frame is queued by ``send``."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.events: list[Any] = ["call-up"]
        self.queue: list[bytes] = [b"\xc8\x02ZLB"]        # acknowledgement of the last message

    def send(self, data: bytes) -> None:
        self.queue.append(data)

    def next_event(self) -> Any:
        return self.events.pop(0) if self.events else None

    def datagrams_to_send(self, *, now: float) -> list[tuple[bytes, Any]]:
        out, self.queue = self.queue, []
        # as the endpoint does: data messages first, then the control channel
        out.sort(key=lambda d: d[0] & 0x80)
        return [(d, self.peer) for d in out]

    def get_timer(self) -> float | None:
        return None

    def handle_timer(self, *, now: float) -> None:
        pass


async def test_a_handlers_frame_leaves_before_the_acknowledgement():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    ep = ScriptedEndpoint(rx.getsockname())
    seen: list[Any] = []

    def on_event(ev: Any) -> None:
        seen.append(ev)
        ep.send(b"\x00\x02LCP-ConfReq")

    ad = L2tpUdpAdapter(ep, ("127.0.0.1", 0), on_event=on_event)    # type: ignore[arg-type]
    try:
        ad.start()                                    # flushes once
        await asyncio.sleep(0)
        got = [rx.recv(100) for _ in range(2)]
        assert seen == ["call-up"]
        assert got == [b"\x00\x02LCP-ConfReq", b"\xc8\x02ZLB"]
    finally:
        ad.close()
        rx.close()
