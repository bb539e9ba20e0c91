"""Show commands that read the configuration model (work in every mode)."""
from __future__ import annotations

import dataclasses
import time

import jcli
from jcli.commands.config import profile_names
from jcli.config.model import RouterConfig
from jcli.config.render import render_config, render_profile
from jcli.registry import command
from jcli.views import ShowResult, table

VERSION = getattr(jcli, "__version__", "0.1.0")


def config_data(cfg: RouterConfig) -> dict:
    """The model as JSON-friendly data."""
    def vr_data(vr):
        return {
            "name": vr.name,
            "vrfs": [dataclasses.asdict(v) for v in vr.vrfs.values()],
            "loopbacks": [dataclasses.asdict(lo) for lo in vr.loopbacks.values()],
            "routes": [dataclasses.asdict(r) for r in vr.routes.values()],
            "radius_servers": [dataclasses.asdict(s) for s in vr.radius_servers],
            "aaa_ppp_default": vr.aaa_ppp_default,
            "domain_maps": [dataclasses.asdict(d) for d in vr.domain_maps.values()],
            "profiles": [dataclasses.asdict(p) for p in vr.profiles.values()],
            "targets": [dataclasses.asdict(t) for t in vr.targets.values()],
            "max_buffered_triggers": vr.max_buffered_triggers,
            "ports": [dataclasses.asdict(p) for p in vr.ports.values()],
            "radius_update_source": vr.radius_update_source,
            "l2tp_source": vr.l2tp_source,
        }
    return {
        "hostname": cfg.hostname,
        "dialout": dataclasses.asdict(cfg.dialout),
        "l2tp": dataclasses.asdict(cfg.l2tp),
        "virtual_routers": [vr_data(vr) for vr in cfg.virtual_routers.values()],
    }


PRODUCT = "jcli"
RELEASE = f"{PRODUCT}_{VERSION.replace('.', '-')}.rel"
SLOT_HEADER = ["slot state     type     admin  spare  running release    slot uptime",
               "---- ------ ---------- ------- ----- ----------------- ---------------"]


def _running_for(seconds: int) -> str:
    d, s = divmod(seconds, 86400)
    h, s = divmod(s, 3600)
    mi, s = divmod(s, 60)
    return f"{d} days, {h} hours, {mi} minutes, {s} seconds"


def _slot_uptime(seconds: int) -> str:
    d, s = divmod(seconds, 86400)
    h, s = divmod(s, 3600)
    mi, s = divmod(s, 60)
    return f"{d}d{h:02d}h:{mi:02d}m:{s:02d}s"


def render_version(d: dict) -> list[str]:
    """The JunOSe `show version` layout (automation parsers match these lines)."""
    since = time.strftime("%a %b %d %Y %H:%M:%S UTC", time.gmtime(d["started"])).upper()
    return [
        f"Juniper Edge Routing Switch {d['product']}",
        f"Copyright (c) 2024-{time.gmtime(d['started']).tm_year} {d['product']} developers.  "
        "All rights reserved.",
        f"System Release: {d['release']}",
        f"\tVersion: {d['version']} release-0.0 [BuildId 0]",
        f"System running for: {_running_for(d['uptime_seconds'])}",
        f"\t(since {since})",
        "",
        *SLOT_HEADER,
        f"{0:<4} {'online':<6} {d['product']:<10} {'enabled':<7}  ---  {d['release']:<17} "
        f"{_slot_uptime(d['uptime_seconds'])}",
    ]


@command("*", "show version", ["Show running system information", "System software version"])
def show_version(ctx):
    up = int(time.time() - ctx.started)
    data = {"product": PRODUCT, "description": "JunOSe E-series router emulator",
            "version": VERSION, "release": RELEASE, "uptime_seconds": up,
            "started": int(ctx.started), "hostname": ctx.config.hostname}
    return ShowResult(data, render_version)


def _show_config(ctx):
    cfg = ctx.config
    return ShowResult(config_data(cfg), lambda _d: render_config(cfg))


command("*", "show configuration", ["Show running system information",
                                    "Running configuration script"])(_show_config)
command("*", "show running-configuration", ["Show running system information",
                                            "Running configuration script (same as configuration)"]
        )(_show_config)


def _engine_vr_states(ctx) -> dict:
    eng = ctx.engine
    if eng is None:
        return {}
    reads = getattr(eng, "reads", None)
    if reads is not None:                     # per virtual router, no copy of the sessions
        return {v.name: str(v.state) for v in reads.vrs()}
    try:
        snap = eng.snapshot()
    except Exception:
        return {}
    states = getattr(snap, "vr_states", None)
    return dict(states) if states else {}


@command("*", "show virtual-router", ["Show running system information", "Virtual routers"])
def show_virtual_router(ctx):
    states = _engine_vr_states(ctx)
    rows = []
    for vr in ctx.config.virtual_routers.values():
        rows.append({"name": vr.name, "dialout_state": states.get(vr.name, "-"),
                     "targets": len(vr.targets), "profiles": len(vr.profiles),
                     "radius_servers": len(vr.radius_servers), "vrfs": sorted(vr.vrfs)})

    def render(d):
        out = table(["Virtual router", "Dial-out state", "Targets", "Profiles", "RADIUS", "VRFs"],
                    [[r["name"], r["dialout_state"], r["targets"], r["profiles"],
                      r["radius_servers"], ",".join(r["vrfs"])] for r in d])
        out.append(f"{len(d)} virtual router{'s' if len(d) != 1 else ''} found")
        return out
    return ShowResult(rows, render)


@command("*", "show profile [WORD$name]", ["Show running system information", "Profiles",
                                            "Profile name"], complete={"name": profile_names})
def show_profile(ctx, name):
    profiles = ctx.vr_config.profiles
    sel = [p for p in profiles.values() if name is None or p.name == name]
    data = [dataclasses.asdict(p) for p in sel]

    def render(_d):
        out = []
        for p in sel:
            out += [line for line in render_profile(p) if line != " exit"]
        if not sel:
            out.append("No profile found" if name is None else f'Profile "{name}" not found')
        return out
    return ShowResult(data, render)


@command("*", "show aaa domain-map", ["Show running system information",
                                      "Authentication, authorization and accounting",
                                      "Domain to virtual router map"])
def show_domain_map(ctx):
    data = [{"domain": d.domain, "router_name": d.router_name}
            for d in ctx.vr_config.domain_maps.values()]
    return ShowResult(data, lambda d: table(["Domain", "Virtual router"],
                                            [[x["domain"], x["router_name"] or "-"] for x in d]))
