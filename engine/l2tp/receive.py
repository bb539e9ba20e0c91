"""Receive path: datagram demultiplexing, tunnel-id 0 (SCCRQ), sequencing, data messages."""
from __future__ import annotations

import logging
import struct
from typing import Any

from . import avp as A
from . import call as C
from . import message as M
from . import tunnel as T
from .acceptance import HostPolicy, Refusal
from .avp import Avp, ResultCode
from .errors import ERR_NO_RESOURCES, ERR_NONE, STOPCCN_GENERAL_ERROR, L2tpProtocolError
from .events import PppFrame
from .records import Rejected, Tunnel
from .reliable import DUPLICATE, OUT_OF_WINDOW
from .tunnel_control import TunnelControl

log = logging.getLogger(__name__)

# first header octet: T (control), S (Ns/Nr), O (offset) and P (priority) send a datagram down
# the full header decoder; L (length) is handled by the data fast path
_SLOW_BITS = 0x80 | 0x08 | 0x02 | 0x01
_L_BIT = 0x40
_TID_SID = struct.Struct("!HH")


class Receiver(TunnelControl):
    """Datagrams in: find the tunnel, sequence control messages, hand them to the state machines."""

    # ================================================================ receive path
    def _receive(self, data: bytes, addr: Any, now: float) -> None:
        # fast path: a data message without Ns/Nr, offset or priority (the usual PPP frame)
        n = len(data)
        if n >= 6 and not data[0] & _SLOW_BITS and data[1] & 0x0F == M.VERSION:
            if data[0] & _L_BIT:
                end = (data[2] << 8) | data[3]
                pos = 4
            else:
                end, pos = n, 2
            if 6 <= end <= n and end - pos >= 4:
                tid, sid = _TID_SID.unpack_from(data, pos)
                self._deliver_data(tid, sid, data, pos + 4, end, addr)
                return
        h = M.decode_header(data, max_len=self.config.max_message_len)
        if not h.is_control:
            self._receive_data(data, h, addr)
            return
        if h.tunnel_id == 0:
            self._receive_tunnel_zero(data, h, addr, now)
            return
        t = self.tunnels.get(h.tunnel_id)
        if t is None or t.state == T.DEAD or (t.peer_addr[0] != addr[0]):
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError(f"no tunnel {h.tunnel_id} for {addr}")
        if addr != t.peer_addr:
            if t.originator and t.state == T.WAIT_CTL_REPLY and not t.peer_port_learned:
                t.peer_addr = addr      # §8.1: the recipient may answer from another port, once
            else:
                self._wrong_source(t, addr)
                return
        t.peer_port_learned = True
        self._receive_on_tunnel(t, data, h, now)

    def _wrong_source(self, t: Tunnel, addr: Any) -> None:
        """A datagram for a known tunnel from the peer's IP address but another port: never
        trusted (it could tear the tunnel down), counted and dropped."""
        self.counters["wrong_source"] += 1
        self._trace_text(f"l2tp rx tunnel {t.local_id} from {addr[0]}:{addr[1]}, peer is "
                         f"{t.peer_addr[0]}:{t.peer_addr[1]} (dropped)")

    def _decode(self, t: Tunnel | None, data: bytes, h: M.Header,
                secret: bytes | None) -> M.ControlMessage | Rejected:
        try:
            return M.decode_control_body(data, h, secret=secret, max_avps=self.config.max_avps)
        except L2tpProtocolError as e:
            if e.fatal and e.msg_type is not None:
                return Rejected(h, e.msg_type, e)
            raise

    def _receive_tunnel_zero(self, data: bytes, h: M.Header, addr: Any, now: float) -> None:
        msg = self._decode(None, data, h, self.config.accept_secret)
        if not isinstance(msg, Rejected) and msg.msg_type == M.STOPCCN:
            # some peers refuse an SCCRQ with a StopCCN addressed to tunnel 0: match it to our
            # single outstanding SCCRQ to that address
            waiting = [t for t in self.tunnels.values()
                       if t.originator and t.state == T.WAIT_CTL_REPLY and t.peer_addr == addr]
            if len(waiting) == 1 and msg.ns == 0:
                t = waiting[0]
                t.peer_id = msg.get(A.ASSIGNED_TUNNEL_ID)
                self._receive_on_tunnel(t, data, h, now, msg)
                return
        if isinstance(msg, Rejected):
            # §4.1: an SCCRQ with an unknown mandatory AVP is answered with StopCCN (result 2,
            # error 8) when it names the peer's tunnel; the tunnel exists only to say so
            peer_tid = next((a.value for a in msg.error.avps
                             if a.attr == A.ASSIGNED_TUNNEL_ID and a.vendor == 0), 0)
            if msg.msg_type != M.SCCRQ or not peer_tid or h.ns != 0:
                self.counters["unknown_tunnel"] += 1
                raise L2tpProtocolError("tunnel-id 0 message that is not a valid SCCRQ")
            key = (addr, peer_tid)
            known = self.tunnels.get(self._sccrq_index.get(key, 0))
            if known is not None:
                t = known
            else:
                host = next((a.value for a in msg.error.avps
                             if a.attr == A.HOST_NAME and a.vendor == 0 and isinstance(a.value, str)), "")
                made = self._admit_tunnel(addr, peer_tid, host, now)
                if made is None:
                    return
                t = made
            self._receive_on_tunnel(t, data, h, now, msg)
            return
        if msg.msg_type != M.SCCRQ:
            # a StopCCN/ZLB/other for no tunnel: nothing to answer
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError("tunnel-id 0 message that is not a valid SCCRQ")
        peer_tid = msg.get(A.ASSIGNED_TUNNEL_ID)
        if peer_tid == 0:
            raise L2tpProtocolError("SCCRQ with Assigned Tunnel ID 0")
        key = (addr, peer_tid)
        local = self._sccrq_index.get(key)
        if local is not None and local in self.tunnels:
            self._receive_on_tunnel(self.tunnels[local], data, h, now, msg)
            return
        if msg.ns != 0:
            raise L2tpProtocolError("SCCRQ with Ns != 0 for a new tunnel")
        if self.acceptance is not None:
            # refused before anything else: the tie-breaker of an SCCRQ we would refuse
            # counts for nothing
            verdict = self._verdict(addr, msg.get(A.HOST_NAME, ""))
            if isinstance(verdict, Refusal):
                self._refuse_sccrq(addr, peer_tid, verdict)
                return
        # tie-breaker (§4.4.3): an SCCRQ of ours to the same peer is outstanding
        theirs = msg.get(A.TIE_BREAKER)
        if theirs is not None:
            for o in list(self.tunnels.values()):
                if o.originator and o.state == T.WAIT_CTL_REPLY and o.peer_addr[0] == addr[0] \
                        and o.tie_breaker is not None:
                    if o.tie_breaker < theirs:
                        self._trace_text(f"tie-breaker: ours wins over SCCRQ from {addr}")
                        return
                    self._trace_text(f"tie-breaker: theirs wins, dropping tunnel {o.local_id}")
                    o.down_result = (3, ERR_NONE, "tie-breaker lost")
                    self._emit_tunnel_down(o, by_peer=True)
                    o.state = T.DEAD
                    self._forget(o)
                    if o.tie_breaker == theirs:
                        return
        admitted = self._admit_tunnel(addr, peer_tid, msg.get(A.HOST_NAME, ""), now)
        if admitted is not None:
            self._receive_on_tunnel(admitted, data, h, now, msg)

    def _admit_tunnel(self, addr: Any, peer_tid: int, host_name: str, now: float) -> Tunnel | None:
        """The recipient tunnel a new SCCRQ opens, or None when it is refused (answered by one
        StopCCN, nothing kept)."""
        policy = self.acceptance
        host: HostPolicy | None = None
        if len(self.tunnels) >= min(self.config.max_tunnels, 65535):
            self._refuse_sccrq(addr, peer_tid, Refusal("sccrq_refused_tunnel_limit", STOPCCN_GENERAL_ERROR,
                                                       ERR_NO_RESOURCES, "tunnel limit reached"))
            return None
        if policy is not None:
            verdict = self._verdict(addr, host_name)
            if isinstance(verdict, Refusal):
                self._refuse_sccrq(addr, peer_tid, verdict)
                return None
            host = verdict
        secret = host.secret if host is not None else self.config.accept_secret
        t = self._new_tunnel(addr, originator=False, secret=secret,
                             host_name=(host.local_host_name if host is not None else None) or self.host_name,
                             now=now)
        if host is not None and policy is not None:
            t.host_policy = host
            peer = policy.peer(addr[0])
            t.dest_profile = peer.name if peer is not None else ""
            if host.receive_window is not None:
                t.channel.our_window = host.receive_window
            self._half_open_add(t)
        t.peer_id = peer_tid
        t.sccrq_key = (addr, peer_tid)
        self._sccrq_index[t.sccrq_key] = t.local_id
        return t

    def _verdict(self, addr: Any, host_name: str) -> HostPolicy | Refusal:
        assert self.acceptance is not None
        return self.acceptance.admit(addr[0], host_name, half_open_total=self.half_open_total,
                                     half_open_source=self.half_open_from(addr[0]))

    def _refuse_sccrq(self, addr: Any, peer_tid: int, why: Refusal) -> None:
        """RFC 2661 §7.2.1: an unacceptable SCCRQ is answered with a StopCCN; no tunnel is made,
        so the answer is sent once (it acknowledges the SCCRQ: Ns 0, Nr 1) and never retransmitted."""
        self.counters[why.counter] += 1
        self.counters["tunnels_refused"] += 1
        rc = ResultCode(why.result, why.error, why.message)
        data = M.encode_control(M.STOPCCN, peer_tid, 0, 0, 1,
                                [Avp.make(A.ASSIGNED_TUNNEL_ID, 0), Avp.make(A.RESULT_CODE, rc)])
        self._data_out.append((data, addr))
        self._trace_text(f"l2tp rx SCCRQ from {addr[0]}:{addr[1]} refused: {why.message}")

    def _receive_on_tunnel(self, t: Tunnel, data: bytes, h: M.Header, now: float,
                           msg: M.ControlMessage | Rejected | None = None) -> None:
        if msg is None:
            msg = self._decode(t, data, h, t.secret)
        if h.ns is None or h.nr is None:
            raise L2tpProtocolError("control header without Ns/Nr")
        ch = t.channel
        is_zlb = not isinstance(msg, Rejected) and msg.is_zlb
        if not is_zlb and not ch.acceptable(h.ns):
            # neither the next message, a duplicate nor within our window: its Nr is not
            # trusted either (it could acknowledge messages the peer never received)
            self.counters["out_of_window"] += 1
            self._trace_text(f"l2tp rx out-of-window Ns={h.ns} tunnel {t.local_id} (dropped)")
            return
        t.last_rx = now
        t.heard_at = now
        self.counters["rx_control"] += 1
        before = ch.retransmits
        freed = ch.process_ack(h.nr, now=now)
        if ch.retransmits != before:
            self.counters["retransmits"] += ch.retransmits - before
        if freed or ch.unsent or ch.has_due:
            self._dirty[t.local_id] = t
        if not isinstance(msg, Rejected) and msg.is_zlb:
            self.counters["rx_zlb"] += 1
            self._trace_msg("rx", t, msg)
            return
        status, ready = ch.receive(h.ns, msg)
        self._dirty[t.local_id] = t
        if status == DUPLICATE:
            self.counters["duplicates"] += 1
            self._trace_text(f"l2tp rx duplicate Ns={h.ns} tunnel {t.local_id} (re-acknowledged)")
            return
        if status == OUT_OF_WINDOW:
            self.counters["out_of_window"] += 1
            self._trace_text(f"l2tp rx out-of-window Ns={h.ns} tunnel {t.local_id} (dropped)")
            return
        for m in ready:
            if t.state == T.DEAD:
                break
            self._dispatch(t, m)

    def _receive_data(self, data: bytes, h: M.Header, addr: Any) -> None:
        self._deliver_data(h.tunnel_id, h.session_id, data, h.payload_offset, h.end, addr)

    def _deliver_data(self, tunnel_id: int, session_id: int, data: bytes, start: int, end: int,
                      addr: Any) -> None:
        t = self.tunnels.get(tunnel_id)
        if t is None or t.state != T.ESTABLISHED:
            self.counters["unknown_tunnel"] += 1
            raise L2tpProtocolError(f"data for unknown tunnel {tunnel_id}")
        if addr != t.peer_addr:
            self._wrong_source(t, addr)
            return
        c = t.calls.get(session_id)
        if c is None or c.state == C.DEAD or not c.peer_id:
            self.counters["unknown_session"] += 1
            raise L2tpProtocolError(f"data for unknown session {session_id}")
        c.rx_packets += 1
        self.counters["rx_data"] += 1
        self._events.append(PppFrame(t.local_id, c.local_id, bytes(data[start:end])))

