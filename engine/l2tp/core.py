"""Endpoint state shared by every part: tunnel and call tables, identifiers, sending, tracing."""
from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from engine.compact import compact

from . import message as M
from . import tunnel as T
from .acceptance import REFUSAL_COUNTERS, AcceptancePolicy
from .avp import Avp
from .config import L2tpConfig
from .events import Event
from .records import Call, Tunnel
from .reliable import ReliableChannel

log = logging.getLogger(__name__)

#: endpoint counters, in the order they are shown
COUNTER_NAMES = (
    "rx_datagrams", "malformed", "unknown_tunnel", "unknown_session", "rx_control", "tx_control",
    "rx_zlb", "tx_zlb", "duplicates", "out_of_window", "retransmits", "rx_data", "tx_data",
    "tunnels_refused", "tunnels_timed_out", "calls_refused", "unknown_avp_ignored", "wrong_source",
    "tunnels_refused_by_peer", *REFUSAL_COUNTERS, "calls_refused_no_profile")


class EndpointCore:
    """All tunnels and calls of one local UDP socket (sans-IO)."""

    def __init__(self, *, rng: random.Random, host_name: str = "jcli",
                 config: L2tpConfig | None = None,
                 trace: Callable[[str], None] | None = None) -> None:
        self.rng = rng
        self.host_name = host_name
        self.config = config or L2tpConfig()
        self.trace = trace
        self.tunnels: dict[int, Tunnel] = {}
        self._sccrq_index: dict[tuple[Any, int], int] = {}
        self._events: deque[Event] = deque()
        self._data_out: list[tuple[bytes, Any]] = []
        self._dirty: dict[int, Tunnel] = {}
        self._now = 0.0
        self._serial = rng.randrange(1 << 16)
        self.counters: dict[str, int] = {k: 0 for k in COUNTER_NAMES}
        #: who may open tunnels to us; None: the configuration's ``accept_*`` settings decide
        #: (the LAC role), an AcceptancePolicy: destination profiles (the LNS role)
        self.acceptance: AcceptancePolicy | None = None
        self.half_open_total = 0
        self._half_open_by_source: dict[Any, int] = {}

    # ---------------------------------------------------------------- helpers
    def _send(self, t: Tunnel, msg_type: int, avps: list[Avp], session_id: int = 0) -> None:
        ch = t.channel
        rv = None
        if any(a.hidden for a in avps):
            rv = self.rng.randbytes(16)
        data = M.encode_control(msg_type, t.peer_id, session_id, ch.ns_next, ch.nr, avps,
                                secret=t.secret, random_vector=rv)
        if self.trace:
            name = M.MESSAGE_NAMES.get(msg_type, str(msg_type))
            self._trace_line("tx", t, session_id, ch.ns_next, ch.nr, name,
                             " ".join(a.describe() for a in avps))
        ch.enqueue(data)
        self.counters["tx_control"] += 1
        self._dirty[t.local_id] = t

    def _trace_msg(self, direction: str, t: Tunnel, m: M.ControlMessage) -> None:
        if self.trace:
            self._trace_line(direction, t, m.session_id, m.ns, m.nr, m.name, m.describe())

    def _trace_line(self, direction: str, t: Tunnel, sid: int, ns: int, nr: int, name: str, avps: str) -> None:
        if self.trace:
            self.trace(f"l2tp {direction} {t.peer_addr[0]}:{t.peer_addr[1]} tunnel {t.local_id}/{t.peer_id} "
                       f"session {sid} Ns={ns} Nr={nr} {name}{' ' + avps if avps else ''}")

    def _trace_text(self, text: str) -> None:
        log.debug("%s", text)
        if self.trace:
            self.trace(text)

    def _next_serial(self) -> int:
        self._serial = (self._serial + 1) & 0xFFFFFFFF
        return self._serial

    def _alloc_id(self, used: Collection[int]) -> int:
        for _ in range(64):
            i = self.rng.randint(1, 65535)
            if i not in used:
                return i
        for i in range(1, 65536):
            if i not in used:
                return i
        raise RuntimeError("no free id")

    def _new_tunnel(self, addr: Any, *, originator: bool, secret: bytes | None, host_name: str,
                    now: float) -> Tunnel:
        cfg = self.config
        if len(self.tunnels) >= min(cfg.max_tunnels, 65535):
            raise RuntimeError("tunnel limit reached")
        tid = self._alloc_id(self.tunnels)
        ch = ReliableChannel(our_window=cfg.receive_window, retransmit_initial=cfg.retransmit_initial,
                             retransmit_cap=cfg.retransmit_cap, max_retries=cfg.max_retries,
                             max_age=cfg.alive_peer_cycles * cfg.retransmit_cycle())
        t = Tunnel(tid, addr, originator, host_name, secret, ch, now)
        t.last_rx = now
        self.tunnels[tid] = t
        return t

    def _new_call(self, t: Tunnel, kind: str, now: float) -> Call:
        if t.state in (T.CLOSING, T.DEAD):
            raise ValueError(f"tunnel {t.local_id} is {t.state}")
        sid = self._alloc_id(t.calls)
        c = Call(sid, t, kind, now)
        c.data_seq = self.config.data_sequencing
        t.calls[sid] = c
        t.idle_since = None
        return c

    def _destroy_call(self, c: Call) -> None:
        t = c.tunnel
        if t.calls.get(c.local_id) is c:
            del t.calls[c.local_id]
            compact(t.calls)
            if not t.calls:
                t.idle_since = self._now
        if c.peer_id and t.peer_calls.get(c.peer_id) is c:
            del t.peer_calls[c.peer_id]
            compact(t.peer_calls)

    def _half_open_add(self, t: Tunnel) -> None:
        t.half_open = True
        self.half_open_total += 1
        src = t.peer_addr[0]
        self._half_open_by_source[src] = self._half_open_by_source.get(src, 0) + 1

    def _half_open_done(self, t: Tunnel) -> None:
        if not t.half_open:
            return
        t.half_open = False
        self.half_open_total -= 1
        src = t.peer_addr[0]
        n = self._half_open_by_source.get(src, 0) - 1
        if n > 0:
            self._half_open_by_source[src] = n
        else:
            self._half_open_by_source.pop(src, None)

    def half_open_from(self, source: Any) -> int:
        return self._half_open_by_source.get(source, 0)

    def _forget(self, t: Tunnel) -> None:
        self._half_open_done(t)
        if self.tunnels.get(t.local_id) is t:
            del self.tunnels[t.local_id]
        if t.sccrq_key is not None and self._sccrq_index.get(t.sccrq_key) == t.local_id:
            del self._sccrq_index[t.sccrq_key]
        if self._dirty.get(t.local_id) is t:
            del self._dirty[t.local_id]

    def _tunnel(self, tunnel_id: int) -> Tunnel:
        t = self.tunnels.get(tunnel_id)
        if t is None or t.state in (T.CLOSING, T.DEAD):
            raise KeyError(f"no usable tunnel {tunnel_id}")
        return t

    def _call(self, tunnel_id: int, session_id: int) -> Call | None:
        t = self.tunnels.get(tunnel_id)
        return t.calls.get(session_id) if t else None

    def _hello_deadline(self, t: Tunnel) -> float | None:
        if t.state != T.ESTABLISHED or not self.config.hello_interval or not t.channel.idle:
            return None
        return t.last_rx + self.config.hello_interval

    def _idle_deadline(self, t: Tunnel) -> float | None:
        timeout = 0.0 if t.close_when_empty else self.config.tunnel_idle_timeout
        if timeout is None or t.state != T.ESTABLISHED or t.calls or t.idle_since is None:
            return None
        return t.idle_since + timeout

    def _tunnel_deadline(self, t: Tunnel) -> float | None:
        best = t.channel.deadline()
        for d in (self._hello_deadline(t), t.hold_until, self._idle_deadline(t)):
            if d is not None and (best is None or d < best):
                best = d
        return best

