"""Two PppLinks over an in-memory wire that loses, duplicates, delays and reorders frames.

Time is scripted: every frame gets a random one-way delay (sometimes a long one, so frames
overtake each other); a lost frame is never delivered, a duplicated one is delivered twice with
independent delays.  Authentication verdicts come from a local table after a random delay, like
a RADIUS round trip.  Used by the PPP trial test and by ``bench/ppp.py``.
"""
from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from engine.ppp import AuthFailed, AuthRequest, LinkDown, PppConfig, PppLink
from engine.ppp.chap import chap_md5

SECRETS = {"cpe": "cpe-pass", "lns": "lns-pass"}

LNS_CFG = dict(auth_protocols_required=("chap",), auth_protocols_allowed=("chap", "pap"),
               username="lns", password="lns-pass", local_ip="10.0.0.1", peer_ip="10.0.0.2")
CPE_CFG = dict(auth_protocols_required=("chap",), auth_protocols_allowed=("chap", "pap"),
               username="cpe", password="cpe-pass", local_ip="10.0.0.2")


def verify(ev: AuthRequest) -> bool:
    pw = SECRETS.get(ev.username)
    if pw is None:
        return False
    if ev.protocol == "pap":
        return ev.password == pw
    return (ev.chap_id is not None and ev.chap_challenge is not None
            and ev.chap_response == chap_md5(ev.chap_id, pw.encode(), ev.chap_challenge))


@dataclass
class Outcome:
    up: bool = False
    auth_failures: list[str] = field(default_factory=list)   # AuthFailed reasons, both sides
    down: list[str] = field(default_factory=list)            # LinkDown reasons
    end: float = 0.0
    frames: int = 0


def trial(seed: int, loss: float, *, dup: float = 0.0, reorder: float = 0.0,
          until: float = 600.0, a_kw: dict | None = None, b_kw: dict | None = None,
          keep_running: float = 0.0) -> Outcome:
    """One negotiation; with ``keep_running`` the wire keeps going that long after both are up
    (keepalive under loss)."""
    rnd = random.Random(seed)
    a = PppLink(PppConfig(**{**LNS_CFG, "keepalive_interval": 0, **(a_kw or {})}),
                rng=random.Random(seed * 2 + 1), role_name="lns")
    b = PppLink(PppConfig(**{**CPE_CFG, "keepalive_interval": 0, **(b_kw or {})}),
                rng=random.Random(seed * 2 + 2), role_name="cpe")
    peer = {id(a): b, id(b): a}
    heap: list[tuple[float, int, int, PppLink, bytes, int, bool]] = []
    seq = 0
    out = Outcome()
    now = 0.0
    up_at: float | None = None

    def flush(src: PppLink) -> None:
        nonlocal seq
        dst = peer[id(src)]
        for f in src.frames_to_send():
            out.frames += 1
            copies = 2 if dup and rnd.random() < dup else 1
            for _ in range(copies):
                if rnd.random() < loss:
                    continue
                d = 0.01 + rnd.random() * 0.04
                if reorder and rnd.random() < reorder:
                    d += rnd.random() * 2.0
                seq += 1
                heapq.heappush(heap, (now + d, seq, 0, dst, f, 0, False))

    def events(link: PppLink) -> None:
        nonlocal seq
        while (ev := link.next_event()) is not None:
            if isinstance(ev, AuthRequest):
                seq += 1
                heapq.heappush(heap, (now + rnd.random() * 0.2, seq, 1, link, b"",
                                      ev.request_id, verify(ev)))
            elif isinstance(ev, AuthFailed):
                out.auth_failures.append(f"{link.role_name}: {ev.direction}: {ev.reason}")
            elif isinstance(ev, LinkDown):
                out.down.append(f"{link.role_name}: {ev.reason}")

    a.open(now=now)
    b.open(now=now)
    while True:
        for link in (a, b):
            events(link)
            flush(link)
        if a.finished or b.finished:
            break
        if up_at is None and a.network_up and b.network_up:
            up_at = now
            out.up = True
            if not keep_running:
                break
        if up_at is not None and now >= up_at + keep_running:
            break
        cands = [t for t in (a.get_timer(), b.get_timer()) if t is not None]
        if heap:
            cands.append(heap[0][0])
        if not cands:
            break
        t = min(cands)
        if t > until:
            break
        now = max(now, t)
        while heap and heap[0][0] <= now:
            _, _, kind, link, f, rid, ok = heapq.heappop(heap)
            if kind == 0:
                link.receive_frame(f, now=now)
            else:
                link.auth_result(rid, ok, now=now)
        for link in (a, b):
            tm = link.get_timer()
            if tm is not None and tm <= now:
                link.handle_timer(now=now)
    out.end = now
    if out.up and not (a.network_up and b.network_up) and not out.down:
        out.down.append("network went down")
    return out
