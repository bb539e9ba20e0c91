"""The RADIUS configuration commands, `show radius servers` and `debug radius` lines."""

import random

from engine.aaa import codec
from engine.aaa.client import RadiusClient, RadiusServer, dialout_request, pap_request
from engine.aaa.server import COUNTERS
from engine.aaa.trace import format_packet
from jcli.bridge import _radius
from jcli.commands.radius import _render_radius
from jcli.config.render import render_config
from jcli.context import Context, ListOutput
from jcli.executor import Executor


async def _configure(lines):
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    ok = await ex.run_script(lines, "t.scr")
    return ctx, ex, ok


async def test_require_message_authenticator_and_max_sessions_reach_the_engine():
    ctx, ex, ok = await _configure([
        "radius authentication server 10.0.0.1", "key k", "max-sessions 8",
        "no require-message-authenticator", "exit",
        "radius authentication server 10.0.0.2", "key k", "exit"])
    assert ok, ex.errors
    vr = ctx.config.virtual_routers["default"]
    cfgs = _radius(vr, "authentication")
    assert [(c.max_sessions, c.require_message_authenticator) for c in cfgs] == [
        (8, False), (0, True)]
    lines = render_config(ctx.config)
    assert " no require-message-authenticator" in lines and " max-sessions 8" in lines
    assert sum("require-message-authenticator" in ln for ln in lines) == 1
    # the rendered configuration loads back to the same settings
    ctx2, ex2, ok2 = await _configure([ln for ln in lines if ln and not ln.startswith("!")])
    assert ok2, ex2.errors
    assert _radius(ctx2.config.virtual_routers["default"], "authentication") == cfgs


def _rows(client, now):
    import dataclasses
    out = []
    for s in client.snapshot(now=now):
        d = dataclasses.asdict(s)
        d["vr"] = "default"
        out.append(d)
    return out


def test_show_radius_servers_every_counter_and_dead_time():
    p = RadiusServer("127.0.0.1", 1812, b"s1", timeout=1.0, retransmit=0, deadtime_s=180.0)
    c = RadiusClient([p], rng=random.Random(1))
    c.request(dialout_request("a@d"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    c.receive_datagram(codec.build_response(2, d[1], d[4:20], b"", b"wrong"), a, now=0.1)
    c.handle_timer(now=1.0)
    lines = _render_radius(_rows(c, 6.0))
    row = next(ln for ln in lines if ln.startswith("default "))
    assert row.split()[4] == "dead(2m55s)"
    counters = {ln.rsplit(None, 1)[0].strip(): ln.rsplit(None, 1)[1] for ln in lines
                if any(ln.startswith(label) for _, label in COUNTERS)}
    assert set(counters) == {label for _, label in COUNTERS}
    assert counters["Bad authenticators"] == "1" and counters["Timeouts"] == "1"
    assert lines[-1] == "Virtual router default: 0 RADIUS datagram(s) from unknown sources"
    rows = _rows(c, 6.0)
    rows[0]["vr_unknown_sources"] = 3
    assert _render_radius(rows)[-1] == (
        "Virtual router default: 3 RADIUS datagram(s) from unknown sources")


def test_debug_radius_line_masks_passwords_and_escapes_text():
    c = RadiusClient([RadiusServer("127.0.0.1", 1812, b"top-secret")], rng=random.Random(1))
    c.request(pap_request("bob\x1b[2J", "hunter2"), now=0.0)
    [(d, a)] = c.datagrams_to_send(now=0.0)
    line = format_packet("sent", d, a)
    assert line.startswith(f"RADIUS sent Access-Request id {d[1]} to 127.0.0.1:1812")
    assert "User-Password=<hidden>" in line and "Message-Authenticator=<hidden>" in line
    assert "hunter2" not in line and "top-secret" not in line
    assert "\x1b" not in line and 'User-Name="bob\\x1b[2J"' in line
    attrs = codec.encode_attributes([("Reply-Message", "ok\r\nfake line")])
    reply = codec.build_response(3, d[1], d[4:20], attrs, b"top-secret")
    line = format_packet("received", reply, a)
    assert line.startswith(f"RADIUS received Access-Reject id {d[1]} from 127.0.0.1:1812")
    assert "\r" not in line and "\n" not in line
    assert "malformed" in format_packet("received", b"\x02\x01", a)
