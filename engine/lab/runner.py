"""Start every peer a lab file describes (RADIUS servers, LACs, CPE dialer) in the running loop."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from .cpe import CpeDialer
from .labfile import LabFile
from .lac import start_lacs
from .radius_server import start_radius_servers


class CpeParty:
    """The lab LAC's view of a dialled CPE: starts its PPP on the first frame, hangs up on CDN."""

    connect_speed = 64000

    def __init__(self, cpe) -> None:
        self.cpe = cpe
        self.started = False

    def receive_frame(self, frame: bytes, *, now: float) -> None:
        if not self.started:
            self.started = True
            self.cpe.start(now=now)
        self.cpe.receive_frame(frame, now=now)

    def frames_to_send(self) -> list[bytes]:
        return self.cpe.frames_to_send()

    def get_timer(self) -> float | None:
        return self.cpe.get_timer() if self.started else None

    def handle_timer(self, *, now: float) -> None:
        self.cpe.handle_timer(now=now)

    def hangup(self, *, now: float) -> None:
        self.cpe.lower_down(now=now)

    @property
    def closed(self) -> bool:
        return self.cpe.down


class LabDialer:
    """Connects the called number to the lab CPE that owns it (None: nobody answers)."""

    def __init__(self, specs, rng) -> None:
        self.cpes = CpeDialer(specs, rng)

    def dial(self, called_number: str) -> CpeParty | None:
        cpe = self.cpes.dial(called_number)
        return None if cpe is None else CpeParty(cpe)


@dataclass(slots=True)
class RunningLab:
    lab: LabFile
    radius: list = field(default_factory=list)
    lacs: list = field(default_factory=list)
    subscribers: list = field(default_factory=list)      # lab Cpe per dialled-in subscriber

    def dial_in(self, lns: tuple[str, int] | None, *, rng: random.Random | None = None) -> int:
        """Every ``[[subscriber]]`` without a call in progress (never dialled, or its call
        ended) places an incoming call through its LAC to its ``lns`` (else to ``lns``);
        returns the number of calls placed."""
        rng = rng or random.SystemRandom()
        lacs = {lac.spec.name: lac for lac in self.lacs}
        live = {c.spec.username: i for i, c in enumerate(self.subscribers)}
        n = 0
        for spec in self.lab.subscriber:
            target = spec.lns or lns
            lac = lacs.get(spec.lac)
            if target is None or lac is None:
                continue
            for cpe in spec.cpes(rng):
                i = live.get(cpe.spec.username)
                if i is not None and not self.subscribers[i].down:
                    continue
                lac.dial_in(target, cpe, secret=lac.spec.secret, calling_number=cpe.spec.number)
                if i is None:
                    self.subscribers.append(cpe)
                else:
                    self.subscribers[i] = cpe
                n += 1
        return n

    def subscriber(self, user: str):
        """The lab CPE of subscriber ``user`` (its latest call), or None."""
        return next((c for c in self.subscribers if c.spec.username == user), None)

    async def ping(self, user: str, dst: str, *, count: int = 1, timeout: float = 2.0
                   ) -> tuple[int, int]:
        """Subscriber ``user`` pings ``dst`` through its PPP link: (sent, replies received);
        (0, 0) when it has no link up."""
        cpe = self.subscriber(user)
        lac = next((x for x in self.lacs if cpe is not None and cpe in x.parties.values()), None)
        if cpe is None or lac is None:
            return (0, 0)
        loop = asyncio.get_running_loop()
        before = cpe.ping_replies
        sent = 0
        for _ in range(max(1, min(count, 100))):
            if not cpe.ping(dst):
                break
            sent += 1
            lac.send_from(cpe)
            end = loop.time() + timeout
            while cpe.ping_replies - before < sent and loop.time() < end:
                await asyncio.sleep(0.01)
        return (sent, cpe.ping_replies - before)

    def describe(self) -> str:
        parts = [f"radius {getattr(s, 'spec', None) and s.spec.name} "
                 f"{getattr(getattr(s, 'spec', None), 'listen', '')}" for s in self.radius]
        parts += [f"lac {lac.spec.name} {lac.local_addr[0]}:{lac.local_addr[1]}" for lac in self.lacs]
        parts.append(f"cpe {len(self.lab.cpe)}")
        return ", ".join(parts)

    async def close(self) -> None:
        for peer in [*self.lacs, *self.radius]:
            r = peer.close()
            if asyncio.iscoroutine(r):
                await r
        self.lacs.clear()
        self.radius.clear()


async def start_lab(lab: LabFile, *, rng: random.Random | None = None) -> RunningLab:
    rng = rng or random.SystemRandom()
    running = RunningLab(lab)
    try:
        running.radius = list(await start_radius_servers(lab.radius, rng=rng))
        running.lacs = start_lacs(lab.lac, LabDialer(lab.cpe, rng), rng=rng)
    except BaseException:
        await running.close()
        raise
    return running
