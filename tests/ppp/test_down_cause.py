"""``LinkDown.cause``: why the link finished, as a value, for every way it can end."""
from __future__ import annotations

from engine.ppp import LinkDown
from engine.ppp.events import DownCause

from .test_link import CPE, LNS, run_pair


def last_down(side) -> LinkDown:
    downs = [e for e in side.events if isinstance(e, LinkDown)]
    assert len(downs) == 1, side.events
    return downs[0]


def test_peer_terminate_is_peer_terminated():
    a, b, w = run_pair(LNS, CPE)
    assert a.network_up
    b.close("site going down", now=w.now)
    w.run(w.now + 30.0, stop=lambda: a.finished and b.finished)
    down = last_down(w.a)
    assert down.cause is DownCause.PEER_TERMINATED
    assert down.reason == "terminated by peer: site going down"
    assert last_down(w.b).cause is DownCause.LOCAL


def test_lower_layer_down():
    a, b, w = run_pair(LNS, CPE)
    a.lower_down(now=w.now)
    w.run(w.now + 1.0)
    assert last_down(w.a) == LinkDown("lower layer down", DownCause.LOWER_DOWN)


def test_wrong_password_is_auth():
    a, b, w = run_pair(LNS, dict(CPE, password="wrong"), until=60.0)
    w.run(w.now + 60.0, stop=lambda: a.finished and b.finished)
    assert a.finished
    assert last_down(w.a).cause is DownCause.AUTH


def test_peer_demanding_a_protocol_we_will_not_use_is_auth_not_hangup():
    # the CPE demands CHAP from us; we were told to authenticate with PAP only
    # (ERX-PPP-Auth-Protocol = PAP): it gives up and hangs up during LCP
    a, b, w = run_pair(dict(LNS, auth_protocols_allowed=("pap",)),
                       dict(CPE, auth_protocols_required=("chap",)), until=120.0)
    w.run(w.now + 120.0, stop=lambda: a.finished)
    assert a.finished and not a.network_up
    down = last_down(w.a)
    assert down.cause is DownCause.AUTH, down
    assert "authentication protocol mismatch" in down.reason
    assert "CHAP" in down.reason and "PAP" in down.reason


def test_peer_refusing_our_protocol_is_auth():
    # we demand CHAP, the peer only authenticates itself with PAP and keeps Nak-ing
    a, b, w = run_pair(dict(LNS, auth_protocols_required=("chap",)),
                       dict(CPE, auth_protocols_allowed=("pap",)), until=120.0)
    w.run(w.now + 120.0, stop=lambda: a.finished)
    assert a.finished
    assert last_down(w.a).cause is DownCause.AUTH


def test_silent_peer_is_negotiation():
    a, b, w = run_pair(LNS, CPE, until=1.0, drop=lambda d, i, f: d == "ba")
    w.run(200.0, stop=lambda: a.finished)
    assert last_down(w.a) == LinkDown("LCP negotiation failed", DownCause.NEGOTIATION)
