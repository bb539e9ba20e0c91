"""Render the configuration model as a replayable script (`show configuration`).

Each configuration command says how it is written back, next to its declaration
(`jcli.registry.renders`); this module only frames the script: the header, the router-wide
node, the default virtual router, then every other virtual router inside its
`virtual-router NAME` context, and the footer.
"""
from __future__ import annotations

import operator
import time
from collections.abc import Callable, Iterable
from typing import Any

from jcli.config import model as m
from jcli.config.model import RouterConfig
from jcli.registry import Registry, load_commands

HEADER = "! Configuration script being generated on "
FOOTER = "! end of configuration script"


def header_line(now: float | None = None) -> str:
    t = time.gmtime(now)
    return HEADER + time.strftime("%a %b %d %Y %H:%M:%S UTC", t).upper()


def setting_lines(words: str, value: Any, default: Any) -> list[str]:
    """A setting that differs from its default: `WORDS VALUE`, or `WORDS` for a flag that is on."""
    if value == default:
        return []
    if isinstance(value, bool):
        return [words] if value else []
    return [f"{words} {value}"]


def setting_writer(words: str, attr: str, default: Any,
                   held_in: Callable[[Any], Any] | None = None) -> Callable[[Any], Iterable[str]]:
    """The writer of a setting kept in `attr` of the node's model object (or of
    `held_in(model object)`)."""
    get: Callable[[Any], Any] = operator.attrgetter(attr)
    if held_in is not None:
        part = held_in

        def get_in(obj: Any) -> Any:
            return getattr(part(obj), attr)
        get = get_in

    def write(obj: Any) -> Iterable[str]:
        value = get(obj)
        return () if value == default else setting_lines(words, value, default)
    return write


def render_profile(p: m.Profile, registry: Registry | None = None) -> list[str]:
    return (registry or load_commands()).write("config-profile", p)


def render_radius(s: m.RadiusServer, registry: Registry | None = None) -> list[str]:
    return (registry or load_commands()).write("config-radius", s)


def render_body(cfg: RouterConfig, registry: Registry | None = None) -> list[str]:
    reg = registry or load_commands()
    out = reg.write("chassis", cfg)
    out += reg.write("virtual-router", cfg.virtual_routers["default"])
    others = [vr for name, vr in cfg.virtual_routers.items() if name != "default"]
    for vr in others:
        out.append("!")
        out.append(f"virtual-router {vr.name}")
        out += [" " + line for line in reg.write("virtual-router", vr)]
    if others:
        out.append("!")
        out.append("virtual-router default")
    return out


def render_config(cfg: RouterConfig, now: float | None = None,
                  registry: Registry | None = None) -> list[str]:
    return [header_line(now), *render_body(cfg, registry), FOOTER]
