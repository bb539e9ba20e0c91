"""Dial-in subscribers over the linux dataplane: each subscriber's /32 is a TUN session device
in the VR's namespace, and pings from the VR reach the subscriber through its session."""
from __future__ import annotations

import itertools
import os

import pytest

from engine.dataplane import netns_helpers as nsh
from engine.lab.radius_server import RadiusUser
from tests.dataplane_linux.conftest import missing_requirement
from tests.dialin.test_incoming import Lab, subscriber, wait
from tests.present import present

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(missing_requirement() is not None,
                                 reason=missing_requirement() or "")]


_counter = itertools.count()


@pytest.fixture
def prefix():
    """A namespace prefix of this test; anything left with it is deleted afterwards."""
    p = f"jt{os.getpid()}d{next(_counter)}-"
    yield p
    for ns in [ns for ns in nsh.list_namespaces() if ns.startswith(p)]:
        nsh.delete_namespace(ns)


async def test_subscribers_forward_through_linux_session_devices(prefix: str) -> None:
    users = [RadiusUser(f"l{i}@isp.example", "pw", (("Framed-Route", f"10.89.{i}.0/24"),))
             for i in range(3)]
    async with Lab(users, dataplane="linux", netns_prefix=prefix) as lab:
        cpes = [subscriber(u.name, "pw", "pap") for u in users]
        for c in cpes:
            lab.dial(c)
        await wait(lambda: sum(s.state == "up" for s in lab.subscribers().values()) == 3)
        for s in lab.subscribers().values():
            r = await lab.eng.ping("default", present(s.address), count=2, timeout=2.0)
            assert r.received == 2, s
        routes = {str(r.prefix) for r in dict(lab.eng.snapshot().routes)["default"]}
        assert {"10.89.0.0/24", "10.89.1.0/24", "10.89.2.0/24"} <= routes
        assert lab.eng.clear_tunnels() == 1
        await wait(lambda: not lab.subscribers())
        routes = {str(r.prefix) for r in dict(lab.eng.snapshot().routes)["default"]}
        assert not routes & {"10.89.0.0/24", "10.89.1.0/24", "10.89.2.0/24"}
    assert not [ns for ns in nsh.list_namespaces() if ns.startswith(prefix)]
