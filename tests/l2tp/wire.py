"""In-memory wire between sans-IO L2TP endpoints, with scripted time and loss."""
from __future__ import annotations

import random
from collections.abc import Callable

from engine.l2tp import CallDown, L2tpConfig, L2tpEndpoint, OutgoingCallRequested, TunnelDown

LNS_ADDR = ("127.0.0.1", 40001)
LAC_ADDR = ("127.0.0.2", 1701)


class Wire:
    """Delivers datagrams between endpoints by address. ``drop(data, src, dst)`` decides losses."""

    def __init__(self, endpoints: dict, *, drop: Callable[[bytes, tuple, tuple], bool] | None = None,
                 latency: float = 0.001, auto_answer: bool = True, connect_speed: int = 64000):
        self.endpoints = endpoints
        self.now = 0.0
        self.drop = drop
        self.latency = latency
        self.inflight: list[tuple[float, int, bytes, tuple, tuple]] = []
        self.seq = 0
        self.events: dict = {a: [] for a in endpoints}
        self.log: list[tuple[float, tuple, tuple, bytes]] = []
        self.auto_answer = auto_answer
        self.connect_speed = connect_speed

    def flush(self):
        for addr, ep in self.endpoints.items():
            for data, dst in ep.datagrams_to_send(now=self.now):
                self.log.append((self.now, addr, dst, data))
                if self.drop and self.drop(data, addr, dst):
                    continue
                self.seq += 1
                self.inflight.append((self.now + self.latency, self.seq, data, addr, dst))
            while (ev := ep.next_event()) is not None:
                self.events[addr].append(ev)
                if self.auto_answer and isinstance(ev, OutgoingCallRequested):
                    ep.answer_outgoing_call(ev.tunnel_id, ev.session_id, connect_speed=self.connect_speed,
                                            now=self.now)

    def step(self) -> bool:
        """Advance to the next delivery or timer. Returns False when nothing is left to do."""
        self.flush()
        # repeat flush until quiescent at this instant (events may have queued output)
        for _ in range(5):
            if not any(ep._dirty or ep._data_out for ep in self.endpoints.values()):
                break
            self.flush()
        nxt = None
        if self.inflight:
            nxt = min(self.inflight)[0]
        for ep in self.endpoints.values():
            tm = ep.get_timer()
            if tm is not None and (nxt is None or tm < nxt):
                nxt = tm
        if nxt is None:
            return False
        self.now = max(self.now, nxt)
        due = sorted(x for x in self.inflight if x[0] <= self.now)
        self.inflight = [x for x in self.inflight if x[0] > self.now]
        for _, _, data, src, dst in due:
            ep = self.endpoints.get(dst)
            if ep is not None:
                ep.receive_datagram(data, src, now=self.now)
        for ep in self.endpoints.values():
            tm = ep.get_timer()
            if tm is not None and tm <= self.now:
                ep.handle_timer(now=self.now)
        self.flush()
        return True

    def run_until(self, cond: Callable[[], bool], *, max_time: float = 600.0, max_steps: int = 200000) -> bool:
        for _ in range(max_steps):
            if cond():
                return True
            if self.now > max_time:
                return False
            if not self.step():
                return cond()
        return cond()

    def run_for(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            self.flush()
            timers = [t for t in (ep.get_timer() for ep in self.endpoints.values()) if t is not None]
            nxt = min([x[0] for x in self.inflight] + timers, default=None)
            if nxt is None or nxt > end:
                self.now = end
                return
            self.step()


def pair(*, lns_config: L2tpConfig | None = None, lac_config: L2tpConfig | None = None, seed: int = 1, **kw):
    lns = L2tpEndpoint(rng=random.Random(seed), host_name="lns", config=lns_config)
    lac = L2tpEndpoint(rng=random.Random(seed + 1000), host_name="lac1",
                       config=lac_config or L2tpConfig(accept_secret=b"tunnel-secret"))
    return lns, lac, Wire({LNS_ADDR: lns, LAC_ADDR: lac}, **kw)


def of_type(events, cls):
    return [e for e in events if isinstance(e, cls)]


def calls_down(events) -> list[tuple[int, int]]:
    """(tunnel id, session id) of every call that ended: by CDN (CallDown) or with its tunnel
    (the sessions a TunnelDown names)."""
    out = []
    for e in events:
        if isinstance(e, CallDown):
            out.append((e.tunnel_id, e.session_id))
        elif isinstance(e, TunnelDown):
            out.extend((e.tunnel_id, sid) for sid in e.sessions)
    return out
