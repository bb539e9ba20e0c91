"""``debug l2tp dial-out``: every line about a session carries the time since its trigger."""
from __future__ import annotations

import ipaddress

from engine.aio.engine import format_dialout_trace
from engine.dialout import DialoutTrace
from engine.dialout.service import Denial
from tests.present import present

from .helpers import LAC_A, Harness, grant


def test_every_session_line_carries_the_time_since_its_trigger():
    h = Harness()
    lines: list[DialoutTrace] = []
    h.svc.trace = lines.append
    h.trigger("10.10.1.1")                       # t = 1000.000
    h.now += 0.002
    h.auth("10.10.1.1", grant(LAC_A))
    h.now += 0.0005
    h.svc.on_tunnel_result(1, True, now=h.now, tunnel_id=5)
    h.now += 0.001
    h.call_ok("10.10.1.1")
    h.now += 0.0015
    h.ppp_up("10.10.1.1")
    about = [ev for ev in lines if ev.destination == ipaddress.IPv4Address("10.10.1.1")]
    assert len(about) >= 5
    assert all(ev.elapsed is not None for ev in about), about
    assert about[0].elapsed == 0.0
    assert [round(present(ev.elapsed) * 1000, 3) for ev in about if "established" in ev.line] \
        == [3.5]
    assert round(present(about[-1].elapsed) * 1000, 3) == 5.0
    assert [ev.elapsed for ev in about] == sorted(present(ev.elapsed) for ev in about)


def test_the_deletion_line_keeps_its_session_time():
    h = Harness()
    lines: list[DialoutTrace] = []
    h.svc.trace = lines.append
    h.trigger("10.10.1.2")
    h.now += 0.25
    h.auth("10.10.1.2", Denial("no such user"))   # rejected: the session ends
    h.advance(3600)
    deleted = [ev for ev in lines if "deleted" in ev.line]
    assert deleted and all(ev.elapsed is not None and ev.elapsed >= 0.25 for ev in deleted)


def test_format_gives_milliseconds_only_for_session_lines():
    dst = ipaddress.IPv4Address("10.10.0.7")
    assert (format_dialout_trace(DialoutTrace(5.0, "home", dst, "session x", 0.0123456))
            == "L2TP dial-out [home] +12.346ms: session x")
    assert (format_dialout_trace(DialoutTrace(5.0, "home", None, "virtual router home: up"))
            == "L2TP dial-out [home]: virtual router home: up")
