"""The engine finds a virtual router's configuration by name, from the configuration applied."""
from __future__ import annotations

import dataclasses

from engine.aio.config import EngineConfig, VirtualRouterConfig
from engine.aio.engine import Engine


def test_vr_config_by_name_follows_the_applied_configuration():
    e = Engine(output=lambda line: None)
    empty = e.vr_config("home")
    assert empty == VirtualRouterConfig("home")
    assert e.vr_config("home") is empty           # one empty configuration, not one per call
    home = VirtualRouterConfig("home", domain_map=(("example.net", "lns"),))
    e.config = dataclasses.replace(e.config, vrs=(home, VirtualRouterConfig("lns")))
    assert e.vr_config("home") is home
    assert e.auth_vr_for_domain("home", "EXAMPLE.net") == "lns"
    e.config = EngineConfig()
    assert e.vr_config("home") == VirtualRouterConfig("home")
    assert e.auth_vr_for_domain("home", "example.net") == "home"
