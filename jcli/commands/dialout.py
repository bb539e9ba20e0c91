"""Operational commands of the dial-out engine: ping, show (snapshot -> lines), clear, reset,
debug.  Views are pure functions of engine snapshots; `| json` prints the same data."""
from __future__ import annotations

import dataclasses
import enum
import ipaddress

from engine.aaa.server import COUNTERS as RADIUS_COUNTERS, STATE_DEAD
from engine.dialout.model import DEFAULT_PPP_AUTHENTICATION
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
        f"L2TP dial-out chassis state: {c['state']}"
        + (f" ({c['reason']})" if c.get("reason") else ""),
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
        out += [f"Virtual router {v['name']}: {v['state']}"
                + (f" ({v['reason']})" if v.get("reason") else ""),
                f"  route distinguisher {v['route_distinguisher'] or 'none'}, "
                f"max-buffered-triggers {v['max_buffered_triggers']} "
                f"({v.get('triggers_buffered', 0)} buffered), targets {v['targets']}, "
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
    out = table(["Virtual router", "Target", "Domain", "Profile", "Peer auth", "State",
                 "Sessions", "Triggers", "Dial-outs"],
                [[t["vr"], t["prefix"], t["domain"], t["profile"],
                  t.get("peer_authentication") or "-", t["state"], t["sessions"],
                  t["counters"]["triggers_received"], t["counters"]["dialouts_established"]]
                 for t in rows])
    for t in rows:
        if t.get("reason"):
            out.append(f"  {t['vr']} {t['prefix']}: {t['state']} ({t['reason']})")
    out.append(f"{len(rows)} dial-out target(s) found")
    out.append("Peer auth: what the LNS requires of the CPE (profile ppp authentication; "
               f"default {' '.join(DEFAULT_PPP_AUTHENTICATION)}); the LNS authenticates "
               "itself with the grant's credentials")
    return out


def _peer_authentication(ctx, vr: str, profile: str) -> str | None:
    """The authentication a target's profile requires of the CPE; None: no such profile."""
    vrc = ctx.config.virtual_routers.get(vr)
    p = vrc.profiles.get(profile) if vrc is not None else None
    if p is None:
        return None
    if p.ppp_authentication:
        return " ".join(p.ppp_authentication)
    return " ".join(DEFAULT_PPP_AUTHENTICATION) + " (default)"


@command("*", "show l2tp dial-out target [virtual-router WORD$vr] [A.B.C.D$prefix MASK$mask]",
         [SHOW, "L2TP", "Dial-out", "Dial-out targets (routes)", "Targets of one virtual router",
          "Virtual router name", "Target prefix", "Target mask"],
         complete={"vr": vr_names})
def show_dialout_target(ctx, vr, prefix, mask):
    snap = _engine(ctx).snapshot()
    want = ipaddress.IPv4Network(f"{prefix}/{mask}", strict=False) if prefix else None
    rows = [dict(plain(t), peer_authentication=_peer_authentication(ctx, t.vr, t.profile))
            for t in snap.dialout.targets
            if (vr is None or t.vr == vr) and (want is None or t.prefix == want)]
    return ShowResult(rows, _render_targets)


def _tunnel_session(s: dict) -> str:
    """L2TP tunnel/session ids of the session's call: only those it holds now."""
    if s["tunnel_id"] is None:
        return "-"
    return f"{s['tunnel_id']}/{s['session_id'] if s['session_id'] is not None else '-'}"


def _render_sessions(data) -> list[str]:
    rows, brief = data["sessions"], data["brief"]
    if brief:
        out = table(["Virtual router", "Trigger", "State"],
                    [[s["vr"], s["destination"], s["state"]] for s in rows])
    else:
        out = table(["Virtual router", "Trigger", "Target", "State", "Tunnel/Session",
                     "Interface", "Up"],
                    [[s["vr"], s["destination"], s["target"], s["state"], _tunnel_session(s),
                      s["ifname"] or "-",
                      hms(s["up_time"]) if s.get("up_time") is not None else "-"]
                     for s in rows])
        for s in rows:
            out.append("")
            out.append(f"Session {s['vr']}/{s['destination']}: {s['state']} for "
                       f"{hms(s['time_in_state'])}, next timer "
                       f"{hms(s['next_timer']) if s['next_timer'] is not None else 'none'}")
            out.append(f"  user name {s['user_name'] or '-'}")
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


#: `show l2tp statistics` error counters: (label, endpoint counter)
L2TP_ERROR_COUNTERS = (
    ("Malformed packets", "malformed"),
    ("Unknown tunnel", "unknown_tunnel"),
    ("Unknown session", "unknown_session"),
    ("Wrong source address/port", "wrong_source"),
    ("Duplicate messages", "duplicates"),
    ("Out of window", "out_of_window"),
    ("Retransmissions", "retransmits"),
    ("Tunnels refused", "tunnels_refused"),
    ("Tunnels refused by peer", "tunnels_refused_by_peer"),
    ("Tunnels timed out", "tunnels_timed_out"),
    ("Calls refused", "calls_refused"),
    ("Unknown AVPs ignored", "unknown_avp_ignored"),
    # SCCRQs refused by the destination profiles (jcli.commands.lns)
    ("SCCRQ refused: no destination profile", "sccrq_refused_unknown_peer"),
    ("SCCRQ refused: unknown remote host", "sccrq_refused_unknown_host"),
    ("SCCRQ refused: half-open limit", "sccrq_refused_half_open_total"),
    ("SCCRQ refused: half-open per source", "sccrq_refused_half_open_source"),
    ("SCCRQ refused: tunnel table full", "sccrq_refused_tunnel_limit"),
    ("Incoming calls refused: no profile", "calls_refused_no_profile"),
)


def _render_l2tp_statistics(d) -> list[str]:
    c = d["counters"]
    local = d["local_address"] or "-"
    out = ["L2TP statistics:",
           f"  Local UDP address: {local}"]
    if d["bind_error"]:
        out.append(f"    configured port not bound ({d['bind_error']})")
    out += [f"  Tunnels: {d['tunnels']} total, {d['tunnels_established']} established",
            f"  Sessions: {d['sessions']} total, {d['sessions_established']} established",
            f"  Control messages: {c.get('rx_control', 0)} received, {c.get('tx_control', 0)} sent",
            f"  Zero-length bodies: {c.get('rx_zlb', 0)} received, {c.get('tx_zlb', 0)} sent",
            f"  Data messages: {c.get('rx_data', 0)} received, {c.get('tx_data', 0)} sent",
            "  Errors:"]
    width = max(len(label) for label, _ in L2TP_ERROR_COUNTERS)
    out += [f"    {label:<{width}}  {c.get(key, 0)}" for label, key in L2TP_ERROR_COUNTERS]
    return out


@command("*", "show l2tp statistics", [SHOW, "L2TP", "Message and error counters, local port"])
def show_l2tp_statistics(ctx):
    snap = _engine(ctx).snapshot()
    l2 = snap.l2tp
    local = getattr(snap, "l2tp_local", None)
    return ShowResult({
        "local_address": f"{local[0]}:{local[1]}" if local else None,
        "bind_error": getattr(snap, "l2tp_bind_error", None),
        "tunnels": len(l2.tunnels),
        "tunnels_established": sum(1 for t in l2.tunnels if t.state == "established"),
        "sessions": len(l2.calls),
        "sessions_established": sum(1 for c in l2.calls if c.state == "established"),
        "counters": dict(l2.counters)}, _render_l2tp_statistics)


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
    snap = _engine(ctx).snapshot()
    unknown = dict(getattr(snap, "radius_unknown_sources", ()))
    rows = []
    for vr, servers in snap.radius:
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
DEBUG_KINDS = {"l2tp": "l2tp", "dial-out": "dial-out", "ppp": "ppp", "radius": "radius"}


def _debug_kind(dialout: bool, ppp: bool, radius: bool) -> str:
    return "dial-out" if dialout else ("ppp" if ppp else ("radius" if radius else "l2tp"))


@command("exec", "debug {l2tp$l2tp [dial-out$dialout] | ppp$ppp | radius$radius}",
         ["Debugging functions", "L2TP control messages", "Dial-out events", "PPP events",
          "RADIUS requests and replies (passwords masked)"])
def debug(ctx, l2tp, dialout, ppp, radius):
    kind = _debug_kind(dialout, ppp, radius)
    _engine(ctx).set_debug(kind, True)
    ctx.write(f"{kind} debugging is on")


@command("exec", "no debug {l2tp$l2tp [dial-out$dialout] | ppp$ppp | radius$radius | all$all}",
         ["Negate a command", "Debugging functions", "L2TP control messages", "Dial-out events",
          "PPP events", "RADIUS requests and replies", "Every kind"])
def no_debug(ctx, l2tp, dialout, ppp, radius, all):
    eng = _engine(ctx)
    if all:
        eng.set_debug(None, False)
        ctx.write("All debugging is off")
        return
    kind = _debug_kind(dialout, ppp, radius)
    eng.set_debug(kind, False)
    ctx.write(f"{kind} debugging is off")
