"""Lab CPE: spec parsing, dialer, failure modes, ping over PPP."""
import random
import tomllib
from typing import Any

import pytest

from engine import icmp
from engine.lab.cpe import Cpe, CpeDialer, CpeSpec
from engine.ppp import AuthFailed, IpPacket, LinkDown, NetworkUp, PppConfig, PppLink
from engine.ppp.events import DownCause
from tests.present import present

from .harness import Wire, local_verifier

LAB = """
[[cpe]]
number = "5551001"
username = "cpe1"
password = "cpe1-pass"
expect-username = "lns"
expect-password = "lns-pass"
address = "10.10.1.1"

[[cpe]]
number = "5551002"
username = "cpe2"
password = "cpe2-pass"
addresses = ["10.10.2.1", "10.10.2.2"]
auth = ["pap"]
accept-auth = ["pap"]
expect-username = "lns"
expect-password = "lns-pass"
mode = "wrong-password"
"""

SPECS = [CpeSpec.from_toml(d) for d in tomllib.loads(LAB)["cpe"]]


def lns(**kw):
    cfg: dict[str, Any] = dict(auth_protocols_required=("chap", "pap"), auth_protocols_allowed=("chap", "pap"),
               username="lns", password="lns-pass", local_ip="10.0.0.1", keepalive_interval=0)
    cfg.update(kw)
    return PppLink(PppConfig(**cfg), rng=random.Random(5))


def call(spec, lns_kw=None, users=None, until=300.0):
    a = lns(**(lns_kw or {}))
    cpe = Cpe(spec, rng=random.Random(9))
    w = Wire(a, cpe, verifier_a=local_verifier(users or {spec.username: spec.password}))
    a.open(now=0.0)
    cpe.start(now=0.0)
    w.run(until, stop=lambda: a.network_up and cpe.up)
    return a, cpe, w


def test_spec_from_toml():
    s1, s2 = SPECS
    assert s1 == CpeSpec(number="5551001", username="cpe1", password="cpe1-pass",
                         expect_username="lns", expect_password="lns-pass",
                         addresses=("10.10.1.1",), auth=("chap",),
                         accept_auth=("chap", "pap"))
    assert s2.addresses == ("10.10.2.1", "10.10.2.2") and s2.auth == ("pap",)
    assert s2.mode == "wrong-password"
    assert CpeSpec.from_toml({"number": "1"}).auth == ()
    for bad in ({"number": "1", "mode": "explode"}, {"username": "x"},
                {"number": "1", "auth": ["eap"]}, {"number": "1", "colour": "red"}):
        with pytest.raises(ValueError):
            CpeSpec.from_toml(bad)


def test_dialer():
    d = CpeDialer(SPECS, random.Random(1))
    assert d.dial("999") is None
    c1, c2 = d.dial("5551001"), d.dial("5551001")
    assert isinstance(c1, Cpe) and c1 is not c2 and c1.spec is SPECS[0]


def test_cpe_call_and_ping():
    a, cpe, w = call(SPECS[0])
    assert cpe.up and a.network_up
    assert w.a.first(NetworkUp) == NetworkUp("10.0.0.1", "10.10.1.1", ())
    assert a.peer_name == "cpe1"
    assert a.send_ip(icmp.build_echo_request("10.0.0.1", "10.10.1.1", 77, 3, b"ping!"))
    assert a.send_ip(icmp.build_echo_request("10.0.0.1", "10.10.9.9", 77, 4, b"other"))
    w.settle()
    replies = [present(icmp.parse_echo(e.packet)) for e in w.a.events if isinstance(e, IpPacket)]
    assert [(r.src, r.dst, r.type, r.ident, r.seq, r.payload) for r in replies] == \
        [("10.10.1.1", "10.0.0.1", 0, 77, 3, b"ping!")]
    assert cpe.pings_answered == 1
    a.close("done", now=w.now)
    w.run(w.now + 30)
    assert cpe.down and isinstance(w.b.events[-1], LinkDown)


def test_cpe_second_address_answers_ping():
    spec = CpeSpec.from_toml({"number": "1", "username": "u", "password": "p",
                              "addresses": ["10.1.1.1", "10.1.1.2"]})
    a, cpe, w = call(spec, lns_kw=dict(auth_protocols_allowed=None))
    a.send_ip(icmp.build_echo_request("10.0.0.1", "10.1.1.2", 1, 1))
    w.settle()
    assert present(icmp.parse_echo(w.a.events[-1].packet)).src == "10.1.1.2"


def test_cpe_rejects_wrong_lns_password():
    a, cpe, w = call(SPECS[0], lns_kw=dict(password="nope"))
    assert not a.network_up and a.finished and cpe.down
    assert w.a.first(AuthFailed).direction == "local"


def test_mode_wrong_password():
    a, cpe, w = call(SPECS[1], users={"cpe2": "cpe2-pass"})
    assert a.finished and cpe.down
    assert w.a.first(AuthFailed).direction == "peer"


def test_mode_refuse_auth():
    spec = CpeSpec.from_toml({"number": "1", "username": "u", "password": "p",
                              "address": "10.1.1.1", "mode": "refuse-auth"})
    a, cpe, w = call(spec)
    assert w.a.first(AuthFailed) == AuthFailed("peer", "peer refuses to authenticate")
    assert a.finished


def test_mode_bad_address():
    spec = CpeSpec.from_toml({"number": "1", "username": "u", "password": "p",
                              "address": "10.1.1.1", "mode": "bad-address",
                              "bad-address": "10.99.9.9"})
    a, cpe, w = call(spec, lns_kw=dict(peer_ip=None))
    assert w.a.first(NetworkUp).peer_ip == "10.99.9.9"
    a.send_ip(icmp.build_echo_request("10.0.0.1", "10.99.9.9", 1, 1))
    w.settle()
    assert isinstance(w.a.events[-1], IpPacket)


def test_mode_silent():
    spec = CpeSpec.from_toml({"number": "1", "mode": "silent", "address": "10.1.1.1"})
    a, cpe, w = call(spec)
    assert cpe.get_timer() is None and not cpe.frames_to_send()
    assert a.finished and w.a.events[-1] == LinkDown("LCP negotiation failed", DownCause.NEGOTIATION)


def test_cpe_starts_on_first_frame_and_fits_lac_party():
    from engine.lab.cpe import build_dialer
    cpe = present(build_dialer(SPECS, random.Random(3)).dial("5551001"))
    assert cpe.get_timer() is None and not cpe.started and cpe.connect_speed > 0
    a = lns()
    a.open(now=0.0)
    for f in a.frames_to_send():
        cpe.receive_frame(f, now=0.0)
    assert cpe.started and cpe.frames_to_send()
    cpe.hangup(now=1.0)
    evs = []
    while (e := cpe.next_event()) is not None:
        evs.append(e)
    assert cpe.closed and evs == [LinkDown("lower layer down", DownCause.LOWER_DOWN)]
