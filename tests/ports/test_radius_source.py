"""NAS-IP-Address: ``radius update-source-addr`` when configured, else the address the VR's
requests leave from toward its server (the kernel's choice), never a fixed 127.0.0.1."""
from __future__ import annotations

import asyncio
import ipaddress
import random

from engine.aio.aaa_glue import RadiusClients
from engine.aio.config import RadiusServerConfig, VirtualRouterConfig
from tests.present import present


def _clients() -> RadiusClients:
    return RadiusClients(rng=random.Random(1), nas_ip="192.0.2.254", now=lambda: 0.0,
                         after_event=lambda: None)


async def test_nas_ip_is_the_source_toward_the_server() -> None:
    c = _clients()
    loop = asyncio.get_running_loop()
    v = VirtualRouterConfig("home", radius_auth=(RadiusServerConfig("127.0.0.2", 1812, "k"),))
    c.apply(v, loop, None)
    try:
        assert c.nas_ip_for("home") == "127.0.0.1"
        assert c.by_vr["home"].client.nas_ip == "127.0.0.1"
        v2 = VirtualRouterConfig("home", radius_auth=v.radius_auth,
                                 radius_update_source=ipaddress.IPv4Address("127.0.0.9"))
        c.apply(v2, loop, None)
        assert c.nas_ip_for("home") == "127.0.0.9"
        assert present(c.by_vr["home"].adapter).local_addresses[0][0] == "127.0.0.9"
        # an update-source address the VR does not have: NAS-IP still says it, the socket
        # binds any address
        v3 = VirtualRouterConfig("home", radius_auth=v.radius_auth,
                                 radius_update_source=ipaddress.IPv4Address("198.51.100.7"))
        c.apply(v3, loop, None)
        assert c.nas_ip_for("home") == "198.51.100.7"
        assert present(c.by_vr["home"].adapter).local_addresses[0][0] == "0.0.0.0"
        c.remove("home")
        assert c.nas_ip_for("home") == "192.0.2.254"
    finally:
        c.close()
