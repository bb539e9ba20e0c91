"""Shared pieces of the end-to-end dial-out tests: lab files written per test on free loopback
addresses, the engine configuration that matches them, and small waiting helpers."""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine import icmp
from engine.aio.config import (
    EngineConfig,
    L2tpDefaults,
    ProfileConfig,
    RadiusServerConfig,
    TargetConfig,
    VirtualRouterConfig,
)
from engine.aio.engine import Engine
from engine.dialout.service import ChassisConfig
from engine.lab.labfile import load_labfile
from engine.lab.runner import RunningLab, start_lab
from tests.present import present

DOMAIN = "L2TP-dial-out.de.dt"
HOME_SECRET = "home-secret"
LNS_SECRET = "lns-secret"
LOOPBACK = "192.168.255.1"

# Third octets of 127.91.N.0/24 handed out to tests (the lab LACs listen on port 1701 there,
# because the engine always sends to the L2TP port of a Tunnel-Server-Endpoint address).
_octets = itertools.count(20 + (os.getpid() % 40) * 5)


def _free(addr: str, port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def lac_addresses(n: int = 2) -> list[str]:
    """``n`` loopback addresses whose UDP port 1701 is free, in one private /24."""
    for _ in range(400):
        octet = next(_octets) % 250 + 2
        addrs = [f"127.91.{octet}.{i + 2}" for i in range(n)]
        if all(_free(a, 1701) for a in addrs):
            return addrs
    raise RuntimeError("no free 127.91.x.y:1701 addresses")


def free_udp_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in socks:
            s.close()


def toml_str(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_str(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def table(header: str, items: dict) -> str:
    return "\n".join([header] + [f"{toml_str(k)} = {toml_str(v)}" for k, v in items.items()]) + "\n"


def dialout_reply(lacs: list[str], number: str, *, secrets: list[str] | None = None,
                  preferences: list[int] | None = None, service_type: str = "Outbound-User",
                  tunnels: bool = True, ppp_password: str = "lns-pass") -> dict:
    """The first Access-Accept: one tunnel per LAC address (tags 1..n)."""
    reply: dict = {}
    if service_type:
        reply["Service-Type"] = service_type
    if tunnels:
        for i, addr in enumerate(lacs, 1):
            reply[f"Tunnel-Type:{i}"] = "L2TP"
            reply[f"Tunnel-Medium-Type:{i}"] = "IPv4"
            reply[f"Tunnel-Server-Endpoint:{i}"] = addr
            reply[f"Tunnel-Password:{i}"] = (secrets or [f"tunnel-secret-{j}"
                                                         for j in range(1, 9)])[i - 1]
            reply[f"Tunnel-Assignment-Id:{i}"] = f"lac{i}"
            reply[f"Tunnel-Preference:{i}"] = (preferences or list(range(1, 9)))[i - 1]
            reply[f"Tunnel-Client-Auth-Id:{i}"] = "lns"
    reply["ERX-Dial-Out-Number"] = number
    reply["ERX-PPP-Username"] = "lns"
    reply["ERX-PPP-Password"] = ppp_password
    reply["ERX-PPP-Auth-Protocol"] = "CHAP"
    return reply


@dataclass
class LabSpec:
    """What a test's lab file contains (rendered by ``text``)."""
    lacs: list[str]
    home_users: dict = field(default_factory=dict)       # user name -> reply dict
    lns_users: dict = field(default_factory=dict)        # user name -> (password, reply dict)
    cpes: list[dict] = field(default_factory=list)
    home_failure: str | None = None
    lns_failure: str | None = None
    lac_failures: dict = field(default_factory=dict)     # lac index -> failure mode
    radius: bool = True

    def text(self, home_port: int = 0, lns_port: int = 0) -> str:
        out = []
        if self.radius:
            out.append(table("[[radius]]", dict(name="home", listen=f"127.0.0.1:{home_port}",
                                               secret=HOME_SECRET)))
            if self.home_failure:
                out.append(table("[radius.failure]", {"mode": self.home_failure}))
            for user, reply in self.home_users.items():
                out.append(table(f"[radius.users.{toml_str(user)}.reply]", reply))
            out.append(table("[[radius]]", dict(name="lns", listen=f"127.0.0.1:{lns_port}",
                                               secret=LNS_SECRET)))
            if self.lns_failure:
                out.append(table("[radius.failure]", {"mode": self.lns_failure}))
            for user, (password, reply) in self.lns_users.items():
                out.append(table(f"[radius.users.{toml_str(user)}]", {"password": password}))
                out.append(table(f"[radius.users.{toml_str(user)}.reply]", reply))
        for i, addr in enumerate(self.lacs, 1):
            out.append(table("[[lac]]", {"name": f"lac{i}", "listen": f"{addr}:1701",
                                         "host-name": f"lac{i}",
                                         "secret": f"tunnel-secret-{i}"}))
            if i in self.lac_failures:
                out.append(table("[lac.failure]", {"mode": self.lac_failures[i]}))
        for c in self.cpes:
            out.append(table("[[cpe]]", c))
        return "\n".join(out)


def cpe(number: str, user: str, address: str, **extra) -> dict:
    d = {"number": number, "username": user, "password": f"{user}-pass",
         "expect-username": "lns", "expect-password": "lns-pass", "address": address}
    d.update(extra)
    return d


def framed_route(prefix: str) -> dict:
    return {"Service-Type": "Framed-User", "Framed-Protocol": "PPP",
            "Framed-Route": f"{prefix} 0.0.0.0 1"}


def standard_lab(lacs: list[str], **overrides) -> LabSpec:
    """Two destinations (10.10.1.1 and 10.10.2.1) through two LACs (preference 1, 2)."""
    spec = LabSpec(
        lacs=lacs,
        home_users={f"10.10.1.1@{DOMAIN}": dialout_reply(lacs, "5551001"),
                    f"10.10.2.1@{DOMAIN}": dialout_reply(lacs, "5551002")},
        lns_users={"cpe1": ("cpe1-pass", framed_route("10.10.1.0/24")),
                   "cpe2": ("cpe2-pass", framed_route("10.10.2.0/24"))},
        cpes=[cpe("5551001", "cpe1", "10.10.1.1"), cpe("5551002", "cpe2", "10.10.2.1")])
    for k, v in overrides.items():
        setattr(spec, k, v)
    return spec


def engine_config(home: tuple[str, int], lns: tuple[str, int], *, radius_timeout: float = 3.0,
                  radius_retransmit: int = 3, inactivity: int = 0,
                  chassis: ChassisConfig | None = None, home_secret: str = HOME_SECRET,
                  lns_secret: str = LNS_SECRET,
                  lns_acct: tuple[str, int] | None = None,
                  l2tp: L2tpDefaults | None = None) -> EngineConfig:
    N = ipaddress.IPv4Network
    acct = () if lns_acct is None else (RadiusServerConfig(lns_acct[0], lns_acct[1],
                                                           lns_secret),)
    return EngineConfig(chassis=chassis or ChassisConfig(), l2tp=l2tp or L2tpDefaults(), vrs=(
        VirtualRouterConfig(
            "home", loopbacks=((0, ipaddress.IPv4Interface(f"{LOOPBACK}/32")),),
            radius_auth=(RadiusServerConfig(home[0], home[1], home_secret,
                                            timeout=radius_timeout,
                                            retransmit=radius_retransmit),),
            profiles=(ProfileConfig("dialout", ("chap", "pap"), "lns", ip_unnumbered_loopback=0,
                                    ip_inactivity_timer=inactivity),),
            targets=(TargetConfig(N("10.10.0.0/16"), DOMAIN, "dialout"),)),
        VirtualRouterConfig("lns", radius_auth=(RadiusServerConfig(lns[0], lns[1],
                                                                   lns_secret),),
                            radius_acct=acct),
    ))


@dataclass
class Running:
    engine: Engine
    lab: RunningLab | None          # None: peers that are not lab processes
    path: Path

    @property
    def lacs(self):
        return present(self.lab).lacs

    def snap(self):
        return self.engine.snapshot()

    def session(self, dst: str, vr: str = "home"):
        for s in self.engine.snapshot().dialout.sessions:
            if s.vr == vr and str(s.destination) == dst:
                return s
        return None

    def state(self, dst: str, vr: str = "home") -> str | None:
        s = self.session(dst, vr)
        return None if s is None else str(s.state)

    def chassis_counters(self):
        return self.engine.snapshot().dialout.chassis.counters

    def routes(self, vr: str = "home"):
        for name, routes in self.engine.snapshot().routes:
            if name == vr:
                return routes
        return ()

    def access_routes(self, vr: str = "home") -> list[str]:
        return sorted(str(r.prefix) for r in self.routes(vr) if r.protocol == "access")

    def trigger(self, dst: str, vr: str = "home", seq: int = 0) -> None:
        """Send one ICMP echo from the VR's loopback to ``dst`` through the dataplane."""
        self.engine.dp.send_from_vr(vr, icmp.build_echo_request(LOOPBACK, dst, 0x4242, seq,
                                                                b"trigger"))

    async def wait_state(self, dst: str, state: str, timeout: float = 15.0,
                         vr: str = "home") -> None:
        await wait_for(lambda: self.state(dst, vr) == state, timeout,
                       lambda: f"session {vr}/{dst}: {self.session(dst, vr)}")


async def wait_for(pred, timeout: float = 15.0, what=lambda: "") -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError(f"condition not reached within {timeout} s: {what()}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_lab(tmp_path: Path, spec: LabSpec, *, accounting: bool = False, **engine_kw):
    """Lab peers (in this loop) + an Engine configured for them; both closed afterwards.
    ``accounting``: the lab's ``lns`` server is also VR lns's accounting server."""
    path = tmp_path / "lab.toml"
    path.write_text(spec.text())
    lab = await start_lab(load_labfile(path))
    eng = Engine(output=lambda line: None)
    try:
        await eng.start()
        addrs = {s.spec.name: s.address for s in lab.radius}
        home = addrs.get("home", ("127.0.0.1", 9))
        lns = addrs.get("lns", ("127.0.0.1", 9))
        if accounting:
            engine_kw["lns_acct"] = lns
        eng.apply_config(engine_config(home, lns, **engine_kw))
        yield Running(eng, lab, path)
    finally:
        await eng.stop()
        await lab.close()


def counters_dict(c) -> dict:
    return asdict(c)


__all__ = ["DOMAIN", "LabSpec", "Running", "cpe", "dialout_reply", "engine_config",
           "framed_route", "free_udp_ports", "lac_addresses", "running_lab", "standard_lab",
           "wait_for"]
