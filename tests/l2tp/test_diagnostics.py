"""What a call's end is reported as: the StopCCN of a refused or cleared tunnel (with its result
code), an operator's clear, a CDN; long error messages cut at a word and marked as cut."""
from engine.l2tp import CallDown, L2tpConfig, TunnelDown, describe_call_down, describe_tunnel_down
from engine.l2tp import avp as A
from engine.l2tp import message as M
from engine.l2tp.errors import STOPCCN_NOT_AUTHORIZED
from engine.l2tp.records import fit_message

from .test_endpoints import SECRET, established, sent
from .wire import LAC_ADDR, LNS_ADDR, of_type, pair


def test_refused_tunnel_reported_as_stopccn_with_its_result_code():
    lns, lac, w = pair(lac_config=L2tpConfig(accept_secret=SECRET, accept_tunnels=False))
    tid = lns.open_tunnel(LAC_ADDR, secret=SECRET, now=w.now)
    lns.place_outgoing_call(tid, called_number="1", now=w.now)
    w.run_until(lambda: of_type(w.events[LNS_ADDR], TunnelDown), max_time=10)
    down = of_type(w.events[LNS_ADDR], TunnelDown)[0]
    assert not of_type(w.events[LNS_ADDR], CallDown)       # the call ended with the tunnel
    assert down.via == "refused" and len(down.sessions) == 1
    assert down.by_peer and down.result_code == STOPCCN_NOT_AUTHORIZED
    text = describe_tunnel_down(down)
    assert text.startswith("tunnel refused by peer: StopCCN result 4 (requester not authorized)")
    assert "CDN" not in text
    assert lns.counters["tunnels_refused_by_peer"] == 1 and lac.counters["tunnels_refused"] == 1


def test_operator_clear_reported_as_such():
    lns, lac, w = pair()
    tid, _ = established(w, lns, n_calls=1)
    lns.close_tunnel(tid, message="cleared by operator", now=w.now)
    w.run_for(1.0)
    down = of_type(w.events[LNS_ADDR], TunnelDown)[0]
    assert describe_tunnel_down(down) == "cleared by operator" and down.via == "closed"
    # the peer sees the StopCCN and reports it as the peer's
    peer = of_type(w.events[LAC_ADDR], TunnelDown)[0]
    assert len(peer.sessions) == 1
    assert describe_tunnel_down(peer) == ("tunnel closed by peer: StopCCN result 1 (general request "
                                          "to clear control connection): cleared by operator")


def test_cdn_still_reported_as_cdn():
    lns, lac, w = pair()
    tid, sids = established(w, lns, n_calls=1)
    lt = next(iter(lac.tunnels.values()))
    lac.disconnect_call(lt.local_id, next(iter(lt.calls)), result=2, error=0, message="line dropped",
                        now=w.now)
    w.run_for(1.0)
    down = of_type(w.events[LNS_ADDR], CallDown)[0]
    assert describe_call_down(down) == "CDN result 2 error 0: line dropped"


def test_long_cdn_message_cut_at_a_word_and_marked():
    lns, lac, w = pair()
    tid, sids = established(w, lns, n_calls=1)
    long = "authentication failed: the peer rejected our credentials after three attempts again"
    lns.disconnect_call(tid, sids[0], message=long, now=w.now)
    w.run_for(0.5)
    cdn = sent(w, LNS_ADDR, M.CDN)[0]
    msg = cdn.get(A.RESULT_CODE).message
    assert len(msg.encode()) <= 64 and msg.endswith("...")
    assert long.startswith(msg[:-3]) and long[len(msg) - 3] == " "


def test_fit_message():
    assert fit_message("short", 64) == "short"
    assert fit_message("a" * 70, 64) == "a" * 61 + "..."      # one long word: cut inside it
    assert fit_message("word " * 20, 20) == "word word word..."
    assert len(fit_message("é" * 40, 64).encode()) <= 64
