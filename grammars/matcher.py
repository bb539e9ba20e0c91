"""Match an input line against compiled spec graphs (plain Python, no pyparsing on this path).

One matcher result kind per outcome, like FRR's command_match: OK, INCOMPLETE, AMBIGUOUS,
INVALID (with the failing word and the caret column). The set of nodes possible at a position
is indexed once (`Position`) and cached by the tuple of nodes that lead to it, so a line costs
one dict lookup per keyword.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from grammars.spec import Node

OK, INCOMPLETE, AMBIGUOUS, INVALID = "ok", "incomplete", "ambiguous", "invalid"


class Position:
    """The candidate nodes at one word position."""
    __slots__ = ("nodes", "exact", "keywords", "specific", "generic", "ends")

    def __init__(self, nodes: Iterable[Node], ends: bool = False):
        self.nodes = list(nodes)
        self.exact: dict[str, list[Node]] = {}
        for n in self.nodes:
            if n.word is not None:
                self.exact.setdefault(n.word, []).append(n)
        self.keywords = sorted(self.exact)
        self.specific = [n for n in self.nodes if n.word is None and not n.value_type.generic]
        self.generic = [n for n in self.nodes if n.word is None and n.value_type.generic]
        self.ends = ends          # the line may end before this position

    def keyword_prefix(self, word: str) -> list[str]:
        kws = self.keywords
        i = bisect_left(kws, word)
        out = []
        while i < len(kws) and kws[i].startswith(word):
            out.append(kws[i])
            i += 1
        return out

    def match(self, word: str):
        """-> (status, nodes): status OK / AMBIGUOUS / INVALID. Keywords match in any case;
        every value is checked by its type (a WORD takes printable ASCII only)."""
        nodes = self.exact.get(word)
        if nodes is not None:
            return OK, nodes
        key = word.lower() if word.isascii() else word
        if key is not word:
            nodes = self.exact.get(key)
            if nodes is not None:
                return OK, nodes
        kws = self.keyword_prefix(key)
        if len(kws) == 1:
            return OK, self.exact[kws[0]]
        if len(kws) > 1:
            return AMBIGUOUS, [n for k in kws for n in self.exact[k]]
        out = [n for n in self.specific if n.value_type.check(word) is not None]
        if out:
            return OK, out
        out = [n for n in self.generic if n.value_type.check(word) is not None]
        if out:
            return OK, out
        return INVALID, []

    def bad_column(self, word: str) -> int:
        """Offset inside `word` of the first character no candidate accepts."""
        best = 0
        word = word.lower() if word.isascii() else word
        for k in self.keywords:
            i = 0
            while i < len(word) and i < len(k) and word[i] == k[i]:
                i += 1
            best = max(best, i)
        return best if best < len(word) else 0


_successors: dict[tuple, Position] = {}


def successor(nodes: list[Node]) -> Position:
    key = tuple(nodes)
    pos = _successors.get(key)
    if pos is None:
        seen: dict[int, Node] = {}
        for n in nodes:
            for m in n.next:
                seen.setdefault(id(m), m)
        if len(_successors) > 50000:
            _successors.clear()
        pos = _successors[key] = Position(seen.values(), ends=any(n.ends for n in nodes))
    return pos


@dataclass
class MatchResult:
    status: str
    command: Any = None
    args: dict[str, Any] = field(default_factory=dict)
    word_index: int = 0          # failing word (INVALID / AMBIGUOUS)
    column: int = 0              # caret column in the original line (INVALID)
    candidates: list[str] = field(default_factory=list)


def word_starts(line: str) -> list[int]:
    out, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i < n:
            out.append(i)
        while i < n and not line[i].isspace():
            i += 1
    return out


def match_line(root: Position, line: str, words: list[str] | None = None) -> MatchResult:
    if words is None:
        words = line.split()
    pos = root
    steps: list[list[Node]] = []
    rest_at = -1
    for i, w in enumerate(words):
        status, nodes = pos.match(w)
        if status is not OK:
            if status is AMBIGUOUS:
                return MatchResult(AMBIGUOUS, word_index=i,
                                   candidates=sorted({n.word for n in nodes}))
            col = word_starts(line)[i] + pos.bad_column(w)
            return MatchResult(INVALID, word_index=i, column=col)
        steps.append(nodes)
        if nodes[0].type is not None and nodes[0].type.rest_of_line:
            rest_at = i
            break
        pos = successor(nodes)
    if not steps:
        return MatchResult(INCOMPLETE)
    last = steps[-1]
    end = None
    for n in last:
        if n.ends:
            end = n
            break
    if end is None:
        return MatchResult(INCOMPLETE, word_index=len(words))
    chain = [end]
    for i in range(len(steps) - 2, -1, -1):
        nxt = chain[-1]
        for n in steps[i]:
            if nxt in n.next:
                chain.append(n)
                break
    chain.reverse()
    args: dict[str, Any] = {}
    for n, w in zip(chain, words, strict=False):  # a rest-of-line argument ends the chain early
        if n.arg is not None:
            if n.word is not None:
                args[n.arg] = n.word
            elif n is chain[-1] and rest_at >= 0:
                rest = n.value_type.check(line.split(None, rest_at)[-1].rstrip())
                if rest is None:
                    return MatchResult(INVALID, word_index=rest_at,
                                       column=word_starts(line)[rest_at])
                args[n.arg] = rest
            else:
                args[n.arg] = n.value_type.check(w)
    return MatchResult(OK, command=end.command, args=args)


class Choice(tuple):
    """(token, help, kind): kind is "keyword", "value" (a type such as <1-255>),
    "completion" (a value offered by a completer) or "cr"."""
    __slots__ = ()

    token = property(lambda self: self[0])
    help = property(lambda self: self[1])
    kind = property(lambda self: self[2])


def describe(root: Position, line: str, ctx: Any = None,
             completer_of: Callable[[Node], Callable | None] | None = None):
    """What may come at the end of `line` (`?`). Returns (choices, error MatchResult|None).

    With a trailing space (or an empty line) the next tokens are listed; otherwise the
    candidates completing the last, partial word."""
    words = line.split()
    partial = ""
    if line and not line[-1].isspace():
        partial = words.pop()
    pos = root
    for i, w in enumerate(words):
        status, nodes = pos.match(w)
        if status is not OK:
            if status is AMBIGUOUS:
                return [], MatchResult(AMBIGUOUS, word_index=i,
                                       candidates=sorted({n.word for n in nodes}))
            return [], MatchResult(INVALID, word_index=i,
                                   column=word_starts(line)[i] + pos.bad_column(w))
        if nodes[0].type is not None and nodes[0].type.rest_of_line:
            return [], None
        pos = successor(nodes)
    choices: list = []
    seen: set[str] = set()
    lpartial = partial.lower() if partial.isascii() else partial
    for kw in (pos.keyword_prefix(lpartial) if partial else pos.keywords):
        choices.append(Choice((kw, pos.exact[kw][0].help, "keyword")))
        seen.add(kw)
    values: list = []
    for n in pos.specific + pos.generic:
        comp = completer_of(n) if completer_of is not None else None
        if not partial and n.value_type.display not in seen:
            seen.add(n.value_type.display)
            choices.append(Choice((n.value_type.display, n.help, "value")))
        if comp is not None:
            h = n.help
            vals = prefixed(comp(ctx), partial)
            if values or seen.intersection(vals):
                vals = [v for v in vals if v not in seen]
                seen.update(vals)
            values += [Choice((v, h, "completion")) for v in vals]
    choices += values
    if partial and not choices:
        # `?` in the middle of a value: the help of the values it may still become
        for n in pos.specific + pos.generic:
            if n.value_type.display not in seen and n.value_type.could_be(partial):
                seen.add(n.value_type.display)
                choices.append(Choice((n.value_type.display, n.help, "value")))
    if not partial and pos.ends:
        choices.append(Choice(("<cr>", "", "cr")))
    return choices, None


def prefixed(values, prefix: str) -> list[str]:
    """Values starting with prefix; `values` may be a sorted list (fast path)."""
    if not isinstance(values, list):
        values = sorted(values)
    if not prefix:
        return values
    i = bisect_left(values, prefix)
    j = i
    n = len(values)
    while j < n and values[j].startswith(prefix):
        j += 1
    return values[i:j]
