"""Show results: handlers return data plus a pure renderer; the executor renders or prints
JSON (`| json`) and applies output filters."""
from __future__ import annotations

import dataclasses
import enum
import ipaddress
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
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


#: rows rendered per page of a streamed show (the event loop runs between pages)
PAGE_ROWS = 64

_MARK = "\x00rows\x00"
_MARK_JSON = json.dumps(_MARK)


class Rows:
    """Where a streamed list goes in a show's JSON (see ``StreamResult``)."""


ROWS = Rows()


def _plain_marker(o: Any) -> Any:
    if isinstance(o, Rows):
        return _MARK
    return _json_default(o)


def pages_of(items: Iterable[Any], size: int = PAGE_ROWS) -> Iterator[list[Any]]:
    """``items`` in lists of ``size``, lazily."""
    it = iter(items)
    while True:
        page = list(itertools.islice(it, size))
        if not page:
            return
        yield page


@dataclass
class StreamResult:
    """A show whose rows are produced lazily, a page at a time: ``rows()`` yields pages of
    JSON-friendly rows, ``render(page)`` turns one page into lines, ``head``/``tail`` frame
    them (``tail`` learns the row count).  ``| json`` prints exactly what ``json.dumps(...,
    indent=2)`` prints for ``data`` with the marker ``ROWS`` replaced by the list of rows,
    streamed too.  Nothing holds the whole output."""
    rows: Callable[[], Iterable[list[Any]]]
    render: Callable[[list[Any]], list[str]]
    head: Callable[[], list[str]] = lambda: []
    tail: Callable[[int], list[str]] = lambda n: []
    data: Any = ROWS
    # the text pages, when they are more than head + rendered pages + tail
    text: Callable[[], Iterator[list[str]]] | None = None

    def pages(self) -> Iterator[list[str]]:
        """The text pages, escaped as ``ShowResult.lines`` escapes them."""
        if self.text is not None:
            for text in self.text():
                yield [safe_line(line) for line in text]
            return
        head = self.head()
        if head:
            yield [safe_line(line) for line in head]
        n = 0
        for page in self.rows():
            n += len(page)
            yield [safe_line(line) for line in self.render(safe_data(page))]
        tail = self.tail(n)
        if tail:
            yield [safe_line(line) for line in tail]

    def json_pages(self) -> Iterator[list[str]]:
        text = json.dumps(self.data, indent=2, default=_plain_marker)
        before, _, after = text.partition(_MARK_JSON)
        head = before.split("\n")
        indent = len(head[-1]) - len(head[-1].lstrip(" "))
        prefix, pad = head.pop(), " " * (indent + 2)
        if head:
            yield head
        first = True
        pending: list[str] = []
        for page in self.rows():
            out: list[str] = []
            for row in page:
                lines = json.dumps(row, indent=2, default=_json_default).split("\n")
                if first:
                    out.append(prefix + "[")
                    first = False
                elif pending:
                    pending[-1] += ","
                out += pending
                pending = [pad + ln for ln in lines]
            if out:
                yield out
        rest = after.split("\n")
        if first:
            close = [prefix + "[]" + rest[0]]
        else:
            close = pending + [" " * indent + "]" + rest[0]]
        yield close + rest[1:]

    def lines(self) -> list[str]:
        return [ln for p in self.pages() for ln in p]

    def json_lines(self) -> list[str]:
        return [ln for p in self.json_pages() for ln in p]


class TableStream:
    """``table`` a page at a time: the same layout as ``table`` for output that fits one page;
    later pages keep the columns of the first (widened, never narrowed, by longer values)."""

    def __init__(self, headers: list[str]) -> None:
        self.headers = headers
        self.widths: list[int] | None = None

    def _line(self, values: list[str]) -> str:
        assert self.widths is not None
        return "  ".join(map(str.ljust, values, self.widths)).rstrip()

    def page(self, rows: list[list[Any]]) -> list[str]:
        rows_s = [[v if type(v) is str else "" if v is None else str(v) for v in r]
                  for r in rows]
        out = []
        first = self.widths is None
        widths = self.widths or [len(h) for h in self.headers]
        n = len(widths)
        if rows_s and all(len(r) == n for r in rows_s):     # column by column
            widths = [max(w, *map(len, col)) for w, col in
                      zip(widths, zip(*rows_s, strict=True), strict=True)]
        else:
            for r in rows_s:
                widths = [max(w, len(v)) for w, v in zip(widths, r, strict=False)]
        self.widths = widths
        if first:
            out.append(self._line(self.headers))
            out.append(self._line(["-" * w for w in widths]))
        line = self._line
        out += [line(r) for r in rows_s]
        return out

    def finish(self) -> list[str]:
        """The header alone when no row came."""
        return self.page([]) if self.widths is None else []


_PRIMITIVE = frozenset({str, int, float, bool, type(None)})
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv4Network, ipaddress.IPv4Interface)
_FIELDS: dict[type, tuple[str, ...]] = {}     # dataclass -> its field names, looked up once


def plain(obj: Any) -> Any:
    """Snapshot dataclasses -> JSON-friendly data (enums by value, addresses as text)."""
    t = type(obj)
    if t in _PRIMITIVE:
        return obj
    names = _FIELDS.get(t)
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELDS[t] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {n: plain(getattr(obj, n)) for n in names}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, _IP_TYPES):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


def address_text(addr: ipaddress.IPv4Address) -> str:
    """``str(addr)``, from its integer."""
    a = int(addr)
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def prefix_text(net: ipaddress.IPv4Network) -> str:
    """``str(net)``, from its integer (three times cheaper)."""
    a = int(net.network_address)
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}/{net.prefixlen}"
