"""Fixtures of the dial-out shell tests."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.dialout.test_shell_commands import Shell, script, silent_port
from tests.output import printed


@pytest.fixture
async def shell(tmp_path) -> AsyncIterator[Shell]:
    sock, port = silent_port()
    options = Options(startup=str(tmp_path / "none.scr"))
    ctx = Context(options=options, output=ListOutput())
    executor = Executor(ctx)
    eng = RouterEngine(options, ctx.output.write)
    await eng.start()
    ctx.engine = eng
    sh = Shell(ctx, executor)
    try:
        assert await executor.run_script(script(port)), printed(ctx).take()
        printed(ctx).take()
        yield sh
    finally:
        await eng.close()
        sock.close()
