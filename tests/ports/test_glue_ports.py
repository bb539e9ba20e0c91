"""The dataplane glue keeps the VRs' ports in step with the configuration; a port the
dataplane refuses is one % line and keeps the VR for the next reconciliation."""
from __future__ import annotations

import ipaddress

from engine.aio.calls import CallTable
from engine.aio.config import PortConfig, VirtualRouterConfig
from engine.aio.dataplane_glue import DataplaneGlue
from engine.dataplane.sim import SimDataplane

ADDR = ipaddress.IPv4Interface("10.5.0.1/24")


def _glue() -> tuple[DataplaneGlue, list[str]]:
    out: list[str] = []
    g = DataplaneGlue(CallTable(), out.append)
    g.dp = SimDataplane()
    g.ensure_vr("home")
    g.ensure_vr("default")
    return g, out


def test_ports_follow_the_configuration() -> None:
    g, out = _glue()
    g.ports = {"gigabitEthernet1/0": "veth-a"}
    v = VirtualRouterConfig("home", ports=(PortConfig("gigabitEthernet1/0", ADDR,
                                                      description="radius"),))
    g.apply_addresses(v)
    assert g.apply_static(v) and out == []
    rows = g.port_status("home")
    assert [(r["name"], r["address"], r["admin_up"], r["description"]) for r in rows] == [
        ("gigabitEthernet1/0", "10.5.0.1/24", True, "radius")]
    shut = VirtualRouterConfig("home", ports=(PortConfig("gigabitEthernet1/0", ADDR, True),))
    g.apply_addresses(shut)
    assert g.port_status("home")[0]["admin_up"] is False
    g.apply_addresses(VirtualRouterConfig("home"))
    assert g.port_status("home") == []
    g.apply_addresses(v)
    g.remove_vr("home")
    assert g.dp.ports == {}


def test_refused_port_is_one_line_and_retried() -> None:
    g, out = _glue()
    v = VirtualRouterConfig("home", ports=(PortConfig("gigabitEthernet1/0", ADDR),))
    g.apply_addresses(v)
    assert g.apply_static(v) is False                 # not complete: retried
    assert len(out) == 1 and out[0].startswith("% virtual-router home: gigabitEthernet1/0")
    g.ports = {"gigabitEthernet1/0": "veth-a"}
    g.apply_addresses(v)
    assert g.apply_static(v) is True
    assert [r["name"] for r in g.port_status("home")] == ["gigabitEthernet1/0"]
