"""The modes table: name, parent, prompt suffix, exit target."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    parent: str | None        # mode whose commands are tried when a line fails here
    prompt: str               # suffix after host[:vr[:vrf]]
    exit_to: str | None       # None: `exit` ends the session
    config: bool = False      # part of configuration (commands change the model)


MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("user", None, ">", None),
    Mode("exec", None, "#", None),
    Mode("config", None, "(config)#", "exec", True),
    Mode("config-profile", "config", "(config-profile)#", "config", True),
    Mode("config-radius", "config", "(config-radius)#", "config", True),
    Mode("config-domain-map", "config", "(config-domain-map)#", "config", True),
    Mode("config-vrf", "config", "(config-vrf)#", "config", True),
    Mode("config-if", "config", "(config-if)#", "config", True),
    Mode("config-l2tp-dest-profile", "config", "(config-l2tp-dest-profile)#", "config", True),
    Mode("config-l2tp-dest-profile-host", "config-l2tp-dest-profile",
         "(config-l2tp-dest-profile-host)#", "config-l2tp-dest-profile", True),
)}

CONFIG_MODES = tuple(n for n, m in MODES.items() if m.config)
EXEC_MODES = ("user", "exec")
ALL_MODES = tuple(MODES)


def prompt(host: str, vr: str, vrf: str | None, mode: str) -> str:
    p = host
    if vr != "default":
        p += ":" + vr
    if vrf:
        p += ":" + vrf
    return p + MODES[mode].prompt
