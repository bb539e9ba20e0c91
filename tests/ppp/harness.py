"""Two sans-IO PPP endpoints joined by an in-memory wire, with scripted time and loss."""
from __future__ import annotations

import random

from engine.ppp import AuthRequest, PppConfig, PppLink
from engine.ppp.chap import chap_md5
from tests.present import present


def local_verifier(users: dict[str, str]):
    """Answer AuthRequest from a {username: password} table (like the CPE does)."""
    def check(ev: AuthRequest) -> bool:
        pw = users.get(ev.username)
        if pw is None:
            return False
        if ev.protocol == "pap":
            return ev.password == pw
        return ev.chap_response == chap_md5(present(ev.chap_id), pw.encode(), present(ev.chap_challenge))
    return check


class Side:
    def __init__(self, node, verifier=None, delay_verdict: float = 0.0):
        self.node = node
        self.verifier = verifier
        self.delay_verdict = delay_verdict
        self.events: list[object] = []
        self.pending: list[tuple[float, int, bool]] = []   # (due, request_id, ok)
        self.sent: list[bytes] = []                         # every frame this side put on the wire

    def types(self):
        return [type(e).__name__ for e in self.events]

    def first(self, cls):
        return next((e for e in self.events if isinstance(e, cls)), None)


class Wire:
    """``drop(direction, index, frame) -> bool`` decides losses; direction "ab" or "ba"."""

    def __init__(self, a, b, *, verifier_a=None, verifier_b=None, drop=None, now=0.0,
                 delay_verdict=0.0):
        self.a = Side(a, verifier_a, delay_verdict)
        self.b = Side(b, verifier_b, delay_verdict)
        self.drop = drop
        self.now = now
        self.counts = {"ab": 0, "ba": 0}
        self.on_event = None

    def _timer(self, side):
        t = side.node.get_timer()
        for due, _, _ in side.pending:
            if t is None or due < t:
                t = due
        return t

    def _pump_events(self, side):
        while (ev := side.node.next_event()) is not None:
            side.events.append(ev)
            if isinstance(ev, AuthRequest) and side.verifier is not None:
                side.pending.append((self.now + side.delay_verdict, ev.request_id,
                                     side.verifier(ev)))
            if self.on_event is not None:
                self.on_event(side, ev)
        due = [p for p in side.pending if p[0] <= self.now]
        if due:
            side.pending = [p for p in side.pending if p[0] > self.now]
            for _, rid, ok in due:
                side.node.auth_result(rid, ok, now=self.now)

    def _transfer(self, src, dst, direction):
        moved = False
        for f in src.node.frames_to_send():
            src.sent.append(f)
            i = self.counts[direction]
            self.counts[direction] += 1
            moved = True
            if self.drop is not None and self.drop(direction, i, f):
                continue
            dst.node.receive_frame(f, now=self.now)
        return moved

    def settle(self, max_rounds=100000):
        for _ in range(max_rounds):
            self._pump_events(self.a)
            self._pump_events(self.b)
            m1 = self._transfer(self.a, self.b, "ab")
            m2 = self._transfer(self.b, self.a, "ba")
            if not (m1 or m2):
                return
        raise AssertionError("wire did not settle")

    def run(self, until: float, stop=None):
        """Exchange frames, fire timers in time order, until ``until`` or ``stop()``."""
        while True:
            self.settle()
            if stop is not None and stop():
                return
            ts = [t for t in (self._timer(self.a), self._timer(self.b)) if t is not None]
            if not ts:
                return
            t = min(ts)
            if t > until:
                return
            self.now = max(self.now, t)
            for side in (self.a, self.b):
                nt = side.node.get_timer()
                if nt is not None and nt <= self.now:
                    side.node.handle_timer(now=self.now)


def link(rng_seed=1, **kw) -> PppLink:
    kw.setdefault("keepalive_interval", 0)
    return PppLink(PppConfig(**kw), rng=random.Random(rng_seed))


def pair(a_kw, b_kw, **wire_kw):
    a = link(1, **a_kw)
    b = link(2, **b_kw)
    w = Wire(a, b, **wire_kw)
    return a, b, w
