"""Show results: handlers return data plus a pure renderer; the executor renders or prints
JSON (`| json`) and applies output filters."""
from __future__ import annotations

import dataclasses
import enum
import ipaddress
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
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
    return [l.rstrip() for l in text.splitlines()]


def lines_result(lines: list[str], data: Any = None) -> ShowResult:
    return ShowResult(data if data is not None else {"lines": lines}, lambda _d, l=lines: l)


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
        if self.text is not None:
            yield from self.text()
            return
        head = self.head()
        if head:
            yield head
        n = 0
        for page in self.rows():
            n += len(page)
            yield self.render(page)
        tail = self.tail(n)
        if tail:
            yield tail

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
        return "  ".join(v.ljust(w) for v, w in zip(values, self.widths, strict=False)).rstrip()

    def page(self, rows: list[list[Any]]) -> list[str]:
        rows_s = [["" if v is None else str(v) for v in r] for r in rows]
        out = []
        first = self.widths is None
        widths = self.widths or [len(h) for h in self.headers]
        for r in rows_s:
            widths = [max(w, len(v)) for w, v in zip(widths, r, strict=False)]
        self.widths = widths
        if first:
            out.append(self._line(self.headers))
            out.append(self._line(["-" * w for w in widths]))
        out += [self._line(r) for r in rows_s]
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


def prefix_text(net: ipaddress.IPv4Network) -> str:
    """``str(net)``, from its integer (three times cheaper)."""
    a = int(net.network_address)
    return f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}/{net.prefixlen}"
