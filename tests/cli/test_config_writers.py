"""Each configuration command declares how it is written back (`show configuration`), bound to
its declaration and to the configuration node whose model object it reads."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from jcli.config import model as m
from jcli.config.render import render_body, render_config, render_profile, setting_lines
from jcli.registry import WRITE_NODES, Registry, load_commands

REG = load_commands()
# framed by the script itself (jcli.config.render.render_body), not by a writer
FRAMED = {"virtual-router WORD$name"}
# always refused with the reason (jcli.commands.lns): nothing ever reaches the model to write
REFUSED = {"local ip address A.B.C.D$addr"}
POSITIVE = [c for c in REG.commands
            if c.kind == "config" and c.spec.nodes[0].word not in ("no", "default")
            and c.text not in FRAMED | REFUSED]


@pytest.mark.parametrize("cmd", POSITIVE, ids=[c.text for c in POSITIVE])
def test_every_configuration_command_is_written_back(cmd) -> None:
    assert REG.written(cmd), f"{cmd.text!r} has no writer: show configuration would drop it"


def _set(ctx: object, value: object) -> None:
    pass


def _enter(ctx: object, name: str) -> None:
    pass


def _registry() -> Registry:
    reg = Registry()
    reg.add("config", "hostname WORD$value", ["Host", "Name"], _set)
    reg.add("config", "profile WORD$name", ["Profile", "Name"], _enter)
    reg.add("config-profile", "ppp mru <64-65535>$value", ["PPP", "MRU", "Bytes"], _set)
    return reg


def test_writers_follow_declaration_order_and_frame_sub_modes() -> None:
    reg = _registry()

    def mru(p: m.Profile) -> Iterator[str]:
        if p.ppp_mru is not None:
            yield f"ppp mru {p.ppp_mru}"

    def enter(p: m.Profile) -> Iterator[str]:
        yield f"profile {p.name}"

    reg.add_writer("config-profile", _set, mru)        # declared after `profile`: one space in
    reg.add_writer("config-profile", _enter, enter)    # the command that enters the node: first
    p = m.Profile("dial", ppp_mru=1400)
    assert reg.write("config-profile", p) == ["profile dial", " ppp mru 1400", " exit"]
    assert reg.write("config-profile", m.Profile("bare")) == ["profile bare", " exit"]
    assert reg.write("chassis", m.RouterConfig()) == []
    assert render_profile(p, reg) == ["profile dial", " ppp mru 1400", " exit"]


def test_a_subset_keeps_the_writers_of_its_commands() -> None:
    reg = _registry()
    reg.add_writer("chassis", _set, lambda cfg: [f"hostname {cfg.hostname}"])
    assert reg.subset([__name__]).write("chassis", m.RouterConfig(hostname="r1")) == ["hostname r1"]
    assert reg.subset(["jcli.commands.base"]).write("chassis", m.RouterConfig()) == []


def test_writer_declarations_are_checked() -> None:
    reg = _registry()
    with pytest.raises(ValueError, match="unknown configuration node"):
        reg.add_writer("config-nowhere", _set, lambda obj: [])
    with pytest.raises(ValueError, match="not a declared command"):
        reg.add_writer("chassis", _registry, lambda obj: [])
    exec_reg = Registry()
    exec_reg.add("exec", "ping WORD$name", ["Ping", "Host"], _enter)
    with pytest.raises(ValueError, match="not a configuration command"):
        exec_reg.add_writer("chassis", _enter, lambda obj: [])
    assert "config" not in WRITE_NODES and {"chassis", "virtual-router", "config-profile"} <= set(WRITE_NODES)


def test_settings_are_written_only_away_from_their_default() -> None:
    assert setting_lines("l2tp hello-interval", m.HELLO_INTERVAL, m.HELLO_INTERVAL) == []
    assert setting_lines("l2tp hello-interval", 0, m.HELLO_INTERVAL) == ["l2tp hello-interval 0"]
    assert setting_lines("l2tp checksum", False, False) == []
    assert setting_lines("l2tp checksum", True, False) == ["l2tp checksum"]
    assert setting_lines("key", None, None) == []
    cfg = m.RouterConfig()
    assert render_body(cfg) == ["hostname " + cfg.hostname]
    cfg.l2tp.hello_interval, cfg.l2tp.checksum = m.HELLO_INTERVAL + 1, True
    cfg.virtual_routers["default"].max_buffered_triggers = m.MAX_BUFFERED_TRIGGERS + 1
    body = render_config(cfg, now=0)[1:-1]
    assert body == ["hostname " + cfg.hostname, f"l2tp hello-interval {m.HELLO_INTERVAL + 1}",
                    "l2tp checksum", f"l2tp dial-out max-buffered-triggers {m.MAX_BUFFERED_TRIGGERS + 1}"]
