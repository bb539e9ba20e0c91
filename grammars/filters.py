"""Output filters after a show command: `| include RE`, `| exclude RE`, `| begin RE`,
`| count`, `| json`. Filter keywords may be abbreviated like any keyword."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyparsing as pp

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
    regex: re.Pattern | None = None

    def apply(self, lines: list[str]) -> list[str]:
        if self.name == "include":
            return [l for l in lines if self.regex.search(l)]
        if self.name == "exclude":
            return [l for l in lines if not self.regex.search(l)]
        if self.name == "begin":
            for i, l in enumerate(lines):
                if self.regex.search(l):
                    return lines[i:]
            return []
        if self.name == "count":
            return [f"Count: {len(lines)} lines"]
        return lines


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
        try:
            return OutputFilter(name, re.compile(regex))
        except re.error as e:
            raise FilterError(f"Invalid regular expression: {e}") from None
    if regex:
        raise FilterError("Invalid output filter")
    return OutputFilter(name)
