"""Operational commands of the dial-out engine: ping, show (snapshot -> lines), clear, reset,
debug.  Views are pure functions of engine snapshots; `| json` prints the same data."""
from __future__ import annotations

import ipaddress

from engine.dialout.model import DEFAULT_PPP_AUTHENTICATION
from jcli.commands.base import vr_names
from jcli.registry import CliError, command
from jcli.views import (
    ROWS,
    ShowResult,
    StreamResult,
    TableStream,
    address_text,
    pages_of,
    plain,
    prefix_text,
    table,
)

SHOW = "Show running system information"
SESSION_STATES = ("authenticating", "connecting", "inService", "inhibited", "postInhibited",
                  "dormant", "pending", "failed")


def _engine(ctx):
    if ctx.engine is None:
        raise CliError("The engine is not running")
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
    if c.get("clearing"):
        lines.append(f"  clearing sessions: {c['clearing']['done']} of "
                     f"{c['clearing']['total']} done")
    if c.get("tunnels_down"):
        lines.append(f"  ending sessions of tunnels gone down: {c['tunnels_down']['done']} of "
                     f"{c['tunnels_down']['total']} done")
    lines.append("Counters:")
    lines += _counter_lines(c["counters"])
    return lines


@command("*", "show l2tp dial-out", [SHOW, "L2TP", "Dial-out chassis state"])
def show_dialout(ctx):
    reads = _engine(ctx).reads
    data = plain(reads.chassis())
    clearing = reads.clearing()
    if clearing is not None:
        data["clearing"] = {"total": clearing.total, "done": clearing.done}
    down = reads.tunnels_down()
    if down is not None:
        data["tunnels_down"] = {"total": down.total, "done": down.done}
    return ShowResult(data, _render_chassis)


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
    rows = [plain(v) for v in _engine(ctx).reads.vrs() if name is None or v.name == name]
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
    want = ipaddress.IPv4Network(f"{prefix}/{mask}", strict=False) if prefix else None
    rows = [dict(plain(t), peer_authentication=_peer_authentication(ctx, t.vr, t.profile))
            for t in _engine(ctx).reads.targets()
            if (vr is None or t.vr == vr) and (want is None or t.prefix == want)]
    return ShowResult(rows, _render_targets)


def _tunnel_session(s: dict) -> str:
    """L2TP tunnel/session ids of the session's call: only those it holds now."""
    if s["tunnel_id"] is None:
        return "-"
    return f"{s['tunnel_id']}/{s['session_id'] if s['session_id'] is not None else '-'}"


SESSION_HEADERS = ["Virtual router", "Trigger", "Target", "State", "Tunnel/Session",
                   "Interface", "Up"]


def _session_row(s: dict) -> list:
    return [s["vr"], s["destination"], s["target"], s["state"], _tunnel_session(s),
            s["ifname"] or "-", hms(s["up_time"]) if s.get("up_time") is not None else "-"]


def _session_details(s: dict) -> list[str]:
    out = ["",
           f"Session {s['vr']}/{s['destination']}: {s['state']} for "
           f"{hms(s['time_in_state'])}, next timer "
           f"{hms(s['next_timer']) if s['next_timer'] is not None else 'none'}",
           f"  user name {s['user_name'] or '-'}",
           f"  tunnel {s['tunnel_endpoint'] or '-'} (ref {s['tunnel_ref'] or '-'})"
           f", interface {s['ifname'] or '-'}, peer {s['peer_ip'] or '-'}",
           "  access route(s) " + (", ".join(s["access_routes"]) or "none"),
           f"  triggers buffered {s['triggers_buffered']}, forwarded "
           f"{s['triggers_forwarded']}, inhibited {s['inhibit_count']} time(s)"]
    if s["failure_reason"]:
        out.append(f"  last failure: {s['failure_reason']}")
    return out


def _session_pages(rows, brief: bool):
    """The session table, then (unless brief) one block per session, page by page."""
    t = TableStream(["Virtual router", "Trigger", "State"] if brief else SESSION_HEADERS)
    n = 0
    for page in rows():
        n += len(page)
        yield t.page([[s["vr"], s["destination"], s["state"]] for s in page] if brief
                     else [_session_row(s) for s in page])
    yield t.finish()
    if not brief:
        for page in rows():
            yield [line for s in page for line in _session_details(s)]
    yield [f"{n} dial-out session{'s' if n != 1 else ''} found"]


def _render_sessions(data) -> list[str]:
    rows = data["sessions"]
    return [ln for p in _session_pages(lambda: [rows] if rows else [], data["brief"]) for ln in p]


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
    reads = _engine(ctx).reads
    if dst is not None:                         # one session: a look-up per VR
        found = [reads.session(vr, dst)] if vr is not None else reads.sessions_to(dst)
        one = [plain(s) for s in found
               if s is not None and (state is None or str(s.state.value) == state)]
        return ShowResult({"sessions": one, "brief": bool(brief)}, _render_sessions)

    def rows():
        return pages_of(plain(s) for s in reads.iter_sessions(vr, state))

    def brief_rows():                           # what one line shows, no snapshot built
        return pages_of({"vr": v, "destination": address_text(d), "state": st}
                        for v, d, st in reads.iter_session_states(vr, state))
    return StreamResult(rows=rows, render=lambda page: [],
                        text=lambda: _session_pages(brief_rows if brief else rows, bool(brief)),
                        data={"sessions": ROWS, "brief": bool(brief)})


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
    return ShowResult([plain(d) for d in _engine(ctx).reads.destinations()],
                      _render_destinations)


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


def _tunnel_rows(reads) -> list[dict]:
    rows = []
    now = reads.now()
    for t in reads.tunnels():
        d = plain(t)
        host, port = t.peer_addr
        d["peer"] = f"{host}:{port}"
        d["uptime"] = now - t.up_at if t.up_at is not None else None
        rows.append(d)
    return rows


@command("*", "show l2tp tunnel [brief$brief]", [SHOW, "L2TP", "Tunnels", "One line each"])
def show_tunnel(ctx, brief):
    return ShowResult({"tunnels": _tunnel_rows(_engine(ctx).reads), "brief": bool(brief)},
                      _render_tunnels)


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
    st = _engine(ctx).reads.l2tp_statistics()
    local = st["local"]
    return ShowResult({
        "local_address": f"{local[0]}:{local[1]}" if local else None,
        "bind_error": st["bind_error"],
        "tunnels": st["tunnels"], "tunnels_established": st["tunnels_established"],
        "sessions": st["sessions"], "sessions_established": st["sessions_established"],
        "counters": st["counters"]}, _render_l2tp_statistics)


def _l2tp_session_pages(rows, brief: bool):
    t = TableStream(["Tunnel", "Local", "Remote", "State"] if brief else
                    ["Tunnel", "Local", "Remote", "Kind", "State", "Called number", "Speed",
                     "Packets in/out"])
    n = 0
    for page in rows():
        n += len(page)
        yield t.page([[c["tunnel_id"], c["session_id"], c["peer_session_id"], c["state"]]
                      for c in page] if brief else
                     [[c["tunnel_id"], c["session_id"], c["peer_session_id"], c["kind"],
                       c["state"], c["called_number"] or "-", c["connect_speed"] or "-",
                       f"{c['rx_packets']}/{c['tx_packets']}"] for c in page])
    yield t.finish()
    yield [f"{n} session(s) found"]


def _render_l2tp_sessions(data) -> list[str]:
    rows = data["sessions"]
    return [ln for p in _l2tp_session_pages(lambda: [rows] if rows else [], data["brief"])
            for ln in p]


@command("*", "show l2tp session [brief$brief]", [SHOW, "L2TP", "Sessions (calls)",
                                                   "One line each"])
def show_l2tp_session(ctx, brief):
    reads = _engine(ctx).reads

    def rows():
        return pages_of(plain(c) for c in reads.iter_l2tp_calls())
    return StreamResult(rows=rows, render=lambda page: [],
                        text=lambda: _l2tp_session_pages(rows, bool(brief)),
                        data={"sessions": ROWS, "brief": bool(brief)})


def _ppp_block(i: dict) -> list[str]:
    p = i["ppp"]
    who = (f"subscriber {i['subscriber']}" if i.get("subscriber")
           else f"trigger {i['destination']}")
    return [f"{i['ifname']} (virtual router {i['vr']}, {who}, "
            f"L2TP {i['tunnel_id']}/{i['session_id']})",
            f"  phase {p['phase']}, LCP {p['lcp_state']}, IPCP {p['ipcp_state']}",
            f"  authentication of peer: {p['auth_peer']}; of us: {p['auth_local']}",
            f"  peer name {p['peer_name'] or '-'}, local address {p['local_ip'] or '-'}, "
            f"peer address {p['peer_ip'] or '-'}",
            f"  MRU {p['mru']} (peer {p['peer_mru']}), magic {p['magic']:#010x} "
            f"(peer {p['peer_magic']:#010x})",
            "  frames in {rx_frames}, out {tx_frames}, octets in {rx_octets}, out "
            "{tx_octets}, errors {errors}".format(**p["counters"])]


def _ppp_pages(rows, brief: bool):
    t = TableStream(["Interface", "Virtual router", "LCP", "IPCP", "Peer", "Peer address"])
    n = 0
    for page in rows():
        n += len(page)
        if brief:
            yield t.page([[i["ifname"], i["vr"], i["ppp"]["lcp_state"], i["ppp"]["ipcp_state"],
                           i["ppp"]["peer_name"] or "-", i["ppp"]["peer_ip"] or "-"]
                          for i in page])
        else:
            yield [line for i in page for line in _ppp_block(i)]
    if brief:
        yield t.finish()
    yield [f"{n} PPP interface(s) found"]


def _render_ppp(data) -> list[str]:
    rows = data["interfaces"]
    return [ln for p in _ppp_pages(lambda: [rows] if rows else [], data["brief"]) for ln in p]


@command("*", "show ppp interface [WORD$name] [brief$brief]",
         [SHOW, "PPP", "PPP interfaces", "Interface name", "One line each"])
def show_ppp(ctx, name, brief):
    reads = _engine(ctx).reads
    if name is not None:                        # one interface: a look-up per VR
        rows = [plain(i) for i in reads.ppp_interface(name)]
        return ShowResult({"interfaces": rows, "brief": bool(brief)}, _render_ppp)

    def pages():
        return pages_of(plain(i) for i in reads.iter_ppp())
    return StreamResult(rows=pages, render=lambda page: [],
                        text=lambda: _ppp_pages(pages, bool(brief)),
                        data={"interfaces": ROWS, "brief": bool(brief)})


def _route_row(r: dict) -> list:
    return [r["prefix"], r["nexthop"] or "-", r["ifname"] or "-",
            r["protocol"] if r.get("active", True) else f'{r["protocol"]} (inactive)',
            r["distance"] if r["distance"] is not None else "", r["metric"]]


def _route_pages(vr: str, rows):
    yield [f"Virtual router {vr}:"]
    t = TableStream(["Prefix", "Next hop", "Interface", "Protocol", "Distance", "Metric"])
    n = 0
    for page in rows():
        n += len(page)
        yield ["  " + ln for ln in t.page([_route_row(r) for r in page])]
    yield ["  " + ln for ln in t.finish()]
    yield [f"  {n} route(s)"]


def _render_routes(data) -> list[str]:
    return [ln for vr, routes in data
            for p in _route_pages(vr, lambda routes=routes: [routes] if routes else [])
            for ln in p]


def _route_dict(r) -> dict:
    """``plain(route)`` with the distance in effect, built directly (one per route shown)."""
    nh = r.nexthop
    return {"prefix": prefix_text(r.prefix), "protocol": r.protocol, "ifname": r.ifname,
            "nexthop": None if nh is None else str(nh), "distance": r.admin_distance,
            "metric": r.metric, "tag": r.tag, "active": r.active}


@command("*", "show ip route [virtual-router WORD$vr]",
         [SHOW, "IP", "Routing table", "Routes of one virtual router", "Virtual router name"],
         complete={"vr": vr_names})
def show_ip_route(ctx, vr):
    vr = _vr(ctx, vr)
    reads = _engine(ctx).reads
    if not reads.has_vr(vr):
        return ShowResult([], _render_routes)

    def rows():
        return pages_of(_route_dict(r) for r in reads.iter_routes(vr))
    return StreamResult(rows=rows, render=lambda page: [], text=lambda: _route_pages(vr, rows),
                        data=[[vr, ROWS]])


# ------------------------------------------------------------------------------------ clear
@command("exec", "clear l2tp dial-out session [virtual-router WORD$vr] [A.B.C.D$dst]",
         ["Reset functions", "L2TP", "Dial-out", "Tear down and delete dial-out sessions",
          "Sessions of one virtual router", "Virtual router name", "Trigger destination"],
         complete={"vr": vr_names})
def clear_dialout_session(ctx, vr, dst):
    n, done = _engine(ctx).start_clear(vr, dst)
    # a large clear goes on in the background, a slice per loop turn (`show l2tp dial-out`)
    ctx.write(f"{n} dial-out session(s) {'cleared' if done else 'clearing'}")


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


@command("exec", "clear l2tp session {all$all | <1-65535>$tunnel <1-65535>$session}",
         ["Reset functions", "L2TP", "Tear down sessions (calls)", "Every session",
          "Local tunnel id", "Local session id"])
def clear_l2tp_session(ctx, all, tunnel, session):
    n = _engine(ctx).clear_calls(None if all else tunnel, None if all else session)
    if not all and n == 0:
        raise CliError(f"Session {tunnel}/{session} does not exist")
    ctx.write(f"{n} session(s) cleared")


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
