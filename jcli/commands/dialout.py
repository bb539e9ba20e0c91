"""Operational commands of the dial-out engine: ping, show (snapshot -> lines), clear, reset,
debug.  Views are pure functions of engine snapshots; `| json` prints the same data."""
from __future__ import annotations

import dataclasses
import enum
import ipaddress

from jcli.commands.base import vr_names
from jcli.registry import CliError, command
from jcli.views import ShowResult, table

SHOW = "Show running system information"
SESSION_STATES = ("authenticating", "connecting", "inService", "inhibited", "postInhibited",
                  "dormant", "pending", "failed")


def _engine(ctx):
    if ctx.engine is None:
        raise CliError("The dial-out engine is not running")
    return ctx.engine


def _vr(ctx, name):
    vr = name or ctx.vr
    if vr not in ctx.config.virtual_routers:
        raise CliError(f'Virtual router "{vr}" does not exist')
    return vr


def hms(seconds) -> str:
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{h:02d}:{m:02d}:{s:02d}"


def plain(obj):
    """Snapshot dataclasses -> JSON-friendly data (enums by value, addresses as text)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, (ipaddress.IPv4Address, ipaddress.IPv4Network, ipaddress.IPv4Interface)):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


def _counter_lines(counters: dict, indent: str = "  ") -> list[str]:
    width = max((len(k) for k in counters), default=0)
    return [f"{indent}{k.replace('_', ' '):<{width}}  {v}" for k, v in counters.items()]


# ------------------------------------------------------------------------------------ ping
@command("exec*", "ping [virtual-router WORD$vr] A.B.C.D$dst [count <1-100000>$count] "
         "[timeout <1-60>$timeout] [data-size <0-1400>$size]",
         ["Send ICMP echo requests", "Ping in a virtual router", "Virtual router name",
          "Destination address", "Number of echo requests", "Count",
          "Seconds to wait for each reply", "Seconds", "ICMP payload size", "Octets"],
         complete={"vr": vr_names})
async def ping(ctx, vr, dst, count, timeout, size):
    eng = _engine(ctx)
    vr = _vr(ctx, vr)
    count = 5 if count is None else count
    size = 56 if size is None else size
    ctx.write(f"Sending {count}, {size}-byte ICMP Echos to {dst}, timeout is "
              f"{2 if timeout is None else timeout} seconds:")
    result = await eng.ping(vr, dst, count=count, timeout=float(timeout or 2), size=size)
    ctx.write(result.success_line)
    if result.received == 0:
        raise CliError("No reply")


# ------------------------------------------------------------------------------------ show
def _render_chassis(d) -> list[str]:
    c = d
    lines = [
        f"L2TP dial-out chassis state: {c['state']}",
        f"  connect-timeout {int(c['connect_timeout'])} s, dormant-timeout "
        f"{int(c['dormant_timeout'])} s, destination lockout-timeout "
        f"{int(c['lockout_timeout'])} s",
        f"  max-sessions {c['max_sessions']}, max-connecting {c['max_connecting']}, "
        f"tunnel selection: "
        f"{'weighted' if c['weighted_load_balancing'] else 'round robin'}"
        f"{', failover within preference' if c['failover_within_preference'] else ''}",
        f"  sessions {c['sessions']} (connecting slots used {c['connecting']})",
    ]
    by_state = dict(c["sessions_by_state"])
    lines.append("  sessions by state: " + ", ".join(f"{s} {by_state.get(s, 0)}"
                                                      for s in SESSION_STATES))
    lines.append("Counters:")
    lines += _counter_lines(c["counters"])
    return lines


@command("*", "show l2tp dial-out", [SHOW, "L2TP", "Dial-out chassis state"])
def show_dialout(ctx):
    snap = _engine(ctx).snapshot()
    return ShowResult(plain(snap.dialout.chassis), _render_chassis)


def _render_vrs(rows) -> list[str]:
    out = []
    for v in rows:
        by_state = dict(v["sessions_by_state"])
        out += [f"Virtual router {v['name']}: {v['state']}",
                f"  route distinguisher {v['route_distinguisher'] or 'none'}, "
                f"max-buffered-triggers {v['max_buffered_triggers']}, targets {v['targets']}, "
                f"sessions {v['sessions']}",
                "  sessions by state: " + ", ".join(f"{s} {by_state.get(s, 0)}"
                                                    for s in SESSION_STATES),
                "  Counters:"]
        out += _counter_lines(v["counters"], "    ")
    out.append(f"{len(rows)} virtual router(s) found")
    return out


@command("*", "show l2tp dial-out virtual-router [WORD$name]",
         [SHOW, "L2TP", "Dial-out", "Per virtual router", "Virtual router name"],
         complete={"name": vr_names})
def show_dialout_vr(ctx, name):
    snap = _engine(ctx).snapshot()
    rows = [plain(v) for v in snap.dialout.vrs if name is None or v.name == name]
    if name is not None and not rows and name not in ctx.config.virtual_routers:
        raise CliError(f'Virtual router "{name}" does not exist')
    return ShowResult(rows, _render_vrs)


def _render_targets(rows) -> list[str]:
    out = table(["Virtual router", "Target", "Domain", "Profile", "State", "Sessions",
                 "Triggers", "Dial-outs"],
                [[t["vr"], t["prefix"], t["domain"], t["profile"], t["state"], t["sessions"],
                  t["counters"]["triggers_received"], t["counters"]["dialouts_established"]]
                 for t in rows])
    out.append(f"{len(rows)} dial-out target(s) found")
    return out


@command("*", "show l2tp dial-out target [virtual-router WORD$vr] [A.B.C.D$prefix MASK$mask]",
         [SHOW, "L2TP", "Dial-out", "Dial-out targets (routes)", "Targets of one virtual router",
          "Virtual router name", "Target prefix", "Target mask"],
         complete={"vr": vr_names})
def show_dialout_target(ctx, vr, prefix, mask):
    snap = _engine(ctx).snapshot()
    want = ipaddress.IPv4Network(f"{prefix}/{mask}", strict=False) if prefix else None
    rows = [plain(t) for t in snap.dialout.targets
            if (vr is None or t.vr == vr) and (want is None or t.prefix == want)]
    return ShowResult(rows, _render_targets)


def _render_sessions(data) -> list[str]:
    rows, brief = data["sessions"], data["brief"]
    if brief:
        out = table(["Virtual router", "Trigger", "State"],
                    [[s["vr"], s["destination"], s["state"]] for s in rows])
    else:
        out = table(["Virtual router", "Trigger", "Target", "State", "Tunnel/Session",
                     "Interface", "Up"],
                    [[s["vr"], s["destination"], s["target"], s["state"],
                      f"{s['tunnel_id']}/{s['session_id']}" if s["tunnel_id"] else "-",
                      s["ifname"] or "-", hms(s["time_in_state"])] for s in rows])
        for s in rows:
            out.append("")
            out.append(f"Session {s['vr']}/{s['destination']}: {s['state']} for "
                       f"{hms(s['time_in_state'])}, next timer "
                       f"{hms(s['next_timer']) if s['next_timer'] is not None else 'none'}")
            out.append(f"  user name {s['user_name']}")
            out.append(f"  tunnel {s['tunnel_endpoint'] or '-'} (ref {s['tunnel_ref'] or '-'})"
                       f", interface {s['ifname'] or '-'}, peer {s['peer_ip'] or '-'}")
            out.append("  access route(s) " + (", ".join(s["access_routes"]) or "none"))
            out.append(f"  triggers buffered {s['triggers_buffered']}, forwarded "
                       f"{s['triggers_forwarded']}, inhibited {s['inhibit_count']} time(s)")
            if s["failure_reason"]:
                out.append(f"  last failure: {s['failure_reason']}")
    out.append(f"{len(rows)} dial-out session{'s' if len(rows) != 1 else ''} found")
    return out


@command("*", "show l2tp dial-out session [virtual-router WORD$vr] [state "
         "{authenticating|connecting|inService|inhibited|postInhibited|dormant|pending|failed}"
         "$state] [A.B.C.D$dst] [brief$brief]",
         [SHOW, "L2TP", "Dial-out", "Dial-out sessions", "Sessions of one virtual router",
          "Virtual router name", "Sessions in one state", "Waiting for AAA",
          "Outgoing call in progress", "Call up", "Triggers discarded, inhibit timer running",
          "Inhibit timer expired", "Kept for analysis", "Waiting for a connecting slot",
          "Access route does not route the trigger", "Trigger destination", "One line each"],
         complete={"vr": vr_names})
def show_dialout_session(ctx, vr, state, dst, brief):
    snap = _engine(ctx).snapshot()
    rows = [plain(s) for s in snap.dialout.sessions
            if (vr is None or s.vr == vr) and (state is None or str(s.state.value) == state)
            and (dst is None or str(s.destination) == dst)]
    return ShowResult({"sessions": rows, "brief": bool(brief)}, _render_sessions)


def _render_destinations(rows) -> list[str]:
    out = table(["Destination", "State", "Failures", "Successes", "Locked out for", "Tunnels",
                 "Sessions", "Last failure"],
                [[d["address"], d["state"], d["failures"], d["successes"],
                  hms(d["lockout_remaining"]) if d["lockout_remaining"] else "-", d["tunnels"],
                  d["sessions"], d["last_failure_reason"] or "-"] for d in rows])
    out.append(f"{len(rows)} destination(s) found")
    return out


@command("*", "show l2tp destination", [SHOW, "L2TP", "Tunnel destinations (LACs)"])
def show_destination(ctx):
    snap = _engine(ctx).snapshot()
    return ShowResult([plain(d) for d in snap.dialout.destinations], _render_destinations)


def _render_tunnels(data) -> list[str]:
    rows, brief = data["tunnels"], data["brief"]
    out = table(["Local", "Remote", "Peer", "Peer host", "State", "Sessions", "Up"] +
                ([] if brief else ["Ns/Nr", "Retransmits"]),
                [[t["tunnel_id"], t["peer_tunnel_id"], t["peer"], t["peer_host_name"] or "-",
                  t["state"], t["sessions"], hms(t["uptime"])] +
                 ([] if brief else [f"{t['ns']}/{t['nr']}", t["retransmits"]])
                 for t in rows])
    out.append(f"{len(rows)} tunnel(s) found")
    return out


def _tunnel_rows(snap) -> list[dict]:
    rows = []
    for t in snap.l2tp.tunnels:
        d = plain(t)
        host, port = t.peer_addr
        d["peer"] = f"{host}:{port}"
        d["uptime"] = snap.now - t.up_at if t.up_at is not None else None
        rows.append(d)
    return rows


@command("*", "show l2tp tunnel [brief$brief]", [SHOW, "L2TP", "Tunnels", "One line each"])
def show_tunnel(ctx, brief):
    snap = _engine(ctx).snapshot()
    return ShowResult({"tunnels": _tunnel_rows(snap), "brief": bool(brief)}, _render_tunnels)


def _render_l2tp_sessions(data) -> list[str]:
    rows = data["sessions"]
    if data["brief"]:
        return table(["Tunnel", "Local", "Remote", "State"],
                     [[c["tunnel_id"], c["session_id"], c["peer_session_id"], c["state"]]
                      for c in rows]) + [f"{len(rows)} session(s) found"]
    out = table(["Tunnel", "Local", "Remote", "Kind", "State", "Called number", "Speed",
                 "Packets in/out"],
                [[c["tunnel_id"], c["session_id"], c["peer_session_id"], c["kind"], c["state"],
                  c["called_number"] or "-", c["connect_speed"] or "-",
                  f"{c['rx_packets']}/{c['tx_packets']}"] for c in rows])
    out.append(f"{len(rows)} session(s) found")
    return out


@command("*", "show l2tp session [brief$brief]", [SHOW, "L2TP", "Sessions (calls)",
                                                   "One line each"])
def show_l2tp_session(ctx, brief):
    snap = _engine(ctx).snapshot()
    return ShowResult({"sessions": [plain(c) for c in snap.l2tp.calls], "brief": bool(brief)},
                      _render_l2tp_sessions)


def _render_ppp(data) -> list[str]:
    rows, brief = data["interfaces"], data["brief"]
    if brief:
        out = table(["Interface", "Virtual router", "LCP", "IPCP", "Peer", "Peer address"],
                    [[i["ifname"], i["vr"], i["ppp"]["lcp_state"], i["ppp"]["ipcp_state"],
                      i["ppp"]["peer_name"] or "-", i["ppp"]["peer_ip"] or "-"] for i in rows])
    else:
        out = []
        for i in rows:
            p = i["ppp"]
            out += [f"{i['ifname']} (virtual router {i['vr']}, trigger {i['destination']}, "
                    f"L2TP {i['tunnel_id']}/{i['session_id']})",
                    f"  phase {p['phase']}, LCP {p['lcp_state']}, IPCP {p['ipcp_state']}",
                    f"  authentication of peer: {p['auth_peer']}; of us: {p['auth_local']}",
                    f"  peer name {p['peer_name'] or '-'}, local address {p['local_ip'] or '-'}, "
                    f"peer address {p['peer_ip'] or '-'}",
                    f"  MRU {p['mru']} (peer {p['peer_mru']}), magic {p['magic']:#010x} "
                    f"(peer {p['peer_magic']:#010x})",
                    "  frames in {rx_frames}, out {tx_frames}, octets in {rx_octets}, out "
                    "{tx_octets}, errors {errors}".format(**p["counters"])]
    out.append(f"{len(rows)} PPP interface(s) found")
    return out


@command("*", "show ppp interface [WORD$name] [brief$brief]",
         [SHOW, "PPP", "PPP interfaces", "Interface name", "One line each"])
def show_ppp(ctx, name, brief):
    snap = _engine(ctx).snapshot()
    rows = [plain(i) for i in snap.ppp if name is None or i.ifname == name]
    return ShowResult({"interfaces": rows, "brief": bool(brief)}, _render_ppp)


def _render_routes(data) -> list[str]:
    out = []
    for vr, routes in data:
        out.append(f"Virtual router {vr}:")
        out += ["  " + l for l in table(
            ["Prefix", "Next hop", "Interface", "Protocol", "Distance", "Metric"],
            [[r["prefix"], r["nexthop"] or "-", r["ifname"] or "-",
              r["protocol"] if r.get("active", True) else f'{r["protocol"]} (inactive)',
              r["distance"] if r["distance"] is not None else "", r["metric"]]
             for r in routes])]
        out.append(f"  {len(routes)} route(s)")
    return out


@command("*", "show ip route [virtual-router WORD$vr]",
         [SHOW, "IP", "Routing table", "Routes of one virtual router", "Virtual router name"],
         complete={"vr": vr_names})
def show_ip_route(ctx, vr):
    vr = _vr(ctx, vr)
    snap = _engine(ctx).snapshot()
    data = []
    for name, routes in snap.routes:
        if name == vr:
            rows = []
            for r in sorted(routes, key=lambda r: (r.prefix.network_address, r.prefix.prefixlen)):
                d = plain(r)
                d["distance"] = r.admin_distance
                rows.append(d)
            data.append((name, rows))
    return ShowResult(data, _render_routes)


def _render_radius(rows) -> list[str]:
    out = table(["Virtual router", "Server", "Port", "Kind", "State", "Requests", "Accepts",
                 "Rejects", "Timeouts", "Retransmits", "Bad", "RTT ms"],
                [[r["vr"], r["address"], r["port"], r["kind"], r["state"], r["requests"],
                  r["accepts"], r["rejects"], r.get("timeouts", 0), r["retransmits"],
                  r.get("bad_authenticator", 0) + r.get("malformed", 0),
                  "-" if not r.get("last_rtt") else f"{r['last_rtt'] * 1000:.1f}"]
                 for r in rows])
    out.append(f"{len(rows)} RADIUS server(s) found")
    return out


def _radius_rows(ctx) -> list[dict]:
    snap = _engine(ctx).snapshot()
    rows = []
    for vr, servers in snap.radius:
        for s in servers:
            d = plain(s)
            d["vr"] = vr
            rows.append(d)
    return rows


@command("*", "show radius servers", [SHOW, "RADIUS", "Servers with state and counters"])
def show_radius_servers(ctx):
    return ShowResult(_radius_rows(ctx), _render_radius)


@command("*", "show radius statistics", [SHOW, "RADIUS", "Request statistics per server"])
def show_radius_statistics(ctx):
    return ShowResult(_radius_rows(ctx), _render_radius)


# ------------------------------------------------------------------------------------ clear
@command("exec", "clear l2tp dial-out session [virtual-router WORD$vr] [A.B.C.D$dst]",
         ["Reset functions", "L2TP", "Dial-out", "Tear down and delete dial-out sessions",
          "Sessions of one virtual router", "Virtual router name", "Trigger destination"],
         complete={"vr": vr_names})
def clear_dialout_session(ctx, vr, dst):
    n = _engine(ctx).clear_sessions(vr, dst)
    ctx.write(f"{n} dial-out session(s) cleared")


@command("exec", "l2tp dial-out session reset [virtual-router WORD$vr] [A.B.C.D$dst]",
         ["L2TP", "Dial-out", "Dial-out sessions", "Leave the failed or inhibited state",
          "Sessions of one virtual router", "Virtual router name", "Trigger destination"],
         complete={"vr": vr_names})
def reset_dialout_session(ctx, vr, dst):
    n = _engine(ctx).reset_sessions(vr, dst)
    ctx.write(f"{n} dial-out session(s) reset")


@command("exec", "clear l2tp tunnel {all$all | <1-65535>$tunnel}",
         ["Reset functions", "L2TP", "Tear down tunnels", "Every tunnel", "Local tunnel id"])
def clear_tunnel(ctx, all, tunnel):
    n = _engine(ctx).clear_tunnels(None if all else tunnel)
    if tunnel is not None and n == 0:
        raise CliError(f"Tunnel {tunnel} does not exist")
    ctx.write(f"{n} tunnel(s) cleared")


@command("exec", "clear radius statistics", ["Reset functions", "RADIUS", "Counters"])
def clear_radius(ctx):
    _engine(ctx).clear_radius_statistics()


# ------------------------------------------------------------------------------------ debug
DEBUG_KINDS = {"l2tp": "l2tp", "dial-out": "dial-out", "ppp": "ppp"}


@command("exec", "debug {l2tp$l2tp [dial-out$dialout] | ppp$ppp}",
         ["Debugging functions", "L2TP control messages", "Dial-out events", "PPP events"])
def debug(ctx, l2tp, dialout, ppp):
    kind = "dial-out" if dialout else ("ppp" if ppp else "l2tp")
    _engine(ctx).set_debug(kind, True)
    ctx.write(f"{kind} debugging is on")


@command("exec", "no debug {l2tp$l2tp [dial-out$dialout] | ppp$ppp | all$all}",
         ["Negate a command", "Debugging functions", "L2TP control messages", "Dial-out events",
          "PPP events", "Every kind"])
def no_debug(ctx, l2tp, dialout, ppp, all):
    eng = _engine(ctx)
    if all:
        eng.set_debug(None, False)
        ctx.write("All debugging is off")
        return
    kind = "dial-out" if dialout else ("ppp" if ppp else "l2tp")
    eng.set_debug(kind, False)
    ctx.write(f"{kind} debugging is off")
