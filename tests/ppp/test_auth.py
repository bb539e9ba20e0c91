"""PAP/CHAP machines: retransmission, timeouts, identifier matching, replayed early packets."""
from engine.ppp import AuthFailed, AuthRequest, LinkDown, NetworkUp
from engine.ppp import frames as F
from engine.ppp.chap import chap_md5
from tests.present import present

from .harness import link
from .test_link import CPE, LNS, run_pair


def parsed(frames):
    out = []
    for f in frames:
        proto, info = present(F.split_frame(f))
        out.append((proto,) + present(F.parse_packet(info)))
    return out


def lcp_open(a):
    """Drive a's LCP to Opened against a scripted peer that acks everything."""
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b""), now=0.0)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=0.0)
    assert a.lcp_policy.want_auth == (a.config.auth_protocols_required or (None,))[0]
    return parsed(a.frames_to_send())


def drain(a):
    out = []
    while (e := a.next_event()) is not None:
        out.append(e)
    return out


def test_chap_server_retransmits_challenge_then_fails():
    a = link(1, auth_protocols_required=("chap",), max_configure=4, restart_timer=2.0)
    out = lcp_open(a)
    assert [p[:2] for p in out] == [(F.PROTO_LCP, F.CONF_ACK), (F.PROTO_CHAP, 1)]
    challenges = 1
    while (t := a.get_timer()) is not None and not a.finished:
        a.handle_timer(now=t)
        challenges += sum(1 for p in parsed(a.frames_to_send()) if p[:2] == (F.PROTO_CHAP, 1))
        if t > 100:
            break
    assert challenges == 4
    evs = drain(a)
    assert AuthFailed("peer", "no CHAP Response") in evs and isinstance(evs[-1], LinkDown)


def test_chap_server_identifier_matching_and_duplicate_response():
    a = link(1, auth_protocols_required=("chap",), hostname="lns-host")
    out = lcp_open(a)
    _, _, ident, data = out[1]
    n = data[0]
    challenge, name = data[1:1 + n], data[1 + n:]
    assert name == b"lns-host" and 16 <= n <= 32
    good = bytes((16,)) + chap_md5(ident, b"pw", challenge) + b"cpe"
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, (ident + 1) & 0xFF, good), now=0.1)
    assert not [e for e in drain(a) if isinstance(e, AuthRequest)]
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, ident, good), now=0.2)
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, ident, good), now=0.3)  # while pending
    (req,) = [e for e in drain(a) if isinstance(e, AuthRequest)]
    assert (req.chap_id, req.chap_challenge, req.username) == (ident, challenge, "cpe")
    a.auth_result(req.request_id, True, "hello", now=0.5)
    out = parsed(a.frames_to_send())
    assert out[0] == (F.PROTO_CHAP, 3, ident, b"hello")
    # a repeated Response (lost Success) is answered again
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, ident, good), now=0.6)
    assert parsed(a.frames_to_send()) == [(F.PROTO_CHAP, 3, ident, b"hello")]


def test_pap_client_retransmits_and_gives_up():
    a = link(1, auth_protocols_allowed=("pap",), username="u", password="p", max_configure=3)
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b"\x03\x04\xc0\x23"), now=0.0)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=0.0)
    sent = [p for p in parsed(a.frames_to_send()) if p[0] == F.PROTO_PAP]
    assert sent[0][1] == 1 and sent[0][3] == b"\x01u\x01p"
    n = len(sent)
    while (t := a.get_timer()) is not None and not a.finished and t < 100:
        a.handle_timer(now=t)
        n += sum(1 for p in parsed(a.frames_to_send()) if p[0] == F.PROTO_PAP)
    assert n == 3
    assert AuthFailed("local", "no answer to PAP Authenticate-Request") in drain(a)


def test_pap_server_waits_for_request_then_fails():
    a = link(1, auth_protocols_required=("pap",), auth_timeout=7.0)
    lcp_open(a)
    t = a.get_timer()
    assert t == 7.0
    a.handle_timer(now=t)
    assert AuthFailed("peer", "no PAP Authenticate-Request") in drain(a)


def test_pap_nak_message():
    a = link(1, auth_protocols_required=("pap",))
    lcp_open(a)
    a.receive_frame(F.build_packet(F.PROTO_PAP, 1, 33, b"\x03cpe\x03bad"), now=1.0)
    (req,) = [e for e in drain(a) if isinstance(e, AuthRequest)]
    assert (req.protocol, req.username, req.password) == ("pap", "cpe", "bad")
    a.auth_result(req.request_id, False, "go away", now=1.5)
    out = parsed(a.frames_to_send())
    assert out[0] == (F.PROTO_PAP, 3, 33, b"\x07go away")
    assert out[1][:2] == (F.PROTO_LCP, F.TERM_REQ)


def test_challenge_before_configure_ack_is_replayed():
    # the peer opens LCP first and challenges at once; its Configure-Ack comes after
    a = link(1, auth_protocols_allowed=("chap",), username="lns", password="pw")
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b"\x03\x05\xc2\x23\x05"), now=0)
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 77, b"\x04abcdpeer"), now=0.0)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=0.0)
    out = parsed(a.frames_to_send())
    assert out[-1] == (F.PROTO_CHAP, 2, 77, b"\x10" + chap_md5(77, b"pw", b"abcd") + b"lns")


def test_network_phase_waits_for_both_directions():
    a, b, w = run_pair(LNS, CPE, delay_verdict=5.0)
    assert w.a.first(NetworkUp) and w.b.first(NetworkUp) and w.now >= 5.0
    for side in (w.a, w.b):
        t = side.types()
        assert t.index("NetworkUp") > t.index("PeerAuthenticated")
    # IPCP Configure-Requests that came during authentication were kept, not lost:
    # the whole thing needs no restart interval beyond the verdict delay
    assert w.now < 5.0 + a.config.restart_timer


def test_chap_identifier_changes_with_every_challenge():
    # RFC 1994 §4.1: a new Identifier for every Challenge, retransmissions included; only the
    # outstanding one is judged, a Response to an earlier Challenge is silently discarded
    a = link(1, auth_protocols_required=("chap",), restart_timer=2.0)
    out = lcp_open(a)
    _, _, id1, data = out[1]
    a.handle_timer(now=present(a.get_timer()))
    (ch2,) = [p for p in parsed(a.frames_to_send()) if p[:2] == (F.PROTO_CHAP, 1)]
    id2 = ch2[2]
    assert id2 != id1 and ch2[3] == data
    challenge = data[1:1 + data[0]]
    late = bytes((16,)) + chap_md5(id1, b"pw", challenge) + b"cpe"
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, id1, late), now=2.5)
    assert not [e for e in drain(a) if isinstance(e, AuthRequest)]
    good = bytes((16,)) + chap_md5(id2, b"pw", challenge) + b"cpe"
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 2, id2, good), now=2.6)
    (req,) = [e for e in drain(a) if isinstance(e, AuthRequest)]
    assert req.chap_id == id2


def test_chap_identifiers_run_on_across_renegotiation():
    a = link(1, auth_protocols_required=("chap",))
    out = lcp_open(a)
    id1 = out[1][2]
    # the peer renegotiates LCP: a new authentication phase, a new Challenge
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 2, b""), now=1.0)
    (req,) = [p for p in parsed(a.frames_to_send()) if p[:2] == (F.PROTO_LCP, F.CONF_REQ)]
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=1.0)
    (ch,) = [p for p in parsed(a.frames_to_send()) if p[:2] == (F.PROTO_CHAP, 1)]
    assert ch[2] == (id1 + 1) & 0xFF


def test_challenge_deferred_then_peer_renegotiates_is_not_replayed():
    # a Challenge that came while our LCP was still negotiating belongs to the peer's previous
    # negotiation once the peer sends a new Configure-Request: it must not be answered
    a = link(1, auth_protocols_allowed=("chap",), username="lns", password="pw")
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b"\x03\x05\xc2\x23\x05"), now=0)
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 77, b"\x04abcdpeer"), now=0.0)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 2, b"\x03\x05\xc2\x23\x05"), now=1)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=1.0)
    out = parsed(a.frames_to_send())
    assert a.lcp.state.name == "OPENED"
    assert not [p for p in out if p[0] == F.PROTO_CHAP]
    # the peer's new Challenge is answered
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 78, b"\x04wxyzpeer"), now=1.1)
    assert parsed(a.frames_to_send()) == [
        (F.PROTO_CHAP, 2, 78, b"\x10" + chap_md5(78, b"pw", b"wxyz") + b"lns")]


def test_chap_client_success_for_an_overtaken_challenge():
    # two Challenges answered (the older one arrived last): Success for either decides,
    # and while none comes every answered Response is repeated
    a = link(1, auth_protocols_allowed=("chap",), username="lns", password="pw",
             restart_timer=2.0)
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b"\x03\x05\xc2\x23\x05"), now=0)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=0.0)
    a.frames_to_send()
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 11, b"\x04abcdpeer"), now=0.1)
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 10, b"\x04wxyzpeer"), now=0.2)
    assert [p[2] for p in parsed(a.frames_to_send())] == [11, 10]
    a.handle_timer(now=present(a.get_timer()))
    assert sorted(p[2] for p in parsed(a.frames_to_send())) == [10, 11]
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 3, 11, b"ok"), now=2.5)
    assert a.phase == "network"


def test_deferred_challenge_survives_a_repeated_configure_request():
    # the peer repeats the request we already acked (our Ack was late): no renegotiation,
    # so its Challenge is still current and is answered when LCP opens
    a = link(1, auth_protocols_allowed=("chap",), username="lns", password="pw")
    a.open(now=0.0)
    (req,) = parsed(a.frames_to_send())
    peer_req = F.build_packet(F.PROTO_LCP, F.CONF_REQ, 1, b"\x03\x05\xc2\x23\x05")
    a.receive_frame(peer_req, now=0)
    a.receive_frame(F.build_packet(F.PROTO_CHAP, 1, 77, b"\x04abcdpeer"), now=0.0)
    a.receive_frame(peer_req, now=0.5)
    a.receive_frame(F.build_packet(F.PROTO_LCP, F.CONF_ACK, req[2], req[3]), now=1.0)
    out = parsed(a.frames_to_send())
    assert out[-1] == (F.PROTO_CHAP, 2, 77, b"\x10" + chap_md5(77, b"pw", b"abcd") + b"lns")
