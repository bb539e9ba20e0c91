"""What a test session printed."""
from __future__ import annotations

from jcli.context import Context, ListOutput


def printed(ctx: Context) -> ListOutput:
    """The ListOutput a test session writes to (every test session is built with one)."""
    assert isinstance(ctx.output, ListOutput), ctx.output
    return ctx.output
