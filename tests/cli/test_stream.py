"""Streamed show output: JSON, filters and the --More-- pager work a page at a time and give
the same text as the one-shot forms."""
from __future__ import annotations

import ipaddress
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

import jcli.app as app_mod
from grammars.filters import parse_filter
from jcli.context import Context, ListOutput
from jcli.executor import Executor
from jcli.views import ROWS, StreamResult, TableStream, address_text, pages_of, table


def _fill(data: Any, rows: list[Any]) -> Any:
    if data is ROWS:
        return rows
    if isinstance(data, dict):
        return {k: _fill(v, rows) for k, v in data.items()}
    if isinstance(data, list):
        return [_fill(v, rows) for v in data]
    return data


@pytest.mark.parametrize("data", [ROWS, {"sessions": ROWS, "brief": True},
                                  [["home", ROWS]], {"a": 1, "rows": ROWS, "z": [1, 2]}])
@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_streamed_json_is_what_json_dumps_prints(data: Any, n: int):
    rows = [{"i": i, "nested": {"x": [i, None, "s"]}} for i in range(n)]
    r = StreamResult(rows=lambda: pages_of(rows, 3), render=lambda p: [], data=data)
    assert r.json_lines() == json.dumps(_fill(data, rows), indent=2).splitlines()
    assert all(len(p) <= 3 * 10 + 2 for p in r.json_pages())       # page-sized pieces


def test_table_stream_is_table_for_one_page():
    rng = random.Random(7)
    for _ in range(300):
        cols = rng.randint(1, 6)
        headers = [f"H{'x' * rng.randint(0, 8)}" for _ in range(cols)]
        rows: list[list[Any]] = [
            ["k", *(rng.choice([None, "", "a b" * rng.randint(0, 5), rng.randint(0, 9999)])
                    for _ in range(cols - 1))] for _ in range(rng.randint(0, 6))]
        t = TableStream(headers)
        assert t.page(rows) + t.finish() == table(headers, rows)


def _ref_line(values: list[str], widths: list[int]) -> str:
    return "  ".join(v.ljust(n) for v, n in zip(values, widths, strict=False)).rstrip()


def reference_pages(headers: list[str], pages: list[list[list[Any]]]) -> list[str]:
    """TableStream's layout, written out plainly: widths grow row by row (a shorter row keeps
    only its own columns' widths), every line is its cells left-justified, two spaces apart."""
    widths: list[int] | None = None
    out: list[str] = []
    for rows in pages:
        cells = [["" if v is None else str(v) for v in r] for r in rows]
        first = widths is None
        w = widths or [len(h) for h in headers]
        for r in cells:
            w = [max(a, len(v)) for a, v in zip(w, r, strict=False)]
        widths = w

        if first:
            out += [_ref_line(headers, w), _ref_line(["-" * n for n in w], w)]
        out += [_ref_line(r, w) for r in cells]
    return out


def test_table_stream_pages_ragged_rows_and_values():
    rng = random.Random(11)
    for _ in range(300):
        cols = rng.randint(1, 5)
        headers = [f"H{'x' * rng.randint(0, 6)}" for _ in range(cols)]
        pages = [[[rng.choice([None, "", "ab" * rng.randint(0, 6), rng.randint(0, 99999),
                               ipaddress.IPv4Address(rng.getrandbits(32))])
                   for _ in range(cols if rng.random() < 0.8 else rng.randint(0, cols))]
                  for _ in range(rng.randint(1, 5))] for _ in range(rng.randint(1, 4))]
        t = TableStream(headers)
        assert [ln for p in pages for ln in t.page(p)] == reference_pages(headers, pages)


def test_address_text_is_str():
    rng = random.Random(3)
    for a in [0, 1, 0xFFFFFFFF, 0x0A0A0101, *(rng.getrandbits(32) for _ in range(1000))]:
        addr = ipaddress.IPv4Address(a)
        assert address_text(addr) == str(addr)


@pytest.mark.parametrize("text", ["| include 1", "| exclude 1", "| begin 5", "| count",
                                  "| begin nothing", "| include ^$"])
def test_filters_stream_like_they_apply(text: str):
    lines = [str(i) for i in range(100)] + [""]
    flt = parse_filter(text)
    pages = [lines[i:i + 7] for i in range(0, len(lines), 7)]
    assert [ln for p in flt.stream(iter(pages)) for ln in p] == flt.apply(lines)


async def test_executor_holds_no_page_it_has_not_handed_over():
    """The producer is pulled one page at a time, interleaved with the output."""
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    events: list[str] = []

    def rows():
        for i in range(4):
            events.append(f"made {i}")
            yield [i]

    class Out(ListOutput):
        def show(self, lines: list[str]) -> None:
            events.append(f"shown {lines}")
            super().show(lines)
    ctx.output = Out()
    r = StreamResult(rows=rows, render=lambda p: [f"row {x}" for x in p])
    cmd = type("Cmd", (), {"kind": "show", "text": "t"})()
    assert await ex._stream(cmd, r, None) is True
    assert events == ["made 0", "shown ['row 0']", "made 1", "shown ['row 1']",
                      "made 2", "shown ['row 2']", "made 3", "shown ['row 3']"]


async def test_pager_pulls_only_the_pages_it_shows(monkeypatch: pytest.MonkeyPatch):
    keys = iter([" ", "q"])

    async def fake_key() -> str:
        return next(keys)
    monkeypatch.setattr(app_mod, "_more_key", fake_key)
    out = ListOutput()
    ctx = Context(output=out, interactive=True)
    shell = app_mod.Shell(ctx, Executor(ctx))
    ctx.terminal_length = 11
    pulled = []

    async def pages() -> AsyncIterator[list[str]]:
        for i in range(1000):
            pulled.append(i)
            yield [f"{i}.{j}" for j in range(4)]
    await shell.page(["head"], pages())
    # 10 lines, space -> 10 more, q: 20 lines shown, at most 6 pages of 4 pulled
    assert out.lines == ["head"] + [f"{i}.{j}" for i in range(5) for j in range(4)][:19]
    assert len(pulled) <= 6


async def test_pager_without_a_terminal_length_shows_everything():
    out = ListOutput()
    ctx = Context(output=out, interactive=True)
    shell = app_mod.Shell(ctx, Executor(ctx))
    ctx.terminal_length = 0

    async def pages() -> AsyncIterator[list[str]]:
        for i in range(300):
            yield [str(i)]
    await shell.page(["a"], pages())
    assert out.lines == ["a"] + [str(i) for i in range(300)]


async def test_a_closed_stdout_stops_the_producer(monkeypatch: pytest.MonkeyPatch):
    import jcli.context as context_mod
    monkeypatch.setattr(context_mod, "_silence", lambda stream: None)

    class Closed:
        written = 0

        def write(self, text: str) -> None:
            Closed.written += 1
            if Closed.written > 3:
                raise BrokenPipeError

    ctx = Context(output=context_mod.StreamOutput(Closed()))
    ex = Executor(ctx)
    made = []

    def rows():
        for i in range(1000):
            made.append(i)
            yield [i]
    r = StreamResult(rows=rows, render=lambda p: [f"row {x}" for x in p])
    cmd = type("Cmd", (), {"kind": "show", "text": "t"})()
    assert await ex._stream(cmd, r, None) is True
    assert len(made) <= 5
