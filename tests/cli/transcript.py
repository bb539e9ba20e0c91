"""Transcript runner: a transcript is a screen capture of a session.

* a line starting with the current prompt is input (`host1#show version`);
* input ending in `?` asks for help (the line is not executed);
* input ending in `<TAB>` completes; the screen then shows `[completed line]`;
* every other line is expected output; `{{*}}` in an expected line matches anything.
"""
from __future__ import annotations

import re

from jcli.context import Context, ListOutput
from jcli.executor import Executor
from jcli.registry import CORE_MODULES, load_commands
from tests.output import printed


def new_session(**kw) -> tuple[Context, Executor]:
    """A session with the core command set only: transcripts do not change when extension
    modules add commands."""
    ctx = Context(output=ListOutput(), interactive=True, **kw)
    ctx.terminal_length = 0
    return ctx, Executor(ctx, registry=load_commands().subset(CORE_MODULES))


async def play(ctx: Context, ex: Executor, text: str) -> list[str]:
    """Run the inputs of a transcript; return the screen it produces."""
    screen: list[str] = []
    for line in text.splitlines():
        if not line.startswith(ctx.prompt):
            continue
        screen.append(line)
        inp = line[len(ctx.prompt):]
        if inp.endswith("?"):
            screen += ex.describe(inp[:-1])
        elif inp.endswith("<TAB>"):
            screen.append("[" + ex.complete(inp[:-5]) + "]")
        else:
            await ex.execute(inp)
            screen += printed(ctx).take()
    return screen


def inputs(text: str) -> list[str]:
    """Input lines of a transcript (prompts stripped), found by prompt shape."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*(?:>|#|\([a-z-]+\)#)", line)
        if m:
            out.append(line[m.end():])
    return out


def matches(expected: str, actual: str) -> bool:
    if "{{*}}" not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(p) for p in expected.split("{{*}}"))
    return re.fullmatch(pattern, actual) is not None
