"""Building and running the shell: interactive (prompt_toolkit, one asyncio loop shared with the
engine) or batch (`-c`, stdin).

    shell = await build_shell(options, engine_factory=None)
    await shell.load_startup()            # startup file, then --config files
    await shell.interact()                # or: await shell.run_lines(lines)

`engine_factory(ctx)` returns the engine (or an awaitable of it); the engine gets
`apply_config(model)` after every configuration change and `snapshot()` from show commands.
If it has `start()` and `close()` (or `stop()`), sync or async, they are called around the
session.
"""
from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from jcli.config.model import RouterConfig
from jcli.config.render import FOOTER, HEADER
from jcli.config.store import ScriptError, clean_temp_files, read_script
from jcli.context import Context, Options, Output, StreamOutput
from jcli.executor import LINE_MAX, Executor
from jcli.terminal_io import _LineSource, _logging_to, _more_key, _TerminalStream, make_history

log = logging.getLogger(__name__)
OUTPUT_CHUNK = 256         # lines written between two turns of the event loop
EXIT_INTERNAL = 3          # a command failed because of a bug, not because of its input


async def _maybe_await(x):
    if inspect.isawaitable(x):
        return await x
    return x


class ShellOutput(Output):
    """Prints lines now; show output is buffered and paged by the shell after the command."""

    def __init__(self, stream=None):
        self.stream = stream
        self.pending: list[str] = []
        # set by an interactive shell: shows streamed output through the --More-- pager
        self.pager = None

    async def show_pages(self, pages) -> None:
        """Streamed show output: paged as it is produced (the pager pulls the pages), or
        written as it comes."""
        if self.pager is not None:
            await self.pager(self.take(), pages)
            return
        for line in self.take():
            self.write(line)
        async for page in pages:
            for line in page:
                self.write(line)

    def write(self, line: str) -> None:
        s = self.stream or sys.stdout
        s.write(line + "\n")
        s.flush()

    def show(self, lines: list[str]) -> None:
        self.pending.extend(lines)

    def take(self) -> list[str]:
        out, self.pending = self.pending, []
        return out


class Shell:
    def __init__(self, ctx: Context, executor: Executor):
        self.ctx = ctx
        self.executor = executor
        self.failed = 0

    # ------------------------------------------------------------ start-up
    async def load_startup(self) -> bool:
        """Replay the startup file (when present) and every --config file. Returns False when
        a file could not be read or one of its lines failed. A startup file that cannot be
        read, or that `write memory` wrote and lost its end marker, is not loaded at all: the
        router starts with an empty configuration and says so."""
        ok = True
        ctx = self.ctx
        path = ctx.startup_path
        for tmp in clean_temp_files(path):
            log.warning("removed %s left by an interrupted save", tmp)
        if os.path.lexists(path):
            try:
                lines = read_script(path)
                if lines and lines[0].startswith(HEADER) and FOOTER not in (
                        s.strip() for s in lines[-3:]):
                    raise ScriptError(f"Cannot load {path}: truncated (no \"{FOOTER}\" line)")
            except ScriptError as e:
                ctx.error(f"% {e}")
                ctx.error("% Starting with an empty configuration")
                log.warning("startup configuration not loaded: %s", e)
                ok = False
            else:
                if not await self.executor.run_script(lines, os.path.basename(path)):
                    ok = False
            self._flush_plain()
        for f in ctx.options.config:
            try:
                if not await self.executor.run_file(f):
                    ok = False
            except OSError as e:
                ctx.error(f"% {e}" if isinstance(e, ScriptError)
                          else f"% Cannot read {f}: {e.strerror or e}")
                ok = False
            self._flush_plain()
        self.ctx.mode = "exec"
        gc.freeze()       # the loaded configuration is long-lived: keep it out of GC scans
        return ok

    def _flush_plain(self) -> None:
        out = self.ctx.output
        if isinstance(out, ShellOutput):
            for line in out.take():
                out.write(line)

    # ------------------------------------------------------------ batch
    async def run_lines(self, lines, source: str = "-c") -> int:
        """Run lines in order (privileged exec). Errors name the line (`stdin:12: % ...`).
        `lines` is a sequence or an asyncio.Queue of lines ended by None (stdin as it
        arrives). Exit status: 0, 1 when a line failed, EXIT_INTERNAL after an internal error.
        Configuration lines reach the engine once per run of consecutive configuration
        lines, not once per line."""
        status = 0
        ctx, ex = self.ctx, self.executor
        src = _LineSource(lines)
        prev = ex._where
        ctx.batch += 1
        n = 0
        try:
            while True:
                line = await src.next()
                if line is None:
                    break
                n += 1
                ex._where = f"{source}:{n}"
                if ctx.quit:
                    if any(s.strip() and s.lstrip()[0] != "!" for s in [line, *src.rest_now()]):
                        ex._error(["% Input continues after 'exit'; the rest is not run"])
                        status = 1
                    break
                if line.rstrip().endswith("?") and len(line) <= LINE_MAX:   # help, as at the prompt
                    for out_line in ex.describe(line.rstrip()[:-1]):
                        ctx.write(out_line)
                    continue
                ok = await ex.execute(line)
                self._flush_plain()
                if src.empty():
                    ctx.flush_config()          # waiting for more input: the engine is told now
                if not ok:
                    status = 1
                if getattr(ctx.output, "broken", False):
                    break
        finally:
            ex._where = prev
            ctx.batch -= 1
            ctx.flush_config()
        if ex.internal_errors:
            status = EXIT_INTERNAL
        return status

    # ------------------------------------------------------------ interactive
    def _emitter(self):
        """Show output on a terminal goes straight to the terminal (not through the
        patch_stdout proxy, which delivers later from a thread) so it precedes --More--."""
        if self.ctx.interactive and isinstance(self.ctx.output, ShellOutput):
            try:
                from prompt_toolkit.application.current import get_app_session
                term = get_app_session().output

                def emit(lines):
                    if lines:
                        term.write_raw("\n".join(lines) + "\n")
                        term.flush()
                return emit
            except Exception:       # pragma: no cover - no terminal
                pass
        out = self.ctx.output

        def emit_plain(lines):
            for line in lines:
                out.write(line)
        return emit_plain

    async def page(self, lines: list[str], pages=None) -> None:
        """Show output, paged on a terminal; long output goes out in chunks that let the
        event loop (the router) run between them.  ``pages`` (an async iterator of line
        lists) follows ``lines``; the pager pulls from it only as far as it shows."""
        emit = self._emitter()
        n = self.ctx.terminal_length
        buf = list(lines)
        it = pages.__aiter__() if pages is not None else None

        async def fill(want: int) -> bool:
            """Pull pages until ``buf`` holds more than ``want`` lines; False at the end."""
            while it is not None and len(buf) <= want:
                try:
                    buf.extend(await it.__anext__())
                except StopAsyncIteration:
                    return False
            return len(buf) > want

        try:
            if n <= 1:
                while True:
                    more = await fill(OUTPUT_CHUNK)
                    part = buf[:OUTPUT_CHUNK]
                    del buf[:OUTPUT_CHUNK]
                    if part:
                        emit(part)
                    if not more and not buf:
                        return
                    await asyncio.sleep(0)
            step = n - 1
            while True:
                if not await fill(step):
                    if buf:
                        emit(buf[:])
                    return
                emit(buf[:step])
                del buf[:step]
                key = await _more_key()
                if key == "q":
                    return
                step = 1 if key == "\r" else n - 1
        finally:
            if it is not None and hasattr(it, "aclose"):
                await it.aclose()

    async def interact(self, *, remote: bool = False,
                       on_line: Callable[[], None] | None = None,
                       busy: Callable[[asyncio.Task | None], None] | None = None) -> int:
        """The interactive prompt. `remote`: a line of the running router (telnet, SSH, a local
        attach) in its own prompt_toolkit app session: no stdout patching, history in memory.
        `on_line` is called before each line runs (idle time); `busy(task)` while a line runs
        and `busy(None)` after it: the line's transport cancels the task on Ctrl-C."""
        import contextlib

        from prompt_toolkit import PromptSession
        from prompt_toolkit.application import run_in_terminal
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.keys import Keys
        from prompt_toolkit.patch_stdout import patch_stdout

        from jcli.completion import CliCompleter

        ctx, ex = self.ctx, self.executor
        kb = KeyBindings()
        pasted: list[str] = []          # lines of a multi-line paste still to run

        @kb.add("?")
        def _describe(event):
            buf = event.app.current_buffer
            text = buf.document.text_before_cursor
            lines = [ctx.prompt + text + "?"] + ex.describe(text)

            out = event.app.output          # this line's terminal (a remote line has its own)

            def show():
                out.write_raw("".join(line + "\n" for line in lines))
                out.flush()
            run_in_terminal(show)

        @kb.add("c-z")
        def _ctrl_z(event):
            event.app.exit(result="\x1a")

        full = Condition(lambda: len(session.default_buffer.text) >= LINE_MAX)

        bell_at = [0.0]

        def bell(event) -> None:            # at most one bell a second, however many keys
            now = time.monotonic()
            if now - bell_at[0] >= 1.0:
                bell_at[0] = now
                event.app.output.bell()

        @kb.add(Keys.Any, filter=full)
        def _line_full(event):
            bell(event)                       # the line is as long as a line may be

        @kb.add(Keys.BracketedPaste)
        def _paste(event):
            """A paste of several lines runs them one by one, as if typed."""
            buf = event.current_buffer
            data = event.data.replace("\r\n", "\n").replace("\r", "\n")
            lines = data.split("\n")
            room = LINE_MAX - len(buf.text)
            if len(lines) == 1:
                if len(data) > room:
                    bell(event)
                buf.insert_text(data[:max(room, 0)])
                return
            pasted[:] = lines[1:]
            buf.insert_text(lines[0][:max(room, 0)])
            buf.validate_and_handle()

        from prompt_toolkit.history import InMemoryHistory
        session: PromptSession = PromptSession(
            history=InMemoryHistory() if remote else make_history(ctx, ex),
            completer=CliCompleter(ex), complete_while_typing=False, key_bindings=kb)

        async def ask_secret(text: str) -> str:
            return await PromptSession().prompt_async(text, is_password=True)
        ctx.ask_secret = ask_secret
        with contextlib.ExitStack() as stack:
            if not remote:
                stack.enter_context(patch_stdout(raw=True))
                stack.enter_context(_logging_to())
            if isinstance(ctx.output, ShellOutput):
                ctx.output.stream = _TerminalStream()
            while not ctx.quit:
                if len(pasted) > 1:
                    line = pasted.pop(0)
                    ctx.write(ctx.prompt + line[:LINE_MAX])     # the echo of a pasted line
                else:
                    default = pasted.pop() if pasted else ""
                    try:
                        line = await session.prompt_async(ctx.prompt, default=default)
                    except KeyboardInterrupt:
                        pasted.clear()
                        continue
                    except EOFError:
                        if ctx.mode in ("exec", "user"):
                            break
                        line = "end"
                if on_line is not None:
                    on_line()
                if line == "\x1a":
                    if ctx.mode not in ("exec", "user"):
                        ctx.enter("exec")
                    continue
                try:
                    if remote:          # SIGINT belongs to the service, not to one line
                        ok = await self._remote_line(line, more=len(pasted) > 1, busy=busy)
                    else:
                        ok = await self._interruptible(line, more=len(pasted) > 1)
                except KeyboardInterrupt:
                    ok = False
                    pasted.clear()      # Ctrl-C also drops the rest of a paste
                    ctx.flush_config()
                if not ok:
                    self.failed += 1
        return 0

    async def _remote_line(self, line: str, *, more: bool,
                           busy: Callable[[asyncio.Task | None], None] | None) -> bool:
        """A line typed on a remote line; Ctrl-C from its transport cancels just that."""
        task = asyncio.ensure_future(self.run_typed(line, more=more))
        if busy is not None:
            busy(task)
        try:
            return await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if not task.cancelled() or (me is not None and me.cancelling()):
                raise
            self.ctx.output.write("% Interrupted")
            raise KeyboardInterrupt from None
        finally:
            if busy is not None:
                busy(None)

    async def _interruptible(self, line: str, *, more: bool) -> bool:
        """Run a typed line; Ctrl-C (SIGINT while the terminal is not in raw mode) stops
        that command, not the router."""
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(self.run_typed(line, more=more))
        interrupted = []

        def on_sigint() -> None:
            interrupted.append(True)
            cancel_again()

        def cancel_again() -> None:
            # asyncio.wait_for can lose a cancellation that races with its result: repeat it
            # until the command has really stopped
            if not task.done():
                task.cancel()
                loop.call_later(0.05, cancel_again)
        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            installed = True
        except (NotImplementedError, RuntimeError, ValueError):
            installed = False
        try:
            return await task
        except asyncio.CancelledError:
            if not interrupted:
                raise
            self.ctx.output.write("% Interrupted")
            out = self.ctx.output
            if isinstance(out, ShellOutput):
                await self.page(out.take())
            raise KeyboardInterrupt from None
        finally:
            if installed:
                loop.remove_signal_handler(signal.SIGINT)
                signal.signal(signal.SIGINT, signal.default_int_handler)

    async def _page_stream(self, lines: list[str], pages) -> None:
        await self.page(lines, pages)

    async def run_typed(self, line: str, *, more: bool = False) -> bool:
        """Run one line typed or pasted at the prompt and show its output. `more`: further
        pasted lines follow, so configuration changes reach the engine once, after the last
        of them (or before a command that looks at the engine)."""
        ctx = self.ctx
        if more:
            ctx.batch += 1
        try:
            ok = await self.executor.execute(line)
        finally:
            if more:
                ctx.batch -= 1
        if not more:
            ctx.flush_config()
        out = ctx.output
        if isinstance(out, ShellOutput):
            await self.page(out.take())
        return ok


async def build_shell(options: Options | None = None,
                      engine_factory: Callable[[Context], Any] | None = None, *,
                      interactive: bool = False, output: Output | None = None) -> Shell:
    options = options or Options()
    if output is None:
        output = ShellOutput() if interactive else StreamOutput()
    ctx = Context(RouterConfig(), options=options, output=output, interactive=interactive)
    if interactive:
        import shutil
        ctx.terminal_length = shutil.get_terminal_size((80, 24)).lines
    executor = Executor(ctx)
    if engine_factory is not None:
        engine = await _maybe_await(engine_factory(ctx))
        ctx.engine = engine
        start = getattr(engine, "start", None)
        if start is not None:
            await _maybe_await(start())
    shell = Shell(ctx, executor)
    if isinstance(output, ShellOutput) and interactive:
        output.pager = shell._page_stream
    return shell


async def close_shell(shell: Shell) -> None:
    """Stop the engine: its `close()` (preferred) or `stop()`, sync or async."""
    eng = shell.ctx.engine
    if eng is None:
        return
    for name in ("close", "stop"):
        fn = getattr(eng, name, None)
        if callable(fn):
            await _maybe_await(fn())
            return
