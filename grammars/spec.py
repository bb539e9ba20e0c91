"""The spec-string language.

    ip route A.B.C.D$prefix MASK$mask {A.B.C.D$gateway | null$null 0} [<1-255>$distance] [tag <0-4294967295>$tag]

* a lowercase word is a keyword (abbreviable), an uppercase word or `<lo-hi>` is a value
  (see grammars.tokens); `$name` names the handler argument that receives the token's value
  (a keyword's value is the keyword itself);
* `{a | b}` chooses exactly one alternative, `[a | b]` at most one; groups nest;
  `{a | b}$name` names every unnamed token inside the group.

A spec is parsed once with pyparsing and compiled (Glushkov construction, no empty moves) into
a small graph of `Node`s: each node is one token position, `next` lists the positions that may
follow, `ends` tells whether the command may end after it. The matcher walks these graphs with
plain Python.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyparsing as pp

from grammars.tokens import TokenType, is_type_token, token_type

_name = pp.Regex(r"[a-z_][a-z0-9_]*")
_word = pp.Regex(r"<\d+-\d+>|[A-Za-z0-9][A-Za-z0-9.:/_-]*")
_atom = pp.Group(_word("text") + pp.Optional(pp.Suppress("$") + _name("arg")))("atom")
_seq = pp.Forward()
_alts = pp.Group(_seq + pp.ZeroOrMore(pp.Suppress("|") + _seq))
_group_arg = pp.Optional(pp.Suppress("$") + _name("arg"))
_req = pp.Group(pp.Suppress("{") + _alts + pp.Suppress("}") + _group_arg)("req")
_opt = pp.Group(pp.Suppress("[") + _alts + pp.Suppress("]") + _group_arg)("opt")
_seq <<= pp.Group(pp.OneOrMore(_atom | _req | _opt))
SPEC_GRAMMAR = _seq + pp.StringEnd()


class Node:
    __slots__ = ("word", "type", "arg", "help", "next", "ends", "command", "index")

    def __init__(self, word: str | None, type_: TokenType | None, arg: str | None, index: int):
        self.word = word          # keyword text, or None for a value token
        self.type = type_         # TokenType for a value token
        self.arg = arg
        self.help = ""
        self.next: list[Node] = []
        self.ends = False
        self.command: Any = None  # the registry's command this token belongs to
        self.index = index        # position in the spec (help line number)

    @property
    def value_type(self) -> TokenType:
        """The type of a value token (a keyword node has none)."""
        if self.type is None:
            raise TypeError(f"keyword {self.word!r} has no value type")
        return self.type

    @property
    def display(self) -> str:
        return self.word if self.word is not None else self.value_type.display

    def __repr__(self):
        return f"Node({self.display}${self.arg})"


@dataclass
class CompiledSpec:
    text: str
    nodes: list[Node]          # in spec order, one per token
    first: list[Node]
    args: list[str]            # argument names, unique, in order of first appearance


def _compile(item, nodes: list[Node]):
    """Return (first, last, nullable) for a parse-tree item."""
    name = item.get_name()
    if name == "atom":
        text = item["text"]
        arg = item.get("arg")
        if is_type_token(text) or text[0].isupper():
            node = Node(None, token_type(text), arg, len(nodes))
        else:
            node = Node(text, None, arg, len(nodes))
        nodes.append(node)
        return [node], [node], False
    if name in ("req", "opt"):
        first: list[Node] = []
        last: list[Node] = []
        nullable = name == "opt"
        start = len(nodes)
        for seq in item[0]:
            f, ln, n = _compile_seq(seq, nodes)
            first += f
            last += ln
            nullable = nullable or n
        group_arg = item.get("arg")
        if group_arg:
            for node in nodes[start:]:
                if node.arg is None:
                    node.arg = group_arg
        return first, last, nullable
    return _compile_seq(item, nodes)


def _compile_seq(seq, nodes: list[Node]):
    first: list[Node] = []
    last: list[Node] = []
    nullable = True
    for item in seq:
        f, ln, n = _compile(item, nodes)
        for a in last:
            for b in f:
                if b not in a.next:
                    a.next.append(b)
        if nullable:
            first = first + f
        last = (last + ln) if n else ln
        nullable = nullable and n
    return first, last, nullable


def compile_spec(text: str, helps: list[str] | tuple[str, ...] | None = None) -> CompiledSpec:
    tree = SPEC_GRAMMAR.parse_string(text, parse_all=True)
    nodes: list[Node] = []
    first, last, nullable = _compile_seq(tree[0], nodes)
    if nullable:
        raise ValueError(f"spec may be empty: {text!r}")
    for n in last:
        n.ends = True
    if helps is not None:
        if len(helps) != len(nodes):
            raise ValueError(f"{text!r}: {len(nodes)} tokens but {len(helps)} help lines")
        for n, h in zip(nodes, helps, strict=True):
            n.help = h
    args: list[str] = []
    for n in nodes:
        if n.arg and n.arg not in args:
            args.append(n.arg)
    return CompiledSpec(text, nodes, first, args)
