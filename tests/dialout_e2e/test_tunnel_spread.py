"""``l2tp tunnel max-sessions``: a tunnel to a LAC that carries that many sessions is full, the
next call to the same LAC opens another tunnel; 0 keeps every call in one tunnel."""
from __future__ import annotations

from engine.dialout.service import ChassisConfig

from .helpers import lac_addresses, running_lab, standard_lab


async def _two_calls(r) -> None:
    for dst in ("10.10.1.1", "10.10.2.1"):
        r.trigger(dst)
        await r.wait_state(dst, "inService")


async def test_full_tunnel_opens_another_to_the_same_lac(tmp_path):
    lacs = lac_addresses(2)
    async with running_lab(tmp_path, standard_lab(lacs),
                           chassis=ChassisConfig(tunnel_max_sessions=1)) as r:
        await _two_calls(r)
        snap = r.snap()
        assert sorted(t.sessions for t in snap.l2tp.tunnels) == [1, 1]
        assert {s.tunnel_endpoint for s in snap.dialout.sessions} == {lacs[0]}
        assert len({s.tunnel_id for s in snap.dialout.sessions}) == 2


async def test_no_limit_shares_one_tunnel(tmp_path):
    async with running_lab(tmp_path, standard_lab(lac_addresses(2))) as r:
        await _two_calls(r)
        assert [t.sessions for t in r.snap().l2tp.tunnels] == [2]
