"""Interop helper, run inside the LAC network namespace: one incoming call to an LNS.

usage: python -m tests.ppp.l2tpns_client LOCAL_IP LNS_IP USERNAME PASSWORD PROTO [ECHO_WAIT]

Opens an L2TP tunnel to LNS_IP:1701 (engine.l2tp, LAC role), places an incoming call (ICRQ),
runs engine.ppp over it (authenticating itself with PROTO = pap|chap, taking its address from
the LNS), waits for up to ECHO_WAIT seconds for LCP echo both ways, terminates PPP, clears the call and
the tunnel, and prints one JSON line with what happened.
"""
from __future__ import annotations

import json
import random
import select
import socket
import sys
import time

from engine.l2tp.connection import L2tpEndpoint
from engine.l2tp.events import CallDown, CallUp, PppFrame, TunnelDown, TunnelUp
from engine.ppp import AuthFailed, LinkDown, NetworkUp, PppConfig, PppLink


def main() -> None:
    local_ip, lns_ip, user, password, proto = sys.argv[1:6]
    echo_wait = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    rng = random.SystemRandom()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((local_ip, 0))
    ep = L2tpEndpoint(rng=rng, host_name="jcli-lac")
    peer = (lns_ip, 1701)
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    events: list[tuple[str, float]] = []
    result: dict[str, object] = {"events": events}
    tid = ep.open_tunnel(peer, secret=None, now=now())
    sid: int | None = None
    link: PppLink | None = None
    phase = "tunnel"
    close_at = None
    deadline = now() + 60.0

    def flush():
        for data, addr in ep.datagrams_to_send(now=now()):
            sock.sendto(data, addr)

    while now() < deadline:
        flush()
        timers = [t for t in (ep.get_timer(), link.get_timer() if link else None, close_at)
                  if t is not None]
        wait = max(0.0, min(timers) - now()) if timers else 0.5
        r, _, _ = select.select([sock], [], [], min(wait, 0.5))
        if r:
            data, addr = sock.recvfrom(65535)
            ep.receive_datagram(data, addr, now=now())
        t = now()
        due = ep.get_timer()
        if due is not None and t >= due:
            ep.handle_timer(now=t)
        link_due = link.get_timer() if link is not None else None
        if link is not None and link_due is not None and t >= link_due:
            link.handle_timer(now=t)
        while (ev := ep.next_event()) is not None:
            if isinstance(ev, TunnelUp):
                events.append(("TunnelUp", round(now(), 2)))
                sid = ep.place_incoming_call(tid, calling_number="5551234",
                                             called_number="5550000", now=now())
            elif isinstance(ev, CallUp):
                events.append(("CallUp", round(now(), 2)))
                link = PppLink(PppConfig(auth_protocols_allowed=(proto,), username=user,
                                         password=password, keepalive_interval=2.0,
                                         request_dns=True), rng=rng, role_name="lac-cpe")
                link.open(now=now())
            elif isinstance(ev, PppFrame) and link is not None:
                link.receive_frame(ev.frame, now=now())
            elif isinstance(ev, CallDown):
                events.append(("CallDown", round(now(), 2)))
                result["call_down"] = [ev.result_code, ev.error_code, ev.message, ev.by_peer]
                if link is not None:
                    link.lower_down(now=now())
                phase = "call-down"
            elif isinstance(ev, TunnelDown):
                events.append(("TunnelDown", round(now(), 2)))
                phase = "done"
        if link is not None:
            while (pev := link.next_event()) is not None:
                name = type(pev).__name__
                events.append((name, round(now(), 2)))
                if isinstance(pev, NetworkUp):
                    result["local_ip"] = pev.local_ip
                    result["peer_ip"] = pev.peer_ip
                    result["dns"] = list(pev.dns)
                    close_at = now() + echo_wait
                elif isinstance(pev, LinkDown):
                    result["link_down"] = pev.reason
                    if phase == "tunnel" and sid is not None:
                        ep.disconnect_call(tid, sid, now=now())
                        phase = "clearing"
                elif isinstance(pev, AuthFailed):
                    result["auth_failed"] = [pev.direction, pev.reason]
            for f in link.frames_to_send():
                if sid is not None:
                    ep.send_ppp(tid, sid, f)
            if close_at is not None and link.echo_answered >= 1 and link.echo_replies >= 1:
                close_at = min(close_at, now() + 0.5)
            if close_at is not None and now() >= close_at:
                close_at = None
                link.close("test done", now=now())
        if phase in ("clearing", "call-down"):
            ep.close_tunnel(tid, now=now())
            phase = "closing"
        if phase == "done":
            break
    flush()
    if link is not None:
        snap = link.snapshot()
        result["echo_answered"] = snap.counters.echo_answered
        result["echo_replies"] = snap.counters.echo_replies
        result["lcp_state"] = snap.lcp_state
        result["errors"] = snap.counters.errors
    result["elapsed"] = round(now(), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
