"""Output filters after a show command: `| include RE`, `| exclude RE`, `| begin RE`,
`| count`, `| json`. Filter keywords may be abbreviated like any keyword.

Regular expressions are compiled with RE2, whose matching time is linear in the length of the
text: an expression such as `(-|-|  )+z` cannot make the router spend exponential time."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pyparsing as pp
import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

REGEX_MAX = 256          # characters of one filter expression
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 8 << 20      # bytes of automaton per expression
_RE2_OPTIONS.log_errors = False

FILTERS = {"include": True, "exclude": True, "begin": True, "count": False, "json": False}
HELP = {
    "include": "Show lines that match the regular expression",
    "exclude": "Hide lines that match the regular expression",
    "begin": "Start at the first line that matches the regular expression",
    "count": "Count the lines of output",
    "json": "Print the data as JSON",
}

FILTER_GRAMMAR = pp.Regex(r"\|\s*(?P<name>[A-Za-z]+)(?:\s+(?P<regex>.*))?\s*") + pp.StringEnd()


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class OutputFilter:
    name: str
    regex: Any = None        # a compiled RE2 expression

    def apply(self, lines: list[str]) -> list[str]:
        if self.name == "include":
            return [ln for ln in lines if self.regex.search(ln)]
        if self.name == "exclude":
            return [ln for ln in lines if not self.regex.search(ln)]
        if self.name == "begin":
            for i, ln in enumerate(lines):
                if self.regex.search(ln):
                    return lines[i:]
            return []
        if self.name == "count":
            return [f"Count: {len(lines)} lines"]
        return lines

    def stream(self, pages: Iterable[list[str]]) -> Iterator[list[str]]:
        """``apply`` page by page: the same lines, without holding the whole output
        (an empty page is still yielded, so the producer keeps its pace)."""
        if self.name == "count":
            n = 0
            for page in pages:
                n += len(page)
                yield []
            yield [f"Count: {n} lines"]
            return
        if self.name == "begin":
            started = False
            for page in pages:
                if started:
                    yield page
                    continue
                for i, line in enumerate(page):
                    if self.regex.search(line):
                        started = True
                        yield page[i:]
                        break
                else:
                    yield []
            return
        for page in pages:
            yield self.apply(page)


def parse_filter(text: str) -> OutputFilter:
    """`text` starts at the `|`."""
    try:
        res = FILTER_GRAMMAR.parse_string(text.strip(), parse_all=True)
    except pp.ParseException:
        raise FilterError("Invalid output filter") from None
    word = res["name"].lower()
    names = [n for n in FILTERS if n.startswith(word)]
    if len(names) != 1:
        raise FilterError("Ambiguous output filter" if names else "Invalid output filter")
    name = names[0]
    regex = (res.get("regex") or "").strip()
    if FILTERS[name]:
        if not regex:
            raise FilterError("Incomplete command.")
        return OutputFilter(name, compile_regex(regex))
    if regex:
        raise FilterError("Invalid output filter")
    return OutputFilter(name)


def compile_regex(text: str) -> Any:
    """A filter expression compiled with RE2, or FilterError."""
    if len(text) > REGEX_MAX:
        raise FilterError(f"Regular expression too long (at most {REGEX_MAX} characters)")
    if not text.isprintable() or not text.isascii():
        raise FilterError("Invalid regular expression: only printable ASCII is allowed")
    try:
        return re2.compile(text, options=_RE2_OPTIONS)
    except Exception as e:           # re2.error, and anything the binding raises on odd input
        msg = e.args[0] if e.args else e
        if isinstance(msg, bytes):
            msg = msg.decode("ascii", "replace")
        raise FilterError(f"Invalid regular expression: {msg}") from None
