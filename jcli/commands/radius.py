"""Operational commands of the RADIUS clients: their servers with state and counters, and
clearing those counters.  Views are pure functions of engine snapshots; `| json` prints the
same data."""
from __future__ import annotations

from engine.aaa.server import COUNTERS as RADIUS_COUNTERS
from engine.aaa.server import STATE_DEAD
from jcli.commands.dialout import SHOW, _engine
from jcli.registry import command
from jcli.views import ShowResult, plain, table


def _radius_state(r: dict) -> str:
    """'up', or 'dead(2m05s)' with the dead time left."""
    if r["state"] != STATE_DEAD:
        return r["state"]
    left = r.get("dead_for")
    if left is None:
        return r["state"]
    secs = max(0, int(left + 0.999))
    return f"{r['state']}({secs // 60}m{secs % 60:02d}s)"


def _render_radius(rows) -> list[str]:
    out = table(["Virtual router", "Server", "Port", "Kind", "State", "Requests", "Pending",
                 "Queued", "RTT ms"],
                [[r["vr"], r["address"], r["port"], r["kind"], _radius_state(r), r["requests"],
                  r["pending"], r["waiting"],
                  "-" if not r.get("last_rtt") else f"{r['last_rtt'] * 1000:.1f}"]
                 for r in rows])
    out.append(f"{len(rows)} RADIUS server(s) found")
    if rows:
        out.append("")
        names = [f"{r['address']}:{r['port']}" for r in rows]
        if len(set(names)) < len(names):          # the same server in several VRs
            names = [f"{r['vr']} {r['address']}:{r['port']} {r['kind']}" for r in rows]
        out += table(["Counter"] + names,
                     [[label] + [r[name] for r in rows] for name, label in RADIUS_COUNTERS])
        seen: dict[str, int] = {}
        for r in rows:
            seen.setdefault(r["vr"], r.get("vr_unknown_sources", 0))
        out.append("")
        out += [f"Virtual router {vr}: {n} RADIUS datagram(s) from unknown sources"
                for vr, n in seen.items()]
    return out


def _radius_rows(ctx) -> list[dict]:
    reads = _engine(ctx).reads
    unknown = reads.radius_unknown_sources()
    rows = []
    for vr, servers in reads.radius():
        for s in servers:
            d = plain(s)
            d["vr"] = vr
            d["vr_unknown_sources"] = unknown.get(vr, 0)
            rows.append(d)
    return rows


@command("*", "show radius servers", [SHOW, "RADIUS", "Servers with state and counters"])
def show_radius_servers(ctx):
    return ShowResult(_radius_rows(ctx), _render_radius)


@command("*", "show radius statistics", [SHOW, "RADIUS", "Request statistics per server"])
def show_radius_statistics(ctx):
    return ShowResult(_radius_rows(ctx), _render_radius)


@command("exec", "clear radius statistics", ["Reset functions", "RADIUS", "Counters"])
def clear_radius(ctx):
    _engine(ctx).clear_radius_statistics()
