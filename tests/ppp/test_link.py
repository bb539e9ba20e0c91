"""Two PPP links over an in-memory wire with scripted time."""
import random

import pytest

from engine import icmp
from engine.ppp import (
    AuthenticatedByPeer,
    AuthFailed,
    AuthRequest,
    IpPacket,
    LinkDown,
    NetworkUp,
    PeerAuthenticated,
)
from engine.ppp import frames as F
from engine.ppp.events import DownCause

from .harness import link, local_verifier, pair

LNS = dict(auth_protocols_required=("chap",), auth_protocols_allowed=("chap", "pap"),
           username="lns", password="lns-pass", local_ip="10.0.0.1", peer_ip="10.0.0.2")
CPE = dict(auth_protocols_required=("chap",), auth_protocols_allowed=("chap", "pap"),
           username="cpe", password="cpe-pass", local_ip="10.0.0.2")
V_LNS = local_verifier({"cpe": "cpe-pass"})   # the LNS checks the CPE
V_CPE = local_verifier({"lns": "lns-pass"})   # the CPE checks the LNS


def run_pair(a_kw, b_kw, until=200.0, **wire_kw):
    wire_kw.setdefault("verifier_a", V_LNS)
    wire_kw.setdefault("verifier_b", V_CPE)
    a, b, w = pair(a_kw, b_kw, **wire_kw)
    a.open(now=0.0)
    b.open(now=0.0)
    w.run(until, stop=lambda: a.network_up and b.network_up)
    return a, b, w


def assert_up(a, b, w, proto_a, proto_b):
    na, nb = w.a.first(NetworkUp), w.b.first(NetworkUp)
    assert na == NetworkUp("10.0.0.1", "10.0.0.2", ())
    assert nb == NetworkUp("10.0.0.2", "10.0.0.1", ())
    assert w.a.first(PeerAuthenticated) == PeerAuthenticated("cpe", proto_a)
    assert w.b.first(PeerAuthenticated) == PeerAuthenticated("lns", proto_b)
    assert w.a.first(AuthenticatedByPeer).protocol == proto_b
    assert w.b.first(AuthenticatedByPeer).protocol == proto_a
    # network phase only after both directions succeeded
    for side in (w.a, w.b):
        t = side.types()
        assert t.index("NetworkUp") > t.index("PeerAuthenticated")
        assert t.index("NetworkUp") > t.index("AuthenticatedByPeer")
    sa = a.snapshot()
    assert (sa.phase, sa.lcp_state, sa.ipcp_state, sa.peer_name) == \
        ("network", "opened", "opened", "cpe")
    assert sa.counters.errors == 0


def test_mutual_chap():
    a, b, w = run_pair(LNS, CPE)
    assert_up(a, b, w, "chap", "chap")
    req = w.a.first(AuthRequest)
    assert req.protocol == "chap" and req.username == "cpe" and len(req.chap_response) == 16
    assert 16 <= len(req.chap_challenge) <= 32 and req.password is None


def test_mutual_pap():
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("pap",)),
                       dict(CPE, auth_protocols_required=("pap",)))
    assert_up(a, b, w, "pap", "pap")
    assert w.a.first(AuthRequest).password == "cpe-pass"


def test_mixed_pap_one_way_chap_other():
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("pap",)),
                       dict(CPE, auth_protocols_required=("chap",)))
    assert_up(a, b, w, "pap", "chap")


def test_nak_moves_authenticator_to_allowed_protocol():
    # the CPE only authenticates itself with PAP: it Naks our CHAP with PAP
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("chap", "pap")),
                       dict(CPE, auth_protocols_allowed=("pap",)))
    assert_up(a, b, w, "pap", "chap")


def test_no_common_protocol_fails():
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("chap",)),
                       dict(CPE, auth_protocols_allowed=("pap",)))
    assert not a.network_up
    assert w.a.first(AuthFailed).direction == "peer"
    assert any(isinstance(e, LinkDown) for e in w.a.events)


def test_one_way_authentication():
    a, b, w = run_pair(dict(LNS, auth_protocols_allowed=None),
                       dict(CPE, auth_protocols_required=()))
    assert a.network_up and b.network_up
    assert w.a.first(AuthenticatedByPeer) is None
    assert w.b.first(PeerAuthenticated) is None


@pytest.mark.parametrize("proto", ["chap", "pap"])
def test_cpe_rejects_us(proto):
    a, b, w = run_pair(dict(LNS, password="wrong", auth_protocols_allowed=(proto,)),
                       dict(CPE, auth_protocols_required=(proto,)))
    assert not a.network_up and not b.network_up
    fa = w.a.first(AuthFailed)
    assert fa.direction == "local"
    assert w.b.first(AuthFailed).direction == "peer"
    assert any(isinstance(e, LinkDown) for e in w.a.events)
    assert any(isinstance(e, LinkDown) for e in w.b.events)
    assert a.finished and b.finished


@pytest.mark.parametrize("proto", ["chap", "pap"])
def test_we_reject_cpe(proto):
    a, b, w = run_pair(dict(LNS, auth_protocols_required=(proto,)), dict(CPE, password="bad"))
    assert not a.network_up
    assert w.a.first(AuthFailed).direction == "peer"
    assert w.b.first(AuthFailed).direction == "local"
    assert w.a.first(LinkDown).reason.startswith("authentication failed")
    assert a.finished and b.finished


def test_cpe_refuses_to_authenticate():
    a, b, w = run_pair(LNS, dict(CPE, auth_protocols_allowed=None))
    assert w.a.first(AuthFailed) == AuthFailed("peer", "peer refuses to authenticate")
    assert a.finished


def test_verdict_is_asynchronous():
    a, b, w = run_pair(LNS, CPE, delay_verdict=2.5)
    assert_up(a, b, w, "chap", "chap")


def test_stale_verdict_ignored():
    a, b, w = run_pair(LNS, CPE)
    a.auth_result(999, False, now=w.now)
    a.auth_result(w.a.first(AuthRequest).request_id, False, now=w.now)
    assert a.network_up and not a.frames_to_send()


@pytest.mark.parametrize("seed", range(40))
def test_loss_of_frames(seed):
    rnd = random.Random(seed)
    lost = []

    def drop(direction, i, f):
        if i < 40 and rnd.random() < 0.3:
            lost.append(f)
            return True
        return False

    a, b, w = run_pair(LNS, CPE, drop=drop, until=600.0)
    assert lost
    assert_up(a, b, w, "chap", "chap")


def test_peer_silent_lcp_gives_up():
    a = link(1, **LNS, max_configure=10)
    a.open(now=0.0)
    t, sent = 0.0, 0
    while (d := a.get_timer()) is not None:
        sent += len(a.frames_to_send())
        t = d
        a.handle_timer(now=t)
    sent += len(a.frames_to_send())
    assert sent == 10 and t == 30.0           # Max-Configure 10 requests, 3 s apart
    assert a.next_event() == LinkDown("LCP negotiation failed", DownCause.NEGOTIATION)


def test_echo_failure_brings_link_down():
    state = {"cut": False}
    a, b, w = run_pair(dict(LNS, keepalive_interval=5.0, keepalive_failures=3),
                       dict(CPE, keepalive_interval=0),
                       drop=lambda d, i, f: state["cut"] and d == "ba")
    assert a.network_up
    a.frames_to_send()
    state["cut"] = True
    w.run(1000.0, stop=lambda: a.finished)
    assert w.a.events[-1] == LinkDown("keepalive timeout", DownCause.KEEPALIVE)
    assert a.snapshot().counters.echo_sent == 3


def test_echo_keepalive_answered():
    a, b, w = run_pair(dict(LNS, keepalive_interval=5.0), CPE)
    w.run(w.now + 60.0)
    s = a.snapshot().counters
    assert s.echo_sent >= 10 and s.echo_replies == s.echo_sent and a.network_up


def test_unanswered_echo_repeated_at_restart_interval_then_closed():
    state = {"cut": False}
    a, b, w = run_pair(dict(LNS, keepalive_interval=30.0, keepalive_failures=4,
                            restart_timer=2.0),
                       dict(CPE, keepalive_interval=0),
                       drop=lambda d, i, f: state["cut"] and d == "ba")
    start = w.now
    state["cut"] = True
    w.run(start + 1000.0, stop=lambda: a.finished)
    echoes = [f for f in w.a.sent if f[2:4] == b"\xc0\x21" and f[4] == F.ECHO_REQ]
    assert len(echoes) == 4
    # first echo after the keepalive period, the repeats at the restart interval, then down
    assert start + 30.0 <= w.now <= start + 30.0 + 4 * 2.0 + 4.0
    assert w.a.events[-1] == LinkDown("keepalive timeout", DownCause.KEEPALIVE)


def test_any_frame_from_peer_counts_as_keepalive_answer():
    # the peer never answers Echo-Requests (they are lost) but keeps sending IPv4: alive
    a, b, w = run_pair(dict(LNS, keepalive_interval=5.0, keepalive_failures=3),
                       dict(CPE, keepalive_interval=0),
                       drop=lambda d, i, f: d == "ab" and f[2:4] == b"\xc0\x21"
                       and f[4] == F.ECHO_REQ)
    pkt = icmp.build_echo_request("10.0.0.2", "10.0.0.1", 1, 1, b"x")
    for _ in range(60):
        w.run(w.now + 2.0)
        w.now += 2.0
        b.send_ip(pkt)
    assert a.network_up and not a.finished
    assert a.snapshot().counters.echo_sent >= 10 and a.snapshot().counters.echo_replies == 0


def test_terminate_both_sides_down():
    a, b, w = run_pair(LNS, CPE)
    a.close("admin", now=w.now)
    w.run(w.now + 30.0)
    assert w.a.events[-1] == LinkDown("admin")
    assert w.b.events[-1].reason.startswith("terminated by peer")
    assert a.finished and b.finished


def test_ipv4_both_ways_and_counters():
    a, b, w = run_pair(LNS, CPE)
    pkt = icmp.build_echo_request("10.0.0.1", "10.0.0.2", 1, 1, b"x" * 50)
    assert a.send_ip(pkt)
    w.settle()
    assert w.b.events[-1] == IpPacket(pkt)
    assert b.snapshot().counters.ip_rx_packets == 1
    assert a.snapshot().counters.ip_tx_octets == len(pkt)
    # not before IPCP is open
    c = link(3, **LNS)
    assert not c.send_ip(pkt)


def test_ipcp_assigns_address_and_dns():
    a, b, w = run_pair(dict(LNS, peer_ip="10.0.0.9", dns=("10.0.0.53", "10.0.0.54")),
                       dict(CPE, local_ip=None, request_dns=True))
    assert w.b.first(NetworkUp) == NetworkUp("10.0.0.9", "10.0.0.1", ("10.0.0.53", "10.0.0.54"))
    assert w.a.first(NetworkUp) == NetworkUp("10.0.0.1", "10.0.0.9", ())


def test_ipcp_peer_insists_on_other_address():
    # the CPE insists on its address: we Nak Max-Failure times, then reject the option
    a, b, w = run_pair(dict(LNS, peer_ip="10.0.0.9"), dict(CPE, local_ip="10.99.9.9"))
    assert w.a.first(NetworkUp) == NetworkUp("10.0.0.1", None, ())
    naks = [f for f in w.a.sent if f[2:5] == b"\x80\x21\x03"]
    assert len(naks) == 5


def test_ipcp_accepts_peer_address_without_assignment():
    a, b, w = run_pair(dict(LNS, peer_ip=None), CPE)
    assert w.a.first(NetworkUp) == NetworkUp("10.0.0.1", "10.0.0.2", ())


def test_renegotiation_from_opened():
    a, b, w = run_pair(LNS, CPE)
    # the CPE restarts LCP (Opened + RTA: tld, scr → Req-Sent): both authenticate again
    b.lcp.event("RTA", w.now)
    w.run(w.now + 100.0, stop=lambda: a.network_up and b.network_up)
    assert a.network_up and b.network_up
    assert w.a.types().count("NetworkUp") == 2


def test_unknown_protocol_is_rejected():
    a, b, w = run_pair(LNS, CPE)
    a.receive_frame(b"\xff\x03\x00\x57" + b"\x60" + b"\x00" * 39, now=w.now)
    out = a.frames_to_send()
    assert len(out) == 1 and out[0][:5] == b"\xff\x03\xc0\x21\x08"
    assert out[0][8:10] == b"\x00\x57"
    assert a.snapshot().counters.unknown_protocol == 1
    # the peer takes a Protocol-Reject of an unknown protocol calmly
    b.receive_frame(out[0], now=w.now)
    assert b.network_up


def test_compressed_frames_when_negotiated():
    a, b, w = run_pair(dict(LNS, pfc=True, acfc=True), CPE)
    pkt = icmp.build_echo_request("10.0.0.2", "10.0.0.1", 1, 1)
    a.receive_frame(b"\x21" + pkt, now=w.now)                # PFC + ACFC
    a.receive_frame(b"\x00\x21" + pkt, now=w.now)            # ACFC only
    assert [e for e in w.a.events + [a.next_event(), a.next_event()]
            if isinstance(e, IpPacket)] == [IpPacket(pkt), IpPacket(pkt)]
    # without PFC negotiated, a one-octet protocol is malformed
    b.receive_frame(b"\x21" + pkt, now=w.now)
    assert b.snapshot().counters.errors == 1
    b.receive_frame(b"\x00\x21" + pkt, now=w.now)            # address/control may be absent
    assert b.next_event() == IpPacket(pkt)


def test_magic_loopback_detected():
    a = link(1, **LNS)
    a.open(now=0.0)
    now = 0.0
    for _ in range(1000):
        for f in a.frames_to_send():
            a.receive_frame(f, now=now)
        if a.finished:
            break
        d = a.get_timer()
        if d is None:
            break
        if not a._out:
            now = d
            a.handle_timer(now=now)
    evs = []
    while (e := a.next_event()) is not None:
        evs.append(e)
    assert evs[-1] == LinkDown("loopback detected", DownCause.NEGOTIATION)


def test_peer_protocol_rejects_ipcp_closes_link():
    a, b, w = run_pair(LNS, CPE)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.PROTO_REJ, 5, b"\x80\x21\x01\x01\x00\x04"),
                    now=w.now)
    w.drop = lambda d, i, f: True          # the peer is gone quiet as well
    w.run(w.now + 60.0, stop=lambda: a.finished)
    assert a.finished and w.a.events[-1] == LinkDown("IPCP negotiation failed", DownCause.NEGOTIATION)


def test_dns_rejected_when_we_have_none():
    a, b, w = run_pair(LNS, dict(CPE, request_dns=True))
    assert w.b.first(NetworkUp) == NetworkUp("10.0.0.2", "10.0.0.1", ())
    snap = b.snapshot()
    assert snap.dns == () and snap.ipcp_state == "opened"


def test_snapshot_fields():
    a, b, w = run_pair(dict(LNS, mru=1400), CPE)
    s = a.snapshot()
    assert (s.role, s.mru, s.peer_mru, s.local_ip, s.peer_ip) == ("lns", 1400, 1500,
                                                                  "10.0.0.1", "10.0.0.2")
    assert s.auth_peer == "chap done" and s.auth_local == "chap done"
    assert s.magic == b.snapshot().peer_magic != 0
    assert s.counters.rx_frames == len(w.b.sent) and s.counters.tx_frames == len(w.a.sent)
    assert s.counters.tx_octets == sum(map(len, w.a.sent))


def _chap_frames(frames, code):
    out = []
    for f in frames:
        split = F.split_frame(f)
        assert split is not None
        proto, info = split
        if proto == F.PROTO_CHAP and info[0] == code:
            out.append(info)
    return out


def test_network_up_releases_what_only_repeats_the_auth_phase():
    """Up links keep no Challenge value, no cached answer and no answered-Challenge list;
    a re-challenge (RFC 1994 §4.1) after that still gets the right Response."""
    from engine.ppp.chap import CHALLENGE, RESPONSE, build_value, chap_md5
    a, b, w = run_pair(LNS, CPE)
    assert_up(a, b, w, "chap", "chap")
    assert a.auth_peer.challenge == b"" and a.auth_peer._answer is None
    assert a.auth_local._answered == ()
    assert a.snapshot().auth_peer == "chap done" and a.snapshot().auth_local == "chap done"
    # the CPE re-challenges us: our Response is computed afresh and correct
    value = bytes(range(16))
    for _ in range(2):                         # and the same again: the same Response
        a.receive_frame(F.build_packet(F.PROTO_CHAP, CHALLENGE, 77,
                                       build_value(value, b"cpe")), now=w.now)
        resp = _chap_frames(a.frames_to_send(), RESPONSE)
        assert len(resp) == 1
        code, ident, _length = resp[0][0], resp[0][1], resp[0][2:4]
        assert (code, ident) == (RESPONSE, 77)
        assert resp[0][5:21] == chap_md5(77, b"lns-pass", value)
    # a late copy of the CPE's Response to our Challenge is no longer answered
    before = a.auth_peer.state
    a.receive_frame(F.build_packet(F.PROTO_CHAP, RESPONSE, a.auth_peer.ident,
                                   build_value(b"x" * 16, b"cpe")), now=w.now)
    assert _chap_frames(a.frames_to_send(), 3) == [] and a.auth_peer.state == before
