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


class _NsSim(SimDataplane):
    """The sim dataplane with the Linux dataplane's per-VR socket hook."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []

    def socket_in_vr(self, vr: str) -> object:
        self.made.append(vr)
        return object()


def test_default_vr_sockets_move_to_its_namespace_with_a_port() -> None:
    out: list[str] = []
    g = DataplaneGlue(CallTable(), out.append)
    dp = _NsSim()
    g.dp = dp
    g.ensure_vr("default")
    g.ensure_vr("home")
    assert g.socket_factory("default") is None
    home = g.socket_factory("home")
    assert home is not None
    home()
    assert dp.made == ["home"]
    g.ports = {"gigabitEthernet1/1": "veth-b"}
    g.apply_addresses(VirtualRouterConfig("default", ports=(PortConfig("gigabitEthernet1/1",
                                                                       ADDR),)))
    factory = g.socket_factory("default")
    assert factory is not None
    factory()
    assert dp.made == ["home", "default"]
    g.apply_addresses(VirtualRouterConfig("default"))
    assert g.socket_factory("default") is None
