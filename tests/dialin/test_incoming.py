"""Incoming calls end to end over real UDP on loopback: the lab LAC places ICRQs for
subscribers (PAP and CHAP), the LNS answers ICRP, authenticates each subscriber through the
RADIUS of the VR its domain maps to, assigns Framed-IP-Address or a pool address, installs the
/32 and framed routes, sends accounting, forwards pings both ways, and clears them."""
from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import os
import random

import pytest

from engine.aio.config import EngineConfig, ProfileConfig, RadiusServerConfig, VirtualRouterConfig
from engine.aio.engine import Engine
from engine.dialin.sessions import SubscriberView
from engine.l2tp import CallDown
from engine.l2tp.acceptance import AcceptancePolicy, HostPolicy, PeerPolicy
from engine.lab.cpe import Cpe, CpeSpec
from engine.lab.labfile import LacSpec
from engine.lab.lac import LabLac
from engine.lab.radius_server import LabRadiusServer, RadiusSpec, RadiusUser
from tests.present import present

pytestmark = pytest.mark.timeout(120)

SECRET = b"dialin-tunnel-pw"
RADIUS_KEY = "radius-key"


def lab_ip() -> str:
    return f"127.94.{os.getpid() % 250}.2"


def engine_config(radius_port: int, lac_ip: str, *, auth: tuple[str, ...] = ("pap",),
                  max_sessions: int = 0, radius_in_default: bool = False) -> EngineConfig:
    rad = (RadiusServerConfig("127.0.0.1", radius_port, RADIUS_KEY, timeout=2.0),)
    acct = (RadiusServerConfig("127.0.0.1", radius_port, RADIUS_KEY, timeout=2.0),)
    access = VirtualRouterConfig(
        "default", loopbacks=((0, ipaddress.IPv4Interface("10.0.0.1/32")),),
        domain_map=(("isp.example", "isp"),),
        profiles=(ProfileConfig("dialin", ppp_authentication=auth, ppp_keepalive=0,
                                ip_unnumbered_loopback=0, ip_address_pool="subs"),),
        local_pools=(("subs", ipaddress.IPv4Address("10.70.0.1"),
                      ipaddress.IPv4Address("10.70.3.254")),))
    isp = VirtualRouterConfig("isp", radius_auth=rad, radius_acct=acct)
    if radius_in_default:       # RADIUS reached from the namespace the process started in
        access = dataclasses.replace(access, radius_auth=rad, radius_acct=acct, domain_map=())
        isp = VirtualRouterConfig("isp")
    pol = AcceptancePolicy((PeerPolicy("lac", lac_ip, "default", (
        HostPolicy("lac1", secret=SECRET, profile="dialin", max_sessions=max_sessions),)),))
    return EngineConfig(vrs=(access, isp), l2tp_acceptance=pol)


def subscriber(user: str, password: str, auth: str) -> Cpe:
    cpe = Cpe(CpeSpec(number="", username=user, password=password, accept_auth=(auth,)),
              rng=random.Random(user))
    cpe.answer_assigned = True
    return cpe


async def wait(pred, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)


class Lab:
    def __init__(self, users: list[RadiusUser], *, auth: tuple[str, ...] = ("pap",),
                 max_sessions: int = 0, dataplane: str = "sim", netns_prefix: str = "") -> None:
        self.users = users
        self.auth = auth
        self.max_sessions = max_sessions
        self.lines: list[str] = []
        self.dataplane = dataplane
        self.netns_prefix = netns_prefix

    async def __aenter__(self) -> Lab:
        self.radius = LabRadiusServer(RadiusSpec("r", "127.0.0.1", 0, RADIUS_KEY.encode(),
                                                 tuple(self.users)))
        lac_ip = lab_ip()
        self.eng = Engine(output=self.lines.append, l2tp_bind=("127.0.0.1", 0),
                          dataplane=self.dataplane, netns_prefix=self.netns_prefix or "jcli-")
        await self.eng.start()
        self.eng.apply_config(engine_config(self.radius.address[1], lac_ip, auth=self.auth,
                                            max_sessions=self.max_sessions,
                                            radius_in_default=self.dataplane == "linux"))
        self.lac = LabLac(LacSpec("lac", listen=(lac_ip, 0), host_name="lac1", secret=SECRET),
                          rng=random.Random(7)).start()
        self.lac.keep_events = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.lac.close()
        await self.eng.stop()
        self.radius.close()

    def dial(self, cpe: Cpe, number: str = "") -> tuple[int, int]:
        return self.lac.dial_in(self.eng.l2tp_local_addr, cpe, secret=SECRET,
                                calling_number=number)

    def lac_events(self) -> list[object]:
        return list(self.lac.events)

    def subscribers(self) -> dict[str, SubscriberView]:
        return {s.user: s for s in self.eng.snapshot().subscribers}


async def test_pap_subscriber_framed_ip_route_accounting_ping_and_clear() -> None:
    users = [RadiusUser("alice@isp.example", "pw-a", (("Framed-IP-Address", "10.77.0.5"),
                                                     ("Framed-Route", "10.88.0.0/24 0.0.0.0 1"))),
             RadiusUser("bob@isp.example", "pw-b")]
    async with Lab(users) as lab:
        alice, bob = subscriber("alice@isp.example", "pw-a", "pap"), \
            subscriber("bob@isp.example", "pw-b", "pap")
        lab.dial(alice, "0301111")
        lab.dial(bob, "0302222")
        await wait(lambda: len(lab.subscribers()) == 2 and
                   all(s.state == "up" for s in lab.subscribers().values()))
        subs = lab.subscribers()
        assert subs["alice@isp.example"].address == "10.77.0.5"      # Framed-IP-Address
        assert subs["bob@isp.example"].address == "10.70.0.1"        # first of the pool
        assert alice.link.local_ip == "10.77.0.5" and bob.link.local_ip == "10.70.0.1"
        assert subs["alice@isp.example"].vr == "default"
        routes = dict(lab.eng.snapshot().routes)["default"]
        prefixes = {(str(r.prefix), r.ifname) for r in routes}
        ifa = subs["alice@isp.example"].ifname
        assert ("10.77.0.5/32", ifa) in prefixes and ("10.88.0.0/24", ifa) in prefixes
        # pings through each session: LNS -> LAC -> subscriber and back
        for s in subs.values():
            r = await lab.eng.ping("default", present(s.address), count=2, timeout=2.0)
            assert r.received == 2, s
        assert alice.pings_answered == 2 and bob.pings_answered == 2
        # the session appears in show l2tp session / show ppp interface
        snap = lab.eng.snapshot()
        assert {c.kind for c in snap.l2tp.calls} == {"lns-in"}
        assert {p.ifname for p in snap.ppp} == {s.ifname for s in subs.values()}
        await wait(lambda: lab.radius.counters["accounting_requests"] >= 2)
        starts = [a for a in lab.radius.core.received if a.get("Acct-Status-Type")]
        assert len(starts) == 2
        for a in starts:                              # RFC 2867 tunnel attributes
            assert a["Acct-Tunnel-Connection"][0].count("/") == 1
            assert a["Tunnel-Client-Endpoint:1"][0] == lab_ip() and a["Tunnel-Type:1"][0] == 3
            assert a["Tunnel-Client-Auth-Id:1"][0] == "lac1"
            assert a["User-Name"][0] in ("alice@isp.example", "bob@isp.example")
        # clear l2tp tunnel: both end, accounting Stop, routes and addresses gone
        assert lab.eng.clear_tunnels() == 1
        await wait(lambda: not lab.subscribers())
        await wait(lambda: lab.radius.counters["accounting_requests"] >= 4)
        routes = dict(lab.eng.snapshot().routes)["default"]
        assert not any(str(r.prefix) in ("10.77.0.5/32", "10.88.0.0/24", "10.70.0.1/32")
                       for r in routes)
        assert lab.eng.dialin.sessions.pools[("default", "subs")].in_use == 0
        assert not any("Traceback" in line for line in lab.lines)


async def test_chap_subscriber_wrong_password_refused_and_unknown_domain() -> None:
    users = [RadiusUser("carol@isp.example", "pw-c")]
    async with Lab(users, auth=("chap",)) as lab:
        carol = subscriber("carol@isp.example", "pw-c", "chap")
        mallory = subscriber("carol@isp.example", "not-it", "chap")
        lab.dial(carol)
        lab.dial(mallory)
        await wait(lambda: mallory.down and any(s.state == "up"
                                                for s in lab.subscribers().values()))
        subs = lab.eng.snapshot().subscribers
        assert [s.user for s in subs] == ["carol@isp.example"] and subs[0].state == "up"
        r = await lab.eng.ping("default", present(subs[0].address), count=1, timeout=2.0)
        assert r.received == 1
        # only the LNS's own session remains; the refused one left nothing behind
        await wait(lambda: len(lab.eng.snapshot().l2tp.calls) == 1)
        assert lab.eng.dialin.sessions.pools[("default", "subs")].in_use == 1


async def test_hundred_subscribers_pap_and_chap() -> None:
    n = 100
    users = [RadiusUser(f"u{i}@isp.example", f"pw{i}") for i in range(n)]
    for auth in ("pap", "chap"):
        async with Lab(users, auth=(auth,)) as lab:
            cpes = [subscriber(f"u{i}@isp.example", f"pw{i}", auth) for i in range(n)]
            for c in cpes:
                lab.dial(c)
            await wait(lambda: sum(s.state == "up" for s in lab.subscribers().values()) == n,
                       timeout=60)
            addrs = {present(s.address) for s in lab.subscribers().values()}
            assert len(addrs) == n
            results = await asyncio.gather(*(lab.eng.ping("default", a, count=1, timeout=3.0)
                                             for a in sorted(addrs)))
            assert all(r.received == 1 for r in results)
            assert all(c.pings_answered == 1 for c in cpes)
            await wait(lambda: lab.radius.counters["accounting_requests"] >= n)
            assert lab.radius.counters["accepts"] == n
            # the subscribers' first LCP Configure-Requests overtook their ICCNs and were kept
            assert lab.eng.dialin.sessions.counters["early_frames"] > 0


async def test_session_timeout_and_idle_timeout_end_subscribers() -> None:
    users = [RadiusUser("short@isp.example", "pw", (("Session-Timeout", 1),)),
             RadiusUser("idle@isp.example", "pw", (("Idle-Timeout", 1),)),
             RadiusUser("busy@isp.example", "pw", (("Idle-Timeout", 1),))]
    async with Lab(users) as lab:
        cpes = {u.name: subscriber(u.name, "pw", "pap") for u in users}
        for c in cpes.values():
            lab.dial(c)
        await wait(lambda: sum(s.state == "up" for s in lab.subscribers().values()) == 3)
        busy = present(lab.subscribers()["busy@isp.example"].address)
        loop = asyncio.get_running_loop()
        end = loop.time() + 2.6
        while loop.time() < end:                  # keep one subscriber busy
            r = await lab.eng.ping("default", busy, count=1, timeout=1.0)
            assert r.received == 1
            await asyncio.sleep(0.2)
        await wait(lambda: set(lab.subscribers()) == {"busy@isp.example"}, timeout=5)
        await wait(lambda: lab.radius.counters["accounting_requests"] >= 5)
        causes = sorted(a["Acct-Terminate-Cause"][0] for a in lab.radius.core.received
                        if "Acct-Terminate-Cause" in a)
        assert causes == [4, 5]                  # idle-timeout, session-timeout
        assert cpes["short@isp.example"].down and cpes["idle@isp.example"].down


async def test_refusals_profile_missing_no_address_unknown_user() -> None:
    users = [RadiusUser("dave@isp.example", "pw"), RadiusUser("erin@isp.example", "pw")]
    async with Lab(users) as lab:
        # the host names a profile the VR does not have: the call gets a CDN, nothing is held
        cfg = lab.eng.config
        vrs = tuple(dataclasses.replace(v, profiles=()) if v.name == "default" else v
                    for v in cfg.vrs)
        lab.eng.apply_config(dataclasses.replace(cfg, vrs=vrs))
        lost = subscriber("dave@isp.example", "pw", "pap")
        lab.dial(lost)
        await wait(lambda: any(isinstance(ev, CallDown) for ev in lab.lac_events()))
        assert not lab.subscribers() and not lab.eng.snapshot().l2tp.calls
        lab.eng.apply_config(cfg)
        # an empty pool and no Framed-IP-Address: authenticated but refused, address-less
        pools = tuple(dataclasses.replace(v, local_pools=(
            ("subs", ipaddress.IPv4Address("10.70.0.1"), ipaddress.IPv4Address("10.70.0.1")),))
            if v.name == "default" else v for v in cfg.vrs)
        lab.eng.apply_config(dataclasses.replace(cfg, vrs=pools))
        dave, erin = subscriber("dave@isp.example", "pw", "pap"), \
            subscriber("erin@isp.example", "pw", "pap")
        stranger = subscriber("nobody@isp.example", "pw", "pap")
        for c in (dave, erin, stranger):
            lab.dial(c)
        await wait(lambda: stranger.down and sum(c.down for c in (dave, erin)) == 1
                   and len(lab.subscribers()) == 1 and
                   next(iter(lab.subscribers().values())).state == "up")
        assert lab.eng.dialin.sessions.counters["no_address"] == 1
        await wait(lambda: len(lab.eng.snapshot().l2tp.calls) == 1)
        assert not any("Traceback" in line for line in lab.lines)
