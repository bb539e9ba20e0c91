"""Running the interactive shell on one operator line (telnet, SSH, local attach), inside the
line's own prompt_toolkit app session, and the login dialogue of remote lines."""
from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from jcli.app import Shell, ShellOutput
from jcli.service.sessions import Session, SessionTable

log = logging.getLogger("jcli.service.terminal")

LOGIN_TRIES = 3
LOGIN_TIMEOUT = 60.0
NO_ACCOUNTS = ("% Remote login refused: no operator account is configured "
               "(configure 'username NAME secret WORD' from the console)")


def _notifier(session: Session) -> None:
    """Lines that arrive while the operator sits at the prompt are printed above it."""
    from prompt_toolkit.application import run_in_terminal
    from prompt_toolkit.application.current import get_app_session
    cvctx = contextvars.copy_context()
    out = get_app_session().output

    def notify(line: str) -> None:
        def emit() -> None:
            out.write_raw(line + "\n")
            out.flush()
        cvctx.run(run_in_terminal, emit)
    session.notify = notify


async def run_shell(table: SessionTable, session: Session) -> None:
    """The shell on a line until the operator leaves, the line drops or it is cleared."""
    _notifier(session)
    import shutil
    ctx = session.ctx
    ctx.terminal_length = 24
    try:
        from prompt_toolkit.application.current import get_app_session
        size = get_app_session().output.get_size()
        ctx.terminal_length = max(size.rows, 0) if size.rows > 1 else 24
        ctx.terminal_width = size.columns
    except Exception:                                       # pragma: no cover
        ctx.terminal_length = shutil.get_terminal_size((80, 24)).lines
    shell = Shell(ctx, session.executor)
    try:
        await shell.interact(remote=True, on_line=session.touch, busy=session.set_running)
    except (EOFError, ConnectionError, OSError):
        pass
    finally:
        ctx.flush_config()
        table.remove(session)


async def login(table: SessionTable, say: Any, source: str) -> Any:
    """`User:` / `Password:` (three tries); returns a LoginResult or None."""
    from prompt_toolkit import PromptSession
    auth = table.authenticator
    if not auth.has_accounts():
        say(NO_ACCOUNTS)
        log.warning("remote login from %s refused: no operator account configured", source)
        return None
    for _ in range(LOGIN_TRIES):
        try:
            user: str = await asyncio.wait_for(PromptSession().prompt_async("User: "), LOGIN_TIMEOUT)
            word: str = await asyncio.wait_for(PromptSession().prompt_async("Password: ", is_password=True),
                                          LOGIN_TIMEOUT)
        except (TimeoutError, EOFError, KeyboardInterrupt):
            return None
        result = await auth.login(user.strip(), word, source)
        if result is not None:
            return result
        say("% Login invalid")
    return None


def shell_output() -> ShellOutput:
    from jcli.terminal_io import _TerminalStream
    out = ShellOutput()
    out.stream = _TerminalStream()
    return out
