"""Show results: handlers return data plus a pure renderer; the executor renders or prints
JSON (`| json`) and applies output filters."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate
from wcwidth import wcswidth


@dataclass
class ShowResult:
    data: Any                                    # JSON-serialisable (dataclasses allowed)
    render: Callable[[Any], list[str]]           # data -> lines

    def lines(self) -> list[str]:
        return list(self.render(self.data))

    def json_lines(self) -> list[str]:
        return json.dumps(self.data, indent=2, default=_json_default).splitlines()


def _json_default(o):
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Plain table with a dashed header line (cli.md style): columns two spaces apart, each as
    wide as its widest cell or header, cells as given (no number parsing), no trailing blanks.
    The header and its dashes are laid out as the first two rows of a headerless table."""
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max([_width(h)] + [_width(r[i]) for r in cells if i < len(r)])
              for i, h in enumerate(headers)]
    text = tabulate([list(headers), ["-" * w for w in widths], *cells], tablefmt="plain",
                    disable_numparse=True)
    return [ln.rstrip() for ln in text.splitlines()]


def _width(cell: str) -> int:
    """Columns a cell takes on a terminal (its widest line, surrounding blanks dropped)."""
    return max((wcswidth(part) for part in cell.strip().splitlines()), default=0)


def lines_result(lines: list[str], data: Any = None) -> ShowResult:
    def render(_data: Any) -> list[str]:
        return lines
    return ShowResult(data if data is not None else {"lines": lines}, render)
