"""Fixtures of the dial-out shell tests."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jcli.context import Options
from tests.dialout.test_shell_commands import Shell, script, silent_port
from tests.output import printed
from tests.router_shell import router_shell


@pytest.fixture
async def shell(tmp_path) -> AsyncIterator[Shell]:
    options = Options(startup=str(tmp_path / "none.scr"))
    sock, port = silent_port()
    try:
        async with router_shell(options) as (ctx, executor, _eng):
            assert await executor.run_script(script(port)), printed(ctx).take()
            printed(ctx).take()
            yield Shell(ctx, executor)
    finally:
        sock.close()
