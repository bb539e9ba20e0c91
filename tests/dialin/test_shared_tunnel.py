"""Dial-out and dial-in sessions on one tunnel, over real UDP with the lab LAC: our dial-out
tunnel to a LAC with a destination profile and a dynamic profile takes that LAC's incoming
calls; both sessions pass traffic; `show l2tp tunnel` shows one tunnel with two sessions;
clearing either session leaves the other up."""
from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from engine.aio.config import ProfileConfig
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from jcli.commands.dialout import _render_tunnels, _tunnel_rows
from tests.dialout_e2e.helpers import lac_addresses, running_lab, standard_lab, wait_for

pytestmark = pytest.mark.timeout(120)

SUBSCRIBER = "dsl1@isp.example"


def lab_text(lac: str) -> str:
    spec = standard_lab([lac])
    spec.lns_users[SUBSCRIBER] = ("dsl1-pass", {"Framed-IP-Address": "10.99.0.5"})
    return spec.text() + (f'\n[[subscriber]]\nuser = "{SUBSCRIBER}"\npassword = "dsl1-pass"\n'
                          'lac = "lac1"\nauth = "chap"\n')


async def test_dial_out_and_dial_in_share_one_tunnel(tmp_path: Path) -> None:
    lac = lac_addresses(1)[0]
    spec = standard_lab([lac])
    spec.text = lambda *a: lab_text(lac)          # type: ignore[method-assign]
    async with running_lab(tmp_path, spec) as r:
        eng = r.engine
        lns_vr = next(v for v in eng.config.vrs if v.name == "lns")
        vrs = tuple(dataclasses.replace(v, profiles=(*v.profiles, ProfileConfig("dialin", ("chap",))),
                                        loopbacks=((0, ipaddress.IPv4Interface("10.0.0.9/32")),))
                    if v is lns_vr else v for v in eng.config.vrs)
        pol = AcceptancePolicy((PeerPolicy("lab-lac", lac, "lns", (
            HostPolicy("lac1", secret=b"tunnel-secret-1", profile="dialin"),)),))
        eng.apply_config(dataclasses.replace(eng.config, vrs=vrs, l2tp_acceptance=pol))
        r.trigger("10.10.1.1")
        await r.wait_state("10.10.1.1", "inService", timeout=30)
        assert r.lab is not None
        host, port = eng.l2tp_adapter.local_addr if eng.l2tp_adapter else ("", 0)
        assert r.lab.dial_in(("127.0.0.1" if host == "0.0.0.0" else host, port)) == 1
        await wait_for(lambda: any(s.state == "up" for s in eng.snapshot().subscribers), 30,
                       lambda: str(eng.snapshot().subscribers))
        out = _render_tunnels({"tunnels": _tunnel_rows(eng.reads), "brief": True})
        assert out[-1] == "1 tunnel(s) found", out
        assert out[-2].split()[5] == "2", out
        assert len(r.lacs[0].endpoint.tunnels) == 1
        assert (await eng.ping("home", "10.10.1.1", count=2)).received == 2
        assert (await eng.ping("lns", "10.99.0.5", count=2)).received == 2
        # clear the subscriber: the dial-out session keeps the tunnel and its traffic
        sub = eng.snapshot().subscribers[0]
        assert eng.clear_calls(sub.tunnel_id, sub.session_id) == 1
        await wait_for(lambda: not eng.snapshot().subscribers, 15)
        out = _render_tunnels({"tunnels": _tunnel_rows(eng.reads), "brief": True})
        assert out[-1] == "1 tunnel(s) found" and out[-2].split()[5] == "1", out
        assert (await eng.ping("home", "10.10.1.1", count=2)).received == 2
        assert r.state("10.10.1.1") == "inService"
        # dial in again, then clear the dial-out session: the subscriber stays up
        r.lab.subscribers.clear()
        assert r.lab.dial_in(("127.0.0.1" if host == "0.0.0.0" else host, port)) == 1
        await wait_for(lambda: any(s.state == "up" for s in eng.snapshot().subscribers), 30)
        assert len(r.lacs[0].endpoint.tunnels) == 1
        eng.clear_sessions("home")
        await wait_for(lambda: r.state("10.10.1.1") != "inService", 15)
        assert (await eng.ping("lns", "10.99.0.5", count=2)).received == 2
        out = _render_tunnels({"tunnels": _tunnel_rows(eng.reads), "brief": True})
        assert out[-1] == "1 tunnel(s) found" and out[-2].split()[5] == "1", out
