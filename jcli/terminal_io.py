"""The terminal side of the shell: where its lines come from, where its output goes, its
command history, logging above the prompt and the --More-- key."""
from __future__ import annotations

import asyncio
import os
import sys

from jcli.context import Context
from jcli.executor import Executor


class _LineSource:
    """A list of lines, or a queue of lines ended by None."""

    def __init__(self, lines) -> None:
        self.live = isinstance(lines, asyncio.Queue)
        self.q = lines if self.live else None
        self.items = [] if self.live else list(lines)
        self.i = 0

    async def next(self) -> str | None:
        if self.q is not None:
            return await self.q.get()
        if self.i >= len(self.items):
            return None
        self.i += 1
        return self.items[self.i - 1]

    def empty(self) -> bool:
        return self.q is not None and self.q.empty()

    def rest_now(self) -> list[str]:
        """The lines that are already there (the rest of a list; what a queue holds now)."""
        if self.q is None:
            return self.items[self.i:]
        out = []
        while not self.q.empty():
            line = self.q.get_nowait()
            if line is None:
                break
            out.append(line)
        return out


class _TerminalStream:
    """Command output on a terminal, written now and in order (not through the patch_stdout
    proxy, which delivers from a thread: an error could then appear after the next echo)."""

    def write(self, text: str) -> None:
        try:
            from prompt_toolkit.application.current import get_app_session
            out = get_app_session().output
            out.write_raw(text)
            out.flush()
        except Exception:               # pragma: no cover - no terminal
            if sys.__stdout__ is not None:
                sys.__stdout__.write(text)

    def flush(self) -> None:
        pass


def make_history(ctx: Context, ex: Executor):
    """The command history: ~/.jcli_history when it can be written, else in memory with one
    warning. Lines that carry a secret (`key`, `secret`, `password`) never reach the file."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    class SafeFileHistory(FileHistory):
        def load_history_strings(self):
            try:
                yield from super().load_history_strings()
            except (OSError, UnicodeDecodeError, ValueError):
                return

        def store_string(self, string: str) -> None:
            if ex.mentions_secret(string):
                return
            try:
                super().store_string(string)
            except OSError:
                pass

    path = os.path.join(os.path.expanduser("~"), ".jcli_history")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as e:
        ctx.error(f"% Warning: cannot write {path} ({e.strerror or e}); "
                  "command history kept in memory only")
        return InMemoryHistory()
    return SafeFileHistory(path)


class _logging_to:
    """Point logging StreamHandlers that write to the real stdout/stderr at the patched
    streams for the duration of the prompt, so log lines appear above it."""

    def __init__(self):
        self.saved: list = []

    def __enter__(self):
        import logging
        real = (sys.__stdout__, sys.__stderr__)
        handlers = list(logging.getLogger().handlers)
        for logger in list(logging.Logger.manager.loggerDict.values()):
            handlers += getattr(logger, "handlers", [])
        for h in handlers:
            if type(h) is logging.StreamHandler and h.stream in real:
                self.saved.append((h, h.stream))
                h.setStream(sys.stderr if h.stream is sys.__stderr__ else sys.stdout)
        return self

    def __exit__(self, *exc):
        for h, stream in self.saved:
            h.setStream(stream)
        return False


async def _more_key() -> str:
    from prompt_toolkit.application import Application
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout
    from prompt_toolkit.layout.containers import Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    kb = KeyBindings()

    @kb.add(" ")
    def _space(e):
        e.app.exit(result=" ")

    @kb.add("enter")
    def _enter(e):
        e.app.exit(result="\r")

    @kb.add("<any>")
    def _other(e):
        e.app.exit(result="q")

    @kb.add("c-c")
    def _cc(e):
        e.app.exit(result="q")

    app: Application[str] = Application(
        layout=Layout(Window(FormattedTextControl(" --More-- "), height=1)),
        key_bindings=kb, full_screen=False, erase_when_done=True)
    return await app.run_async()
