"""Show results: handlers return data plus a pure renderer; the executor renders or prints
JSON (`| json`) and applies output filters."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tabulate as _tabulate_mod
from tabulate import tabulate


@dataclass
class ShowResult:
    data: Any                                    # JSON-serialisable (dataclasses allowed)
    render: Callable[[Any], list[str]]           # data -> lines

    def lines(self) -> list[str]:
        return list(self.render(self.data))

    def json_lines(self) -> list[str]:
        return json.dumps(self.data, indent=2, default=_json_default).splitlines()


def _json_default(o):
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Plain table with a dashed header line (cli.md style)."""
    if not rows:
        rows_s = []
    else:
        rows_s = [["" if v is None else str(v) for v in r] for r in rows]
    saved = _tabulate_mod.MIN_PADDING
    _tabulate_mod.MIN_PADDING = 0
    try:
        text = tabulate(rows_s, headers=headers, tablefmt="simple", disable_numparse=True)
    finally:
        _tabulate_mod.MIN_PADDING = saved
    return [ln.rstrip() for ln in text.splitlines()]


def lines_result(lines: list[str], data: Any = None) -> ShowResult:
    return ShowResult(data if data is not None else {"lines": lines}, lambda _d, ln=lines: ln)
