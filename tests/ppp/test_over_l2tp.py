"""PPP over engine.l2tp, all sans-IO in memory: LNS places an outgoing call, the LAC side
answers it with a lab CPE; mutual CHAP, IPCP, a ping, and teardown."""
import random

from engine import icmp
from engine.icmp import IcmpEcho
from engine.l2tp import connection as l2tp
from engine.l2tp.events import CallUp, OutgoingCallRequested, PppFrame
from engine.lab.cpe import Cpe, CpeDialer, CpeSpec
from engine.ppp import AuthRequest, IpPacket, LinkDown, NetworkUp, PppConfig, PppLink
from engine.ppp.chap import chap_md5  # noqa: E402
from tests.present import present

LNS_ADDR, LAC_ADDR = ("127.0.0.1", 1701), ("127.0.0.2", 1701)


def test_outgoing_call_ppp_to_cpe():
    lns_ep = l2tp.L2tpEndpoint(rng=random.Random(1), host_name="lns")
    lac_ep = l2tp.L2tpEndpoint(rng=random.Random(2), host_name="lac1",
                               config=l2tp.L2tpConfig(accept_secret=b"s3"))
    dialer = CpeDialer([CpeSpec.from_toml({
        "number": "5551001", "username": "cpe1", "password": "cpe1-pass",
        "expect-username": "lns", "expect-password": "lns-pass", "address": "10.10.1.1"})],
        random.Random(3))
    ppp = PppLink(PppConfig(auth_protocols_required=("chap",), auth_protocols_allowed=("chap",),
                            username="lns", password="lns-pass", local_ip="10.0.0.1",
                            keepalive_interval=5.0), rng=random.Random(4))
    now = 0.0
    tid = lns_ep.open_tunnel(LAC_ADDR, secret=b"s3", now=now)
    sid = lns_ep.place_outgoing_call(tid, called_number="5551001", now=now)
    cpe: Cpe | None = None
    lac_call: tuple[int, int] | None = None
    events: list[object] = []
    replies: list[IcmpEcho] = []
    for _ in range(2000):
        moved = False
        for d, _addr in lns_ep.datagrams_to_send(now=now):
            lac_ep.receive_datagram(d, LNS_ADDR, now=now)
            moved = True
        for d, _addr in lac_ep.datagrams_to_send(now=now):
            lns_ep.receive_datagram(d, LAC_ADDR, now=now)
            moved = True
        while (lac_ev := lac_ep.next_event()) is not None:
            if isinstance(lac_ev, OutgoingCallRequested):
                cpe = dialer.dial(lac_ev.called_number)
                lac_call = (lac_ev.tunnel_id, lac_ev.session_id)
                lac_ep.answer_outgoing_call(*lac_call, connect_speed=64000, now=now)
            elif isinstance(lac_ev, PppFrame) and cpe is not None:
                cpe.receive_frame(lac_ev.frame, now=now)
        while (lns_ev := lns_ep.next_event()) is not None:
            if isinstance(lns_ev, CallUp):
                ppp.open(now=now)
            elif isinstance(lns_ev, PppFrame):
                ppp.receive_frame(lns_ev.frame, now=now)
        while (ev := ppp.next_event()) is not None:
            events.append(ev)
            if isinstance(ev, AuthRequest):
                ppp.auth_result(ev.request_id, ev.chap_response == chap_md5(
                    present(ev.chap_id), b"cpe1-pass", present(ev.chap_challenge)), now=now)
            elif isinstance(ev, NetworkUp):
                ppp.send_ip(icmp.build_echo_request("10.0.0.1", present(ev.peer_ip), 9, 1, b"hi"))
            elif isinstance(ev, IpPacket):
                replies.append(present(icmp.parse_echo(ev.packet)))
                ppp.close("done", now=now)
        for f in ppp.frames_to_send():
            lns_ep.send_ppp(tid, sid, f)
            moved = True
        if cpe is not None and lac_call is not None:
            for f in cpe.frames_to_send():
                lac_ep.send_ppp(*lac_call, f)
                moved = True
        if ppp.finished and cpe is not None and cpe.down:
            break
        if not moved:
            timers = [t for t in (lns_ep.get_timer(), lac_ep.get_timer(), ppp.get_timer(),
                                  cpe.get_timer() if cpe else None) if t is not None]
            if not timers:
                break
            now = max(now, min(timers))
            for node in (lns_ep, lac_ep, ppp, cpe):
                due = node.get_timer() if node is not None else None
                if node is not None and due is not None and due <= now:
                    node.handle_timer(now=now)
    names = [type(e).__name__ for e in events]
    assert "NetworkUp" in names and "PeerAuthenticated" in names
    assert "AuthenticatedByPeer" in names
    assert [(r.src, r.type, r.payload) for r in replies] == [("10.10.1.1", 0, b"hi")]
    assert events[-1] == LinkDown("done") and present(cpe).down
