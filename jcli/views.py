"""Show results: handlers return data plus a pure renderer; the executor renders or prints
JSON (`| json`) and applies output filters."""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate
from wcwidth import wcswidth


def safe_text(text: object) -> str:
    """``text`` fit for a terminal: every non-printable character (C0/C1 controls, DEL, ESC,
    newlines, tabs, bidirectional and other format characters) becomes ``\\xNN`` (or
    ``\\uNNNN``), so that bytes a peer chose (an L2TP Host Name, an LCP Terminate text, a
    RADIUS Reply-Message, a user name) can neither move the cursor, recolour the terminal nor
    fake further output lines."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else _escape_char(c) for c in s)


def safe_line(line: object) -> str:
    """One output line: as ``safe_text`` but a tab of the layout itself (``show version``)
    stays a tab."""
    s = line if isinstance(line, str) else str(line)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() or c == "\t" else _escape_char(c) for c in s)


def _escape_char(c: str) -> str:
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


class SafeFormatter(logging.Formatter):
    """Log records as terminal-safe single lines (they may quote what a peer sent)."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(super().format(record))


def safe_data(data: Any) -> Any:
    """A copy of show data with every string passed through ``safe_text`` (dict keys too)."""
    if isinstance(data, str):
        return safe_text(data)
    if isinstance(data, dict):
        return {safe_data(k): safe_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [safe_data(v) for v in data]
    if isinstance(data, tuple):
        items = [safe_data(v) for v in data]
        return type(data)(*items) if hasattr(data, "_fields") else tuple(items)
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        changes = {f.name: safe_data(getattr(data, f.name))
                   for f in dataclasses.fields(data) if f.init}
        try:
            return dataclasses.replace(data, **changes)
        except (TypeError, ValueError):
            return data
    return data


@dataclass
class ShowResult:
    data: Any                                    # JSON-serialisable (dataclasses allowed)
    render: Callable[[Any], list[str]]           # data -> lines

    def lines(self) -> list[str]:
        """The rendered lines, escaped: the renderer sees the data with every string made
        safe, and any line it builds from elsewhere is made safe again."""
        return [safe_line(line) for line in self.render(safe_data(self.data))]

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
