"""The engine over the Linux dataplane: a route that cannot be installed (yet) never drops the
virtual router or anything else configured in it; errors reach the operator as one line."""
from __future__ import annotations

import ipaddress

from engine.aio.config import (
    EngineConfig,
    ProfileConfig,
    RadiusServerConfig,
    StaticRouteConfig,
    TargetConfig,
    VirtualRouterConfig,
)
from engine.aio.engine import Engine

from .conftest import needs_root

N = ipaddress.IPv4Network
A = ipaddress.IPv4Address
Ifc = ipaddress.IPv4Interface


def config(*, loopback: str | None, routes: tuple[StaticRouteConfig, ...]) -> EngineConfig:
    return EngineConfig(vrs=(VirtualRouterConfig(
        "home",
        loopbacks=((0, Ifc(loopback)),) if loopback else (),
        static_routes=routes,
        radius_auth=(RadiusServerConfig("127.0.0.1", 9, "k"),),
        profiles=(ProfileConfig("dialout"),),
        targets=(TargetConfig(N("10.10.0.0/16"), "example.net", "dialout"),)),))


def home_routes(eng: Engine) -> dict[str, bool]:
    return {str(r.prefix): r.active for vr, routes in eng.snapshot().routes if vr == "home"
            for r in routes if r.protocol == "static"}


@needs_root
async def test_unreachable_next_hop_keeps_the_vr_and_its_dial_out(ns_prefix):
    lines: list[str] = []
    eng = Engine(dataplane="linux", netns_prefix=ns_prefix, output=lines.append)
    await eng.start()
    try:
        later = StaticRouteConfig(N("10.90.0.0/16"), A("10.1.1.2"))
        eng.apply_config(config(loopback=None, routes=(later,)))
        assert [t.prefix for t in eng.snapshot().dialout.targets
                if t.vr == "home"] == [N("10.10.0.0/16")]
        assert home_routes(eng) == {"10.90.0.0/16": False}
        assert not lines
        # the connected network appears: the route becomes active, dial-out still there
        eng.apply_config(config(loopback="10.1.1.1/24", routes=(later,)))
        assert home_routes(eng) == {"10.90.0.0/16": True}
        assert len([t for t in eng.snapshot().dialout.targets if t.vr == "home"]) == 1
        # a route the kernel refuses: one line naming it, the rest of the VR applied
        bad = StaticRouteConfig(N("10.91.0.0/16"), A("10.1.1.255"))
        eng.apply_config(config(loopback="10.1.1.1/24", routes=(later, bad)))
        assert lines == ["% virtual-router home: route 10.91.0.0/16 via 10.1.1.255: "
                         "Invalid argument"]
        assert home_routes(eng) == {"10.90.0.0/16": True}
        assert len([t for t in eng.snapshot().dialout.targets if t.vr == "home"]) == 1
    finally:
        await eng.stop()
