"""With the simulated dataplane, a lab LAC "behind" a port: the port has a host address, the
RADIUS grant names it as Tunnel-Client-Endpoint, and the tunnel starts from it; the dial-out
RADIUS request carries the source toward the server as NAS-IP-Address."""
from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from engine.aio.config import PortConfig
from tests.dialout_e2e.helpers import DOMAIN, dialout_reply, lac_addresses, running_lab, standard_lab

SOURCE = "127.0.0.5"


async def test_tunnel_from_the_tunnel_client_endpoint_on_a_port(tmp_path: Path) -> None:
    lacs = lac_addresses(1)
    reply = dialout_reply(lacs, "5551001")
    reply["Tunnel-Client-Endpoint:1"] = SOURCE
    spec = standard_lab(lacs)
    spec.home_users = {f"10.10.1.1@{DOMAIN}": reply}
    async with running_lab(tmp_path, spec) as r:
        eng = r.engine
        eng.dataplane.ports = {"gigabitEthernet1/0": "veth-a"}
        home = eng.config.vr("home")
        assert home is not None
        port = PortConfig("gigabitEthernet1/0", ipaddress.IPv4Interface(f"{SOURCE}/8"))
        vrs = tuple(dataclasses.replace(v, ports=(port,)) if v.name == "home" else v
                    for v in eng.config.vrs)
        eng.apply_config(dataclasses.replace(eng.config, vrs=vrs))
        assert [p["name"] for p in eng.dataplane.port_status("home")] == ["gigabitEthernet1/0"]
        r.trigger("10.10.1.1")
        await r.wait_state("10.10.1.1", "inService")
        lac = r.lacs[0]
        peers = [t.peer_addr for t in lac.endpoint.tunnels.values()]
        assert peers and all(p[0] == SOURCE for p in peers), peers
        assert eng.radius.nas_ip_for("home") == "127.0.0.1"
