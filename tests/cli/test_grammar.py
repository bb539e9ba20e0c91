from typing import Any

import pytest

from grammars.filters import FilterError, parse_filter
from grammars.matcher import AMBIGUOUS, INCOMPLETE, INVALID, OK, Position, match_line
from grammars.spec import compile_spec
from grammars.tokens import IPV4_GRAMMAR, PREFIX_GRAMMAR, RD_GRAMMAR, token_type
from jcli.registry import Registry


@pytest.mark.parametrize("word,ok", [("1.2.3.4", True), ("255.255.255.255", True),
                                     ("256.1.1.1", False), ("1.2.3", False), ("01.2.3.4", False),
                                     ("a.b.c.d", False)])
def test_ipv4(word, ok):
    assert (token_type("A.B.C.D").check(word) is not None) == ok
    try:
        IPV4_GRAMMAR.parse_string(word, parse_all=True)
        ref = True
    except Exception:
        ref = False
    assert ref == ok


@pytest.mark.parametrize("word,ok", [("255.255.0.0", True), ("0.0.0.0", True),
                                     ("255.0.255.0", False), ("255.255.255.254", True)])
def test_mask(word, ok):
    assert (token_type("MASK").check(word) is not None) == ok


@pytest.mark.parametrize("word,ok", [("10.0.0.0/8", True), ("10.0.0.0/33", False),
                                     ("10.0.0/8", False)])
def test_prefix(word, ok):
    assert (token_type("A.B.C.D/M").check(word) is not None) == ok
    if ok:
        PREFIX_GRAMMAR.parse_string(word, parse_all=True)


@pytest.mark.parametrize("word,ok", [("65000:1", True), ("10.0.0.1:7", True), ("1:", False),
                                     ("10.0.0.1:70000", False), ("x:1", False)])
def test_rd(word, ok):
    assert (token_type("RD").check(word) is not None) == ok
    if ok:
        RD_GRAMMAR.parse_string(word, parse_all=True)


def test_range():
    t = token_type("<2-7>")
    assert t.check("2") == 2 and t.check("7") == 7
    assert t.check("1") is None and t.check("8") is None and t.check("x") is None


def _reg():
    r = Registry()
    got: dict[str, Any] = {}

    def route(ctx, prefix, mask, gateway, null, distance, tag):
        got.update(prefix=prefix, mask=mask, gateway=gateway, null=null, distance=distance, tag=tag)
    r.add("config", "ip route A.B.C.D$prefix MASK$mask {A.B.C.D$gateway | null$null 0} "
          "[<1-255>$distance] [tag <0-4294967295>$tag]",
          ["ip", "route", "p", "m", "gw", "null", "0", "dist", "tag", "tagv"], route)
    r.add("config", "interface loopback <0-9>$n", ["i", "l", "n"], lambda ctx, n: None)
    r.add("config", "ip vrf WORD$name", ["ip", "vrf", "name"], lambda ctx, name: None)
    r.add("config", "hostname LINE$text", ["h", "text"], lambda ctx, text: None)
    return r, got


def test_match_typed_args():
    r, _ = _reg()
    res = match_line(r.root("config"), "ip ro 10.0.0.0 255.0.0.0 null 0 tag 5")
    assert res.status == OK
    assert res.args == {"prefix": "10.0.0.0", "mask": "255.0.0.0", "null": "null", "tag": 5}
    res = match_line(r.root("config"), "ip route 10.0.0.0 255.0.0.0 1.1.1.1 7")
    assert res.args["gateway"] == "1.1.1.1" and res.args["distance"] == 7


def test_match_outcomes():
    r, _ = _reg()
    root = r.root("config")
    assert match_line(root, "i").status == AMBIGUOUS
    assert match_line(root, "ip route 10.0.0.0").status == INCOMPLETE
    res = match_line(root, "ip route 10.0.0.0 255.0.0.0 null 1")
    assert res.status == INVALID and res.column == len("ip route 10.0.0.0 255.0.0.0 null ")
    res = match_line(root, "ip rxute")
    assert res.status == INVALID and res.column == 4
    res = match_line(root, "hostname a  b c ")
    assert res.status == OK and res.args["text"] == "a  b c"


def test_keyword_beats_word_and_exact_beats_prefix():
    r = Registry()
    r.add("exec", "show WORD$x", ["s", "x"], lambda ctx, x: None)
    r.add("exec", "show version", ["s", "v"], lambda ctx: None)
    r.add("exec", "show versions-all", ["s", "v"], lambda ctx: None)
    root = r.root("exec")
    assert match_line(root, "show version").command.text == "show version"
    assert match_line(root, "show vers").status == AMBIGUOUS
    assert match_line(root, "show foo").args == {"x": "foo"}


def test_group_arg_and_alternatives():
    spec = compile_spec("a {b|c}$which [d$flag]", ["a", "b", "c", "d"])
    assert spec.args == ["which", "flag"]
    pos = Position(spec.first)
    for n in spec.nodes:
        n.command = object()
    assert match_line(pos, "a c d").args == {"which": "c", "flag": "d"}


def test_empty_spec_rejected():
    with pytest.raises(ValueError):
        compile_spec("[a]", ["a"])


def test_filters():
    assert parse_filter("| inc a|b").apply(["a", "x", "b"]) == ["a", "b"]
    assert parse_filter("| exclude a").apply(["a", "x"]) == ["x"]
    assert parse_filter("| begin x").apply(["a", "x", "y"]) == ["x", "y"]
    assert parse_filter("| count").apply(["a", "x"]) == ["Count: 2 lines"]
    assert parse_filter("|json").name == "json"
    for bad in ("| include", "| nope", "| count x", "| include ("):
        with pytest.raises(FilterError):
            parse_filter(bad)
