"""A streamed show asked by several operator lines at once is produced once: the lines that ask
while it streams get the same lines when it completes, and later lines within the cache's time
get them from the cache; a show that did not complete is never shared."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import jcli.commands.dialout as dialout_commands
from jcli.auth import Authenticator
from jcli.config.model import RouterConfig
from jcli.context import ListOutput, Options
from jcli.service.sessions import Session, SessionTable
from tests.dialout.test_scale_views import Shell, trigger_many
from tests.dialout.test_shell_commands import script, silent_port
from tests.router_shell import router_shell

pytestmark = pytest.mark.timeout(60)

SHOW = "show l2tp dial-out session brief"


@pytest.fixture
async def table(tmp_path: Any) -> AsyncIterator[SessionTable]:
    options = Options(startup=str(tmp_path / "none.scr"))
    sock, port = silent_port()
    try:
        async with router_shell(options) as (ctx, executor, eng):
            assert await executor.run_script(script(port))
            trigger_many(Shell(ctx, executor), "home", 300)
            cfg = RouterConfig()
            yield SessionTable(cfg, eng, Options(), Authenticator(cfg))
    finally:
        sock.close()


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the session table is rendered."""
    calls: list[int] = []
    real = dialout_commands._session_pages

    def pages(rows: Any, brief: bool) -> Iterator[list[str]]:
        calls.append(1)
        yield from real(rows, brief)
    monkeypatch.setattr(dialout_commands, "_session_pages", pages)
    return calls


def line(table: SessionTable) -> Session:
    return table.open("sock", "root", "local", ListOutput(), trusted=True, privilege=15,
                      interactive=False)


def out(s: Session) -> list[str]:
    output = s.ctx.output
    assert isinstance(output, ListOutput)
    return output.take()


async def test_concurrent_streamed_shows_render_once(table: SessionTable,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    alone = line(table)
    assert await alone.executor.execute(SHOW)
    expected = out(alone)
    assert len(expected) == 303 and expected[-1] == "300 dial-out sessions found"
    table.show_cache.clear()
    calls = counting(monkeypatch)
    lines = [line(table) for _ in range(10)]
    done = await asyncio.gather(*(s.executor.execute(SHOW) for s in lines))
    assert done == [True] * 10
    assert len(calls) == 1
    for s in lines:
        assert out(s) == expected
    assert not table.show_cache.pending
    later = line(table)
    assert await later.executor.execute(SHOW)
    assert out(later) == expected and len(calls) == 1


async def test_an_interrupted_stream_is_not_shared(table: SessionTable,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    first, second = line(table), line(table)
    task = asyncio.ensure_future(first.executor.execute(SHOW))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert table.show_cache.pending
    waiting = asyncio.ensure_future(second.executor.execute(SHOW))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await waiting
    shown = out(second)
    assert len(shown) == 303 and shown[-1] == "300 dial-out sessions found"
    assert len(calls) == 2
    assert not table.show_cache.pending


async def test_a_configuration_change_is_seen_by_lines_asking_after_it(
        table: SessionTable, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    first, second = line(table), line(table)
    task = asyncio.ensure_future(first.executor.execute(SHOW))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    table.show_cache.clear()                 # what a configuration change does
    assert await second.executor.execute(SHOW)
    assert await task
    assert len(calls) == 2
    assert out(first) == out(second)


async def test_a_paged_terminal_line_is_waited_for_by_nobody(
        table: SessionTable, monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal line shows a long table at the reader's pace (--More--): the other lines
    asking meanwhile run the show themselves."""
    calls = counting(monkeypatch)
    terminal = table.open("con", "root", "console", ListOutput(), trusted=True, privilege=15,
                          interactive=True)
    task = asyncio.ensure_future(terminal.executor.execute(SHOW))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not table.show_cache.pending
    other = line(table)
    assert await other.executor.execute(SHOW)
    assert out(other)[-1] == "300 dial-out sessions found"
    assert await task
    assert len(calls) == 2
