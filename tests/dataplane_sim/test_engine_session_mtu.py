"""The engine sets a session interface's MTU from the negotiated MRU and the profile's ip mtu."""
from __future__ import annotations

import dataclasses

import pytest

from tests.dialout_e2e.helpers import lac_addresses, running_lab, standard_lab

pytestmark = pytest.mark.timeout(60)
DST = "10.10.1.1"


def with_ip_mtu(config, mtu):
    vrs = tuple(dataclasses.replace(v, profiles=tuple(dataclasses.replace(p, ip_mtu=mtu)
                                                       for p in v.profiles))
                for v in config.vrs)
    return dataclasses.replace(config, vrs=vrs)


@pytest.mark.parametrize("ip_mtu, expected", [(None, 1500), (1400, 1400), (1600, 1500)])
async def test_session_mtu_follows_peer_mru_capped_by_ip_mtu(tmp_path, ip_mtu, expected):
    async with running_lab(tmp_path, standard_lab(lac_addresses(2))) as r:
        r.engine.apply_config(with_ip_mtu(r.engine.config, ip_mtu))
        r.trigger(DST)
        await r.wait_state(DST, "inService")
        ifname = r.session(DST).ifname
        assert ifname
        assert r.engine.dp.mtu("home", ifname) == expected
