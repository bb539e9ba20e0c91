"""Dial-in subscribers: local address pools (`ip local pool`), the profile's
`ip address-pool`, and `show subscribers`."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from jcli.commands.config import node, setting
from jcli.config import model as m
from jcli.registry import CliError, command, renders
from jcli.views import ShowResult, table

G = "config"
P = "config-profile"
NO = "Negate a command or set its defaults"
IP = ["Internet Protocol", "Local address pools", "Address pool"]
MAX_POOL_SIZE = 1 << 20


def pool_names(ctx: Any) -> list[str]:
    return sorted(ctx.vr_config.local_pools)


@command(G, "ip local pool WORD$name A.B.C.D$first A.B.C.D$last",
         [*IP, "Pool name", "First address", "Last address"], complete={"name": pool_names})
def ip_local_pool(ctx: Any, name: str, first: str, last: str) -> None:
    a, b = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
    if int(b) < int(a):
        raise CliError("The last address of a pool must not be below its first")
    if int(b) - int(a) + 1 > MAX_POOL_SIZE:
        raise CliError(f"A pool holds at most {MAX_POOL_SIZE} addresses")
    for other in ctx.vr_config.local_pools.values():
        oa, ob = ipaddress.IPv4Address(other.first), ipaddress.IPv4Address(other.last)
        if other.name != name and int(a) <= int(ob) and int(oa) <= int(b):
            raise CliError(f'Overlaps local pool "{other.name}" ({other.first} {other.last})')
    ctx.vr_config.local_pools[name] = m.LocalPool(name, str(a), str(b))


@command(G, "no ip local pool WORD$name", [NO, *IP, "Pool name"], complete={"name": pool_names})
def no_ip_local_pool(ctx: Any, name: str) -> None:
    if ctx.vr_config.local_pools.pop(name, None) is None:
        raise CliError(f'Local pool "{name}" does not exist')


@renders("virtual-router", ip_local_pool)
def _write_local_pools(vr: m.VirtualRouter) -> Iterator[str]:
    for lp in vr.local_pools.values():
        yield f"ip local pool {lp.name} {lp.first} {lp.last}"


setting(P, "ip address-pool", ["Internet Protocol", "Local pool of dial-in subscriber addresses"],
        "WORD", "Pool name", node, "ip_address_pool")


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _render(data: dict[str, Any]) -> list[str]:
    rows = data["subscribers"]
    out = table(["User", "Virtual router", "Address", "Interface", "State", "Uptime",
                 "Tunnel/Session"],
                [[r["user"] or "-", r["vr"], r["address"] or "-", r["ifname"], r["state"],
                  _uptime(r["uptime"]), f"{r['tunnel_id']}/{r['session_id']}"] for r in rows])
    out.append(f"{len(rows)} subscriber(s) found")
    return out


@command("*", "show subscribers [WORD$user]",
         ["Show running system information", "Dial-in subscribers", "User name"])
def show_subscribers(ctx: Any, user: str | None) -> ShowResult:
    snap = ctx.snapshot()
    subs = getattr(snap, "subscribers", ()) if snap is not None else ()
    rows = [{"user": s.user, "vr": s.vr, "address": s.address, "ifname": s.ifname,
             "state": s.state, "uptime": s.uptime, "tunnel_id": s.tunnel_id,
             "session_id": s.session_id}
            for s in subs if user is None or s.user == user]
    return ShowResult({"subscribers": rows}, _render)
