"""Declaration integrity: one help line per token, known modes, handler signatures."""
import inspect

import pytest

from grammars.spec import compile_spec
from jcli.modes import MODES
from jcli.registry import Registry, load_commands

REG = load_commands()


def test_commands_declared():
    assert len(REG.commands) > 80


@pytest.mark.parametrize("cmd", REG.commands, ids=[c.text for c in REG.commands])
def test_declaration(cmd):
    assert len(cmd.spec.nodes) == len([n for n in cmd.spec.nodes if n.help]), cmd.text
    assert all(m in MODES for m in cmd.modes)
    params = list(inspect.signature(cmd.handler).parameters)
    assert params[0] == "ctx"
    assert set(params[1:]) == set(cmd.spec.args)
    assert cmd.kind in ("config", "show", "exec", "nav")
    for n in cmd.spec.nodes:
        assert n.command is cmd


def test_no_duplicate_specs_in_a_mode():
    seen = set()
    for c in REG.commands:
        for m in c.modes:
            key = (m, c.text)
            assert key not in seen, key
            seen.add(key)


def test_help_count_mismatch_rejected():
    with pytest.raises(ValueError):
        compile_spec("ip route A.B.C.D", ["a", "b"])


def test_bad_mode_rejected():
    with pytest.raises(ValueError):
        Registry().add("nowhere", "x", ["x"], lambda ctx: None)


def test_handler_signature_checked():
    with pytest.raises(ValueError):
        Registry().add("exec", "x WORD$name", ["x", "name"], lambda ctx, other: None)


def test_every_mode_has_exit_and_show():
    for mode in MODES:
        root = REG.root(mode)
        assert "exit" in root.exact and "show" in root.exact, mode


def test_modes_table_consistent():
    for m in MODES.values():
        assert m.parent is None or m.parent in MODES
        assert m.exit_to is None or m.exit_to in MODES
