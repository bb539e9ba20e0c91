"""Scripted-clock harness around DialoutService."""
from __future__ import annotations

import ipaddress

from engine.dialout import (
    CallParams,
    ChassisConfig,
    DialoutConfig,
    DialoutService,
    Grant,
    SessionKey,
    TargetConfig,
    TunnelDef,
    VrConfig,
)

NET = ipaddress.IPv4Network("10.10.0.0/16")
DOMAIN = "L2TP-dial-out.de.dt"
CALL = CallParams(dial_out_number="0301234", ppp_username="lns", ppp_password="pw",
                  ppp_auth_protocol=2)
LAC_A = TunnelDef("192.0.2.1", preference=1, assignment_id="a", password=b"s")
LAC_B = TunnelDef("192.0.2.2", preference=2, assignment_id="b")


def vr_config(name="home", *, buffer=10, rd=None, targets=None) -> VrConfig:
    if targets is None:
        targets = (TargetConfig(NET, DOMAIN, "dialprof"),)
    return VrConfig(name, targets=tuple(targets), max_buffered_triggers=buffer,
                    route_distinguisher=rd)


def grant(*tunnels: TunnelDef, call: CallParams = CALL) -> Grant:
    return Grant(tuple(tunnels) or (LAC_A,), call)


class Harness:
    def __init__(self, chassis: ChassisConfig | None = None, vrs=None, now: float = 1000.0):
        self.now = now
        self.chassis = chassis or ChassisConfig()
        self.vrs = tuple(vrs) if vrs is not None else (vr_config(),)
        self.svc = DialoutService(DialoutConfig(self.chassis, self.vrs), now=now)
        self.initial = self.svc.requests()

    # -- plumbing ------------------------------------------------------------------------
    def reqs(self) -> list:
        return self.svc.requests()

    def of(self, reqs, cls) -> list:
        return [r for r in reqs if isinstance(r, cls)]

    def reconfigure(self, **chassis_changes) -> None:
        import dataclasses
        self.chassis = dataclasses.replace(self.chassis, **chassis_changes)
        self.svc.apply_config(DialoutConfig(self.chassis, self.vrs), now=self.now)

    def key(self, dst, vr="home") -> SessionKey:
        return SessionKey(vr, ipaddress.IPv4Address(dst))

    def state(self, dst, vr="home"):
        return self.svc.session_state(vr, dst)

    def snap(self, dst, vr="home"):
        return self.svc.session_snapshot(vr, dst, now=self.now)

    def advance(self, seconds: float) -> None:
        """Move the clock, firing every timer due on the way, in order."""
        end = self.now + seconds
        while True:
            t = self.svc.get_timer()
            if t is None or t > end:
                break
            self.now = max(self.now, t)
            self.svc.handle_timer(now=self.now)
        self.now = end

    def fire_next_timer(self) -> float:
        t = self.svc.get_timer()
        assert t is not None
        self.now = t
        self.svc.handle_timer(now=t)
        return t

    # -- inputs --------------------------------------------------------------------------
    def trigger(self, dst, packet: bytes | None = None, vr="home") -> None:
        self.svc.on_trigger(vr, dst, packet if packet is not None else f"pkt-{dst}".encode(),
                            now=self.now)

    def auth(self, dst, result, vr="home") -> None:
        self.svc.on_auth_result(self.key(dst, vr), result, now=self.now)

    def call_id(self, dst, vr="home") -> int:
        cid = self.snap(dst, vr).call_id
        assert cid is not None
        return cid

    def call_ok(self, dst, vr="home") -> None:
        self.svc.on_call_result(self.call_id(dst, vr), True, now=self.now, tunnel_id=7,
                                session_id=9)

    def call_fail(self, dst, reason="CDN result 2", vr="home") -> None:
        self.svc.on_call_result(self.call_id(dst, vr), False, reason, now=self.now)

    def ppp_up(self, dst, routes=None, peer=None, vr="home", *, idle: float = 0.0,
               session_timeout: float = 0.0) -> None:
        if routes is None:
            routes = (f"{dst}/32",)
        self.svc.on_ppp_up(self.key(dst, vr), routes, peer, now=self.now, idle_timeout=idle,
                           session_timeout=session_timeout)

    def to_connecting(self, dst, *tunnels, vr="home") -> list:
        self.trigger(dst, vr=vr)
        self.auth(dst, grant(*tunnels), vr=vr)
        return self.reqs()

    def bring_up(self, dst, *tunnels, routes=None, vr="home", idle: float = 0.0,
                 session_timeout: float = 0.0) -> list:
        out = self.to_connecting(dst, *tunnels, vr=vr)
        for r in out:
            if hasattr(r, "tunnel_ref") and type(r).__name__ == "OpenTunnel":
                self.svc.on_tunnel_result(r.tunnel_ref, True, now=self.now, tunnel_id=5)
        self.call_ok(dst, vr=vr)
        self.ppp_up(dst, routes=routes, vr=vr, idle=idle, session_timeout=session_timeout)
        return out + self.reqs()
