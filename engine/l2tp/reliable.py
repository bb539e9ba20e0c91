"""Reliable delivery of control messages (RFC 2661 §5.8 and Appendix A).

One ReliableChannel per tunnel: Ns/Nr bookkeeping, the peer's receive window with slow start
and congestion avoidance, per-message retransmission with exponential back-off to a cap, a
bounded reorder buffer for messages that arrive early within our advertised window, and the
"acknowledgement pending" flag the endpoint turns into a piggy-backed Nr or a ZLB.

Loss is not taken for congestion while the peer answers: a timeout halves the window once per
loss burst and never below half the peer's advertised window (at least 4); three
acknowledgements that do not advance resend the oldest message at once; after the first
back-off the timeout doubles only while the peer is silent; a message whose retries ran out
is given up only when the peer was not heard since its last transmission (or after
``max_age``). A silent peer sees the plain RFC schedule (1, 2, 4, 8, 8 ... s).
"""
from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from .seq import seq_add, seq_diff, seq_lt


@dataclass(slots=True)
class _Pending:
    ns: int
    data: bytearray
    rto: float = 0.0
    deadline: float = 0.0
    retries: int = 0
    first_sent: float = 0.0
    last_sent: float = 0.0


# results of ReliableChannel.receive()
IN_ORDER = "in-order"
BUFFERED = "buffered"
DUPLICATE = "duplicate"
OUT_OF_WINDOW = "out-of-window"

#: acknowledgements that do not advance while later messages are in flight before the oldest
#: one is sent again without waiting for its timer (the peer is answering: it lost that one)
DUP_ACK_THRESHOLD = 3
#: a loss never shrinks the window below this (RFC 2661 §5.8: 4 is what every peer accepts)
LOSS_FLOOR = 4


class ReliableChannel:
    def __init__(self, *, our_window: int, retransmit_initial: float, retransmit_cap: float,
                 max_retries: int, peer_window: int = 4, max_age: float | None = None) -> None:
        self.ns_next = 0            # Ns of the next new message we queue
        self.nr = 0                 # next Ns expected from the peer
        self.our_window = our_window
        self.peer_window = peer_window
        self.cwnd = 1.0
        self.ssthresh = float(peer_window)
        self.rto_initial = retransmit_initial
        self.rto_cap = retransmit_cap
        self.max_retries = max_retries
        #: how long a message may stay unacknowledged while the peer is heard from
        self.max_age = self.cycle() if max_age is None else max(max_age, self.cycle())
        #: True after a timeout cut the window, until an acknowledgement arrives: one loss
        #: burst halves the slow-start threshold once, not once per expired message
        self._in_recovery = False
        self._dup_acks = 0
        self.fast_retransmits = 0
        self.unsent: deque[_Pending] = deque()
        self.inflight: deque[_Pending] = deque()
        self._due: list[_Pending] = []
        # the earliest deadline of ``inflight``; None when it must be recomputed
        self._earliest: float | None = None
        self._reorder: dict[int, Any] = {}
        self.ack_pending = False
        self.retransmits = 0
        self.failed = False

    def cycle(self) -> float:
        """Seconds from the first transmission of a message to giving it up (all retries)."""
        total, rto = 0.0, self.rto_initial
        for _ in range(self.max_retries + 1):
            total += rto
            rto = min(rto * 2, self.rto_cap)
        return total

    # ---------------------------------------------------------------- sending
    def set_peer_window(self, window: int) -> None:
        self.peer_window = max(1, window)
        self.ssthresh = float(self.peer_window)

    def enqueue(self, data: bytes) -> int:
        """Queue an encoded control message whose Ns field is already self.ns_next."""
        ns = self.ns_next
        self.unsent.append(_Pending(ns, bytearray(data)))
        self.ns_next = seq_add(ns, 1)
        return ns

    @property
    def idle(self) -> bool:
        return not self.unsent and not self.inflight

    def window(self) -> int:
        return max(1, min(int(self.cwnd), self.peer_window))

    def transmit(self, now: float) -> list[bytes]:
        """Datagrams to send now: due retransmissions, then new messages the window admits."""
        out: list[bytes] = []
        nr = struct.pack("!H", self.nr)
        for p in self._due:
            p.data[10:12] = nr
            out.append(bytes(p.data))
        self._due.clear()
        win = self.window()
        while self.unsent and len(self.inflight) < win:
            p = self.unsent.popleft()
            p.rto = self.rto_initial
            p.deadline = now + p.rto
            p.first_sent = p.last_sent = now
            p.data[10:12] = nr
            if not self.inflight:
                self._earliest = p.deadline
            elif self._earliest is not None and p.deadline < self._earliest:
                self._earliest = p.deadline
            self.inflight.append(p)
            out.append(bytes(p.data))
        if out:
            self.ack_pending = False
        return out

    def next_ns_for_zlb(self) -> int:
        return self.unsent[0].ns if self.unsent else self.ns_next

    @property
    def has_due(self) -> bool:
        return bool(self._due)

    def process_ack(self, nr: int, *, now: float | None = None) -> int:
        """The peer acknowledged everything before nr. Returns how many messages were freed.

        With ``now``, an acknowledgement that does not advance while later messages are in
        flight counts as a duplicate; the third one resends the oldest message at once.
        """
        if not self.inflight:
            return 0
        # ignore acknowledgements for messages never sent
        if seq_diff(nr, self.inflight[0].ns) > seq_diff(self.ns_next, self.inflight[0].ns):
            return 0
        if nr == self.inflight[0].ns:
            if now is not None and len(self.inflight) > 1:
                self._dup_acks += 1
                if self._dup_acks == DUP_ACK_THRESHOLD:
                    self._fast_retransmit(now)
            return 0
        self._dup_acks = 0
        freed = 0
        if seq_lt(self.inflight[0].ns, nr):
            self._in_recovery = False
        self._earliest = None
        while self.inflight and seq_lt(self.inflight[0].ns, nr):
            p = self.inflight.popleft()
            if p in self._due:
                self._due.remove(p)
            freed += 1
            if self.cwnd < self.ssthresh:
                self.cwnd += 1.0                      # slow start
            else:
                self.cwnd += 1.0 / self.cwnd          # congestion avoidance
            if self.cwnd > self.peer_window:
                self.cwnd = float(self.peer_window)
        return freed

    def _loss_floor(self) -> float:
        """The smallest window a loss leaves: half what the peer said it can take (its receive
        buffer is not congestion), at least 4 (or its whole window when smaller)."""
        return max(min(float(LOSS_FLOOR), float(self.peer_window)), self.peer_window / 2)

    def _fast_retransmit(self, now: float) -> None:
        p = self.inflight[0]
        if p not in self._due:
            self._due.append(p)
        p.deadline = now + p.rto
        p.last_sent = now
        self._earliest = None
        self.retransmits += 1
        self.fast_retransmits += 1
        if not self._in_recovery:
            self.ssthresh = max(self.cwnd / 2, self._loss_floor())
            self.cwnd = self.ssthresh
            self._in_recovery = True

    def deadline(self) -> float | None:
        if not self.inflight:
            return None
        if self._earliest is None:
            self._earliest = min(p.deadline for p in self.inflight)
        return self._earliest

    def on_timer(self, now: float, *, peer_heard_at: float | None = None) -> bool:
        """Retransmit expired messages. Returns False when a message ran out of retries.

        ``peer_heard_at`` is when the peer last sent us anything: a message whose retries ran
        out is retransmitted on (at the cap) while the peer was heard after its previous
        transmission, up to ``max_age`` after it was first sent; a silent peer fails as usual.
        """
        expired = False
        self._earliest = None
        for p in self.inflight:
            if p.deadline <= now:
                if p.retries >= self.max_retries:
                    alive = peer_heard_at is not None and peer_heard_at >= p.last_sent
                    if not alive or now - p.first_sent >= self.max_age:
                        self.failed = True
                        return False
                p.retries += 1
                # after the first back-off, back off further only from a silent peer: one
                # that answered since this message was last sent is there, the message (or
                # its acknowledgement) was lost on the way
                if p.retries == 1 or peer_heard_at is None or peer_heard_at < p.last_sent:
                    p.rto = min(p.rto * 2, self.rto_cap)
                p.deadline = now + p.rto
                p.last_sent = now
                if p not in self._due:
                    self._due.append(p)
                self.retransmits += 1
                expired = True
        if expired:
            # Appendix A: on a retransmission timeout the window shrinks. A lost datagram on a
            # lossy path is not congestion: the window is halved once per loss burst (further
            # timeouts before any acknowledgement keep it) rather than restarted from 1, so
            # one loss does not stall every call queued behind it for a full timeout each.
            if not self._in_recovery:
                self.ssthresh = max(self.cwnd / 2, self._loss_floor())
                self.cwnd = self.ssthresh
                self._in_recovery = True
        return True

    # ---------------------------------------------------------------- receiving
    def acceptable(self, ns: int) -> bool:
        """True for the expected message, a duplicate (re-acknowledged) or one within our window."""
        return ns == self.nr or seq_lt(ns, self.nr) or seq_diff(ns, self.nr) < self.our_window
    def receive(self, ns: int, item: Any) -> tuple[str, list[Any]]:
        """Sequence a received (non-ZLB) message. Returns (status, items now deliverable in order)."""
        if ns == self.nr:
            out = [item]
            self.nr = seq_add(self.nr, 1)
            while self.nr in self._reorder:
                out.append(self._reorder.pop(self.nr))
                self.nr = seq_add(self.nr, 1)
            self.ack_pending = True
            return IN_ORDER, out
        if seq_lt(ns, self.nr):
            self.ack_pending = True
            return DUPLICATE, []
        if seq_diff(ns, self.nr) < self.our_window:
            self._reorder.setdefault(ns, item)
            self.ack_pending = True
            return BUFFERED, []
        return OUT_OF_WINDOW, []
