"""A shell with a router engine of its own, running, as the shell tests build it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor


@asynccontextmanager
async def router_shell(options: Options) -> AsyncIterator[tuple[Context, Executor, RouterEngine]]:
    """(context writing to a ListOutput, executor, started engine); the engine is closed on
    the way out."""
    ctx = Context(options=options, output=ListOutput())
    executor = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    await eng.start()
    ctx.engine = eng
    try:
        yield ctx, executor, eng
    finally:
        await eng.close()
