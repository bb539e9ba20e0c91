"""Many sessions at once: a burst of triggers to distinct destinations, then one clear that
ends every call in a single pass (hundreds of L2TP events delivered in one adapter flush)."""
from __future__ import annotations

import ipaddress
import logging

import pytest

from .helpers import DOMAIN, LabSpec, cpe, dialout_reply, lac_addresses, running_lab, wait_for

N = 300
pytestmark = pytest.mark.timeout(90)


def dest(i: int) -> str:
    return str(ipaddress.IPv4Address("10.10.16.1") + i)


async def test_burst_then_clear_everything(tmp_path, caplog):
    lacs = lac_addresses(2)
    spec = LabSpec(
        lacs=lacs,
        home_users={f"{dest(i)}@{DOMAIN}": dialout_reply(
            [lacs[i % 2]], str(7000000 + i), secrets=[f"tunnel-secret-{i % 2 + 1}"])
                    for i in range(N)},
        lns_users={f"c{i}": (f"c{i}-pass", {"Service-Type": "Framed-User"}) for i in range(N)},
        cpes=[cpe(str(7000000 + i), f"c{i}", dest(i)) for i in range(N)])
    caplog.set_level(logging.ERROR)
    async with running_lab(tmp_path, spec) as r:
        for i in range(N):
            r.trigger(dest(i))
        await wait_for(lambda: r.chassis_counters().dialouts_established == N, 60,
                       lambda: r.snap().dialout.chassis)
        snap = r.snap()
        assert len(snap.dialout.sessions) == N
        assert {str(s.state) for s in snap.dialout.sessions} == {"inService"}
        assert len(r.access_routes()) == N                           # one /32 per CPE
        assert sorted(t.sessions for t in snap.dialout.tunnels) == [N // 2, N // 2]
        # calls with the same profile and router credentials share one link configuration,
        # and an up link keeps nothing of its authentication phase but the outcome
        links = [c.ppp for c in r.engine._calls.values()]
        assert len({id(link.config) for link in links}) == 1
        assert len({id(s.local_ip) for s in r.engine.dialout._sessions.values()}) == 1
        assert all(link.auth_peer.challenge == b"" and link.auth_local._answered == ()
                   for link in links)

        assert r.engine.clear_sessions() == N
        await wait_for(lambda: not r.engine._calls and not r.snap().l2tp.calls, 20,
                       lambda: len(r.snap().l2tp.calls))
        assert r.snap().dialout.sessions == ()
        assert r.access_routes() == []
        c = r.chassis_counters()
        assert (c.sessions_removed, c.dialouts_torn_down) == (N, N)
        await wait_for(lambda: not any(lac.parties for lac in r.lacs), 10)
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert errors == [], errors[:3]
