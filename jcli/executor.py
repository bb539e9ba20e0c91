"""The executor: one input line -> match -> typed handler call -> output.

Used by the interactive shell, `-c`, stdin, `configure file`, the startup file and the
transcript tests alike. Sync handlers run directly (`run` returns a bool); async handlers make
`run` return an awaitable; `execute` is the async front door that handles both.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Coroutine
from typing import Any

from grammars.filters import FILTERS as FILTER_ARG
from grammars.filters import HELP as FILTER_HELP
from grammars.filters import FilterError, OutputFilter, parse_filter
from grammars.matcher import AMBIGUOUS, INCOMPLETE, OK, describe, match_line
from jcli.config.store import ScriptError, read_script
from jcli.context import Context, ListOutput
from jcli.modes import MODES
from jcli.registry import CliError, Registry, load_commands
from jcli.views import ShowResult, StreamResult, safe_line

log = logging.getLogger(__name__)

INVALID_MSG = "% Invalid input detected at '^' marker."
INCOMPLETE_MSG = "% Incomplete command."
LINE_MAX = 4096                  # characters of one command line
LINE_TOO_LONG_MSG = f"% Line too long (at most {LINE_MAX} characters)"
SCRIPT_MAX_ERRORS = 20           # a script stops after this many failed lines
SECRET_WORDS = frozenset({"key", "secret", "password"})
SCRIPT_MAX_DEPTH = 4             # nested `configure file`
STREAM_SHARE_LINES = 20000       # a streamed show longer than this is not shared


class Executor:
    def __init__(self, ctx: Context, registry: Registry | None = None):
        self.ctx = ctx
        ctx.executor = self
        self.registry = registry if registry is not None else load_commands()
        self._where: str | None = None      # "FILE:LINE" while a script runs
        self._script = False                # running a configuration script: no exec commands
        self._echo = True                   # echo the failing line under its error
        self._files: list[str] = []         # scripts being read (nested `configure file`)
        self.errors: list[str] = []         # error lines reported while a script runs
        self.internal_errors = 0            # handler failures that are bugs, not bad input
        self._show_key: tuple | None = None  # the shared show output this command fills

    # ----------------------------------------------------------------- errors
    def _error(self, lines: list[str]) -> None:
        lines = [safe_line(line) for line in lines]
        if self._where is not None:
            msg = next((ln for ln in lines if ln.startswith("%")), lines[-1])
            first = f"{self._where}: {msg}"
            self.errors.append(first)
            self.ctx.error(first)
            if self._echo:
                for ln in lines:
                    if ln is not msg:
                        self.ctx.error(ln)
            return
        for ln in lines:
            self.ctx.error(ln)

    def _match_error(self, res, line: str) -> None:
        if res.status is AMBIGUOUS:
            words = line.split()
            self._error([f'% Ambiguous command: "{" ".join(words[:res.word_index + 1])}"'])
        elif res.status is INCOMPLETE:
            self._error([INCOMPLETE_MSG])
        else:
            if self.ctx.interactive and self._where is None:
                self._error([" " * (len(self.ctx.prompt) + res.column) + "^", INVALID_MSG])
            else:
                self._error([line.rstrip(), " " * res.column + "^", INVALID_MSG])

    # ----------------------------------------------------------------- matching
    def resolve(self, line: str):
        """-> (MatchResult, mode it matched in, OutputFilter | None)."""
        ctx = self.ctx
        flt: OutputFilter | None = None
        bar = line.find("|")
        if bar >= 0:
            res = match_line(self.registry.root(ctx.mode), line[:bar])
            if res.status is OK and res.command.kind == "show":
                flt = parse_filter(line[bar:])      # may raise FilterError
                return res, ctx.mode, flt
        res = match_line(self.registry.root(ctx.mode), line)
        if res.status is OK:
            return res, ctx.mode, None
        mode = MODES[ctx.mode].parent
        while mode is not None:
            alt = match_line(self.registry.root(mode), line)
            if alt.status is OK:
                return alt, mode, None
            mode = MODES[mode].parent
        if self._script:
            # name the refusal of an exec command (write memory, clear ...) in a script
            alt = match_line(self.registry.root("exec"), line)
            if alt.status is OK and alt.command.kind == "exec":
                return alt, "exec", None
        return res, ctx.mode, None

    def mentions_secret(self, line: str) -> bool:
        """Whether `line` is a command that carries a secret (kept out of the history file)."""
        if len(line) > LINE_MAX:
            return True
        try:
            res, _mode, _flt = self.resolve(line)
        except FilterError:
            res = None
        if res is not None and res.status is OK:
            return any(n.word in SECRET_WORDS for n in res.command.spec.nodes)
        return any(w.lower() in SECRET_WORDS for w in line.split())

    # ----------------------------------------------------------------- running
    def run(self, line: str) -> bool | Coroutine[Any, Any, bool]:
        """Run one line. Returns True/False, or an awaitable when the handler is async."""
        if len(line) > LINE_MAX:
            self._error([LINE_TOO_LONG_MSG])
            return False
        s = line.strip()
        if not s or s[0] == "!":
            return True
        ctx = self.ctx
        try:
            res, mode, flt = self.resolve(line)
        except FilterError as e:
            self._error([f"% {e}" if not str(e).startswith("%") else str(e)])
            return False
        if res.status is not OK:
            self._match_error(res, line)
            return False
        cmd = res.command
        if self._script and cmd.kind == "exec":
            self._error(["% Exec commands are not allowed in a configuration script"])
            return False
        if cmd.kind in ("show", "exec"):
            ctx.flush_config()          # what the command sees includes every earlier line
        if mode != ctx.mode:
            ctx.enter(mode)
        kw = dict(cmd.defaults)
        kw.update(res.args)
        cache = ctx.show_cache
        self._show_key = cache.key(ctx, cmd, line) if cache is not None and cmd.kind == "show" \
            else None
        if self._show_key is not None:
            hit = cache.get(self._show_key)
            if hit is not None:             # the same show, just computed for another line
                ctx.output.show(list(hit))
                return True
            shared = cache.pending.get(self._show_key)
            if shared is not None:          # the same show being streamed for another line
                return self._join(shared, cmd, kw, flt)
        return self._call(cmd, kw, flt)

    async def _join(self, shared: asyncio.Future[list[str] | None], cmd: Any,
                    kw: dict[str, Any], flt: OutputFilter | None) -> bool:
        """Wait for the same show streamed for another line and print its output; when it
        did not complete (its reader went away, an error), run the show here."""
        key = self._show_key
        lines = await asyncio.shield(shared)
        if lines is not None:
            self.ctx.output.show(list(lines))
            return True
        self._show_key = key
        done = self._call(cmd, kw, flt)
        if not isinstance(done, bool):
            done = await done
        return done

    def _call(self, cmd: Any, kw: dict[str, Any], flt: OutputFilter | None
              ) -> bool | Coroutine[Any, Any, bool]:
        ctx = self.ctx
        try:
            result = cmd.handler(ctx, **kw)
        except CliError as e:
            self._error([f"% {e}"])
            return False
        except Exception as e:          # a handler bug must not end the session
            self._internal(cmd, e)
            return False
        if cmd.is_async or (result is not None and not isinstance(
                result, (bool, list, ShowResult, StreamResult)) and inspect.isawaitable(result)):
            return self._finish_async(cmd, result, flt)
        return self._finish(cmd, result, flt)

    async def _finish_async(self, cmd, awaitable, flt) -> bool:
        try:
            result = await awaitable
        except CliError as e:
            self._error([f"% {e}"])
            return False
        except Exception as e:
            self._internal(cmd, e)
            return False
        done = self._finish(cmd, result, flt)
        if not isinstance(done, bool):
            done = await done
        return done

    def _internal(self, cmd, e: Exception) -> None:
        self.internal_errors += 1
        log.error("command %s failed", cmd.text, exc_info=e)
        self._error([f"% Internal error: {type(e).__name__}: {e}"])

    def _finish(self, cmd, result: Any, flt: OutputFilter | None
                ) -> bool | Coroutine[Any, Any, bool]:
        if result is False:
            return False
        if cmd.kind == "config":
            self.ctx.config_changed()
        if isinstance(result, StreamResult):
            return self._stream(cmd, result, flt, self._show_key)
        if isinstance(result, ShowResult):
            if flt is not None and flt.name == "json":
                lines = result.json_lines()
            else:
                lines = result.lines()
            if flt is not None:
                lines = flt.apply(lines)
            if self._show_key is not None:
                self.ctx.show_cache.put(self._show_key, lines)
            self.ctx.output.show(lines)
        elif isinstance(result, list):
            if flt is not None and flt.name == "json":
                from jcli.views import lines_result
                result = lines_result(result).json_lines()
            else:
                result = [safe_line(line) for line in result]
            if flt is not None:
                result = flt.apply(result)
            if self._show_key is not None:
                self.ctx.show_cache.put(self._show_key, result)
            self.ctx.output.show(result)
        return True

    async def _stream(self, cmd, result: StreamResult, flt: OutputFilter | None,
                      key: tuple | None = None) -> bool:
        """A streamed show: pages are produced, filtered and handed over one at a time, and
        the event loop (the router) runs between two pages.  With a shared-show ``key`` the
        lines are kept (up to ``STREAM_SHARE_LINES``) for the lines that ask the same show
        meanwhile or within the cache's time (unless this line is a terminal's)."""
        pages = result.json_pages() if flt is not None and flt.name == "json" else result.pages()
        if flt is not None:
            pages = flt.stream(pages)
        failed: list[Exception] = []
        # a terminal line streams at its reader's pace (--More--): nobody waits for it
        cache = self.ctx.show_cache if key is not None and not self.ctx.interactive else None
        kept: list[str] | None = None
        shared: asyncio.Future[list[str] | None] | None = None
        if cache is not None:
            kept = []
            shared = asyncio.get_running_loop().create_future()
            cache.pending[key] = shared
        complete = False

        async def paced():
            nonlocal kept, complete
            it = iter(pages)
            while True:
                try:
                    page = next(it)
                except StopIteration:
                    complete = True
                    return
                except Exception as e:       # an engine bug must not end the session
                    failed.append(e)
                    return
                if page:
                    if kept is not None:
                        if len(kept) + len(page) > STREAM_SHARE_LINES:
                            kept = None
                        else:
                            kept += page
                    yield page
                await asyncio.sleep(0)

        out = self.ctx.output
        try:
            show_pages = getattr(out, "show_pages", None)
            if show_pages is not None:
                await show_pages(paced())
            else:
                async for page in paced():
                    out.show(page)
        finally:
            if cache is not None and shared is not None:
                whole = kept if complete and not failed else None
                if cache.pending.get(key) is shared:
                    del cache.pending[key]
                    if whole is not None:
                        cache.put(key, whole)
                shared.set_result(whole)
        if failed:
            self._internal(cmd, failed[0])
            return False
        return True

    async def execute(self, line: str) -> bool:
        r = self.run(line)
        if not isinstance(r, bool):
            r = await r
        return r

    async def run_script(self, lines, source: str = "<script>", *, start_mode: str = "config",
                         echo: bool = True, max_errors: int = SCRIPT_MAX_ERRORS) -> bool:
        """Replay a configuration script: every bad line is reported as `SOURCE:LINE: error`
        and skipped; the good ones are applied; exec commands are refused; the script stops
        after `max_errors` failed lines. Returns True when no line failed."""
        ctx = self.ctx
        saved = (ctx.mode, ctx.vr, ctx.vrf, ctx.node)
        ctx.mode, ctx.vr, ctx.vrf, ctx.node = start_mode, "default", None, None
        ctx.batch += 1
        failed = 0
        quit_before = ctx.quit
        lines = lines if isinstance(lines, list) else list(lines)
        prev = (self._where, self._script, self._echo)
        self._script, self._echo = True, echo
        try:
            for n, line in enumerate(lines, 1):
                s = line.lstrip()
                if not s or s[0] == "!":
                    continue
                self._where = f"{source}:{n}"
                r = self.run(line)
                if not isinstance(r, bool):
                    r = await r
                if not r:
                    failed += 1
                    if failed >= max_errors:
                        self._error([f"% Too many errors ({failed}): rest of {source} not read"])
                        break
                if ctx.quit and not quit_before:      # `exit` at the top: the script ends
                    ctx.quit = False
                    if any(ln.strip() and ln.lstrip()[0] != "!" for ln in lines[n:]):
                        self._where = f"{source}:{n + 1}"
                        self._error(["% Input continues after 'exit'; the rest is not run"])
                        failed += 1
                    break
        finally:
            self._where, self._script, self._echo = prev
            ctx.batch -= 1
            ctx.mode, ctx.vr, ctx.vrf, ctx.node = saved
            if ctx.vr not in ctx.config.virtual_routers:
                ctx.vr, ctx.vrf = "default", None
            if ctx.mode != "user" and MODES[ctx.mode].config and ctx.node is not None:
                ctx.enter("config")
            if not ctx.batch:
                ctx.flush_config()
        return failed == 0

    async def run_file(self, path: str, *, start_mode: str = "config") -> bool:
        """Replay a script file (see `read_script` for what is refused). A file that does not
        start like a configuration script has its lines never echoed."""
        real = os.path.realpath(path) if "\x00" not in path else path
        if real in self._files:
            raise ScriptError(f"Cannot read {path}: it is already being read (included by itself)")
        if len(self._files) >= SCRIPT_MAX_DEPTH:
            raise ScriptError(f"Cannot read {path}: scripts nested more than {SCRIPT_MAX_DEPTH} deep")
        lines = read_script(path)
        self._files.append(real)
        try:
            return await self.run_script(lines, os.path.basename(path), start_mode=start_mode,
                                         echo=self._looks_like_script(lines, start_mode))
        finally:
            self._files.pop()

    def _looks_like_script(self, lines: list[str], mode: str) -> bool:
        for line in lines:
            s = line.strip()
            if not s:
                continue
            if s[0] == "!":
                return True
            if len(line) > LINE_MAX:
                return False
            return match_line(self.registry.root(mode), line).status is OK
        return True

    # ----------------------------------------------------------------- ? and TAB
    def _filter_choices(self, line: str):
        """`?` / TAB after `show ... |`: the output filters, or None when not in a filter."""
        bar = line.find("|")
        if bar < 0:
            return None
        res = match_line(self.registry.root(self.ctx.mode), line[:bar])
        if res.status is not OK or res.command.kind != "show":
            return None
        rest = line[bar + 1:]
        words = rest.split()
        if len(words) > 1 or (words and rest[-1].isspace()):
            names = [n for n in FILTER_HELP if n.startswith(words[0].lower())]
            if len(names) != 1:
                return []
            if FILTER_ARG[names[0]]:
                return "", [("LINE", "Regular expression"), ("<cr>", "")] if len(words) > 1 \
                    else [("LINE", "Regular expression")]
            return "", ([("<cr>", "")] if len(words) == 1 else [])
        partial = words[0] if words else ""
        return partial, [(n, h) for n, h in FILTER_HELP.items() if n.startswith(partial)]

    def describe(self, line: str) -> list[str]:
        """The `?` output for `line` (the text before the `?`)."""
        if len(line) > LINE_MAX:
            return [LINE_TOO_LONG_MSG]
        flt = self._filter_choices(line)
        if flt is not None:
            if not flt or not flt[1]:
                return ["% Unrecognized command"]
            width = max(len(n) for n, _ in flt[1])
            return [f"  {n.ljust(width)}  {h}".rstrip() for n, h in flt[1]]
        choices, err = describe(self.registry.root(self.ctx.mode), line, self.ctx,
                                self.registry.completer_of)
        if err is not None:
            collect = ListOutput()
            saved, self.ctx.output = self.ctx.output, collect
            try:
                self._match_error(err, line)
                return collect.lines
            finally:
                self.ctx.output = saved
        if not choices:
            if line and not line[-1].isspace():
                return ["% Unrecognized command"]
            return ["% Invalid input detected at '^' marker."]
        width = max(map(len, [c[0] for c in choices]))
        return [f"  {t.ljust(width)}  {h}".rstrip() for t, h, _k in choices]

    def completions(self, line: str) -> tuple[str, list[tuple[str, str]]]:
        """TAB candidates for the word at the end of `line` -> (partial word, [(text, help)])."""
        if len(line) > LINE_MAX:
            return "", []
        partial = "" if not line or line[-1].isspace() else line.split()[-1]
        flt = self._filter_choices(line)
        if flt is not None:
            if not flt:
                return partial, []
            return flt[0], [(t, h) for t, h in flt[1] if t not in ("LINE", "<cr>")]
        choices, err = describe(self.registry.root(self.ctx.mode), line, self.ctx,
                                self.registry.completer_of)
        if err is not None:
            return partial, []
        return partial, [(t, h) for t, h, k in choices if k == "keyword" or k == "completion"]

    def complete(self, line: str) -> str:
        """TAB: the line with its last word completed (unique candidate, or common prefix)."""
        partial, cands = self.completions(line)
        if not cands:
            return line
        texts = [t for t, _ in cands]
        if len(texts) == 1:
            return line[:len(line) - len(partial)] + texts[0] + " "
        common = os.path.commonprefix(texts)
        if len(common) > len(partial):
            return line[:len(line) - len(partial)] + common
        return line
