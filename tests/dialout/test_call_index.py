"""The engine finds the calls of one tunnel through its index: a tunnel going down touches its
own calls only, never the whole call table (counted operations, not time)."""
from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from engine.aio.calls import Call, CallTable
from engine.aio.engine import Engine
from engine.dialout.model import SessionKey
from engine.l2tp import events as le

pytestmark = pytest.mark.timeout(30)


class CountingDict(dict):
    """A dict that counts walks over it (iteration, keys, values, items)."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingDict.walks += 1
        return super().__iter__()

    def keys(self) -> Any:
        CountingDict.walks += 1
        return super().keys()

    def values(self) -> Any:
        CountingDict.walks += 1
        return super().values()

    def items(self) -> Any:
        CountingDict.walks += 1
        return super().items()


def call(call_id: int, tunnel_id: int, session_id: int) -> Call:
    key = SessionKey("home", ipaddress.IPv4Address("10.10.0.0") + call_id)
    return Call(call_id, key, 0, tunnel_id, session_id)


def test_table_index_follows_add_and_pop():
    t = CallTable()
    a, b, c = call(1, 7, 1), call(2, 7, 2), call(3, 8, 1)
    for x in (a, b, c):
        t.add(x)
    assert t.on_tunnel(7) == [a, b] and t.on_tunnel(8) == [c] and t.on_tunnel(9) == []
    assert t.pop(a) and t.on_tunnel(7) == [b]
    assert t.pop(c) and 8 not in t.by_tunnel           # no empty entry left behind
    assert not t.pop(c)
    # a tunnel taken out (gone down): a new tunnel with the same id starts a new entry, and
    # popping an old call later does not disturb the new one's keys
    taken = t.take_tunnel(7)
    assert taken == {2: b} and 7 not in t.by_tunnel and t.live(b)
    d = call(4, 7, 2)                                   # same tunnel id and session id
    t.add(d)
    assert t.pop(b)
    assert t.on_tunnel(7) == [d] and t.by_l2tp[(7, 2)] is d


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    eng = Engine(output=lambda line: None)
    await eng.start()
    try:
        yield eng
    finally:
        await eng.stop()


async def test_tunnel_down_touches_only_its_own_calls(engine: Engine):
    eng = engine
    table = eng._calls
    table.by_id = CountingDict()
    big, small = 101, 202
    for i in range(2000):
        table.add(call(i + 1, big, i + 1))
    for i in range(3):
        table.add(call(5000 + i, small, i + 1))
    ended: list[int] = []
    real = eng.end_call

    def end_call(c: Call, *args: Any, **kw: Any) -> None:
        ended.append(c.call_id)
        real(c, *args, **kw)
    eng.end_call = end_call              # type: ignore[method-assign, assignment]
    CountingDict.walks = 0
    eng.l2tp_glue.on_event(le.TunnelDown(small, 1, 0, "bye", True))
    assert sorted(ended) == [5000, 5001, 5002]
    assert CountingDict.walks == 0               # the call table was never walked
    assert len(table) == 2000 and small not in table.by_tunnel
    assert len(table.by_tunnel[big]) == 2000
