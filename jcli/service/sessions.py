"""Operator sessions of the running router: each has its own Context (mode, virtual-router
context, terminal length/width, debug subscriptions) on the one shared configuration and
engine."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from jcli.context import Context, Output
from jcli.executor import Executor

log = logging.getLogger("jcli.service.sessions")

DEBUG_KINDS = ("l2tp", "dial-out", "ppp", "radius")


def debug_kind(line: str) -> str | None:
    """Which `debug` subscription an engine output line belongs to (None: not a debug line)."""
    if line.startswith("L2TP dial-out ["):
        return "dial-out"
    if line.startswith("L2TP: "):
        return "l2tp"
    if line.startswith("%PPP: "):
        return "ppp"
    if line.startswith("RADIUS ["):
        return "radius"
    if line.startswith("%") and ":" in line[:16] and line[1:line.find(":")].isalpha():
        return line[1:line.find(":")].lower()
    return None


class SessionEngine:
    """What a session's context calls ``engine``: the shared engine, except that `debug`
    subscribes this session only (the engine traces the union of every session's kinds)."""

    def __init__(self, engine: Any, session: Session, table: SessionTable) -> None:
        self._engine = engine
        self._session = session
        self._table = table

    def set_debug(self, kind: str | None, on: bool) -> None:
        s = self._session
        if kind is None:
            s.debug = set(DEBUG_KINDS) if on else set()
        elif on:
            s.debug.add(kind)
        else:
            s.debug.discard(kind)
        self._table.update_debug()

    @property
    def debug(self) -> frozenset[str]:
        return frozenset(self._session.debug)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class Session:
    """One operator line: `kind` con/sock/telnet/ssh, `user`, `source` (address or peer)."""

    def __init__(self, line: int, kind: str, user: str, source: str, ctx: Context) -> None:
        self.line = line
        self.kind = kind
        self.user = user
        self.source = source
        self.ctx = ctx
        self.debug: set[str] = set()
        self.started = time.monotonic()
        self.last_active = self.started
        self.task: asyncio.Task[Any] | None = None
        self.closer: Callable[[], None] | None = None
        self.notify: Callable[[str], None] | None = None      # an asynchronous line to the operator
        self.closed = False
        self.running: asyncio.Task[Any] | None = None         # the command running now

    @property
    def executor(self) -> Executor:
        """The executor of this line: SessionTable.open builds one for every line it opens."""
        assert self.ctx.executor is not None
        return self.ctx.executor

    def set_running(self, task: asyncio.Task[Any] | None) -> None:
        self.running = task

    def interrupt(self) -> bool:
        """Ctrl-C from the line's transport: cancel the running command, if any."""
        t = self.running
        if t is None or t.done():
            return False
        t.cancel()
        return True

    def touch(self) -> None:
        self.last_active = time.monotonic()

    def say(self, line: str) -> None:
        if self.notify is not None and not self.closed:
            try:
                self.notify(line)
            except Exception:                     # a line that went away: it is closing
                log.debug("line %d: cannot write", self.line, exc_info=True)

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.say(f"% Session closed: {reason}")
        self.closed = True
        log.info("line %d (%s %s from %s) closed: %s", self.line, self.kind, self.user,
                 self.source, reason)
        # the goodbye line is printed above the prompt by the line's own loop turn: end the
        # line just after it
        asyncio.get_running_loop().call_later(0.1, self._end)

    def _end(self) -> None:
        if self.closer is not None:
            try:
                self.closer()
            except Exception:
                log.debug("line %d: close failed", self.line, exc_info=True)
        if self.task is not None and not self.task.done():
            self.task.cancel()


class SessionTable:
    MAX_SESSIONS = 256

    def __init__(self, config: Any, engine: Any, options: Any, authenticator: Any) -> None:
        self.config = config
        self.engine = engine
        self.options = options
        self.authenticator = authenticator
        self.sessions: dict[int, Session] = {}
        from jcli.registry import load_commands
        from jcli.service.showcache import ShowCache
        self.show_cache = ShowCache()
        self.registry = load_commands()          # once: a line opens without scanning modules

    def open(self, kind: str, user: str, source: str, output: Output, *, trusted: bool,
             privilege: int, interactive: bool) -> Session:
        if len(self.sessions) >= self.MAX_SESSIONS:
            raise OverflowError("too many sessions")
        line = next(i for i in range(len(self.sessions) + 1) if i not in self.sessions)
        ctx = Context(self.config, output=output, options=self.options, interactive=interactive)
        s = Session(line, kind, user, source, ctx)
        ctx.engine = SessionEngine(self.engine, s, self) if self.engine is not None else None
        ctx.user, ctx.privilege, ctx.trusted = user, privilege, trusted
        ctx.two_exits = interactive
        ctx.authenticator = self.authenticator
        ctx.service = self
        ctx.show_cache = self.show_cache
        ctx.mode = "exec" if (trusted or privilege >= 15) else "user"
        Executor(ctx, self.registry)
        self.sessions[line] = s
        # logins are events; a script run over the socket (monitoring polls) is not
        log.log(logging.INFO if interactive else logging.DEBUG, "line %d: %s %s from %s", line,
                kind, user, source)
        return s

    def remove(self, s: Session) -> None:
        if self.sessions.get(s.line) is s:
            del self.sessions[s.line]
            s.closed = True
            if s.debug:
                s.debug.clear()
                self.update_debug()

    def update_debug(self) -> None:
        kinds: set[str] = set()
        for s in self.sessions.values():
            kinds |= s.debug
        if self.engine is not None:
            self.engine.engine.debug = kinds

    def route_output(self, line: str) -> None:
        """An engine output line: debug lines to the sessions that asked for that kind, the
        rest to the log."""
        kind = debug_kind(line)
        if kind is None:
            logging.getLogger("jcli.service.engine").warning("%s", line.lstrip("% "))
            return
        for s in list(self.sessions.values()):
            if kind in s.debug:
                s.say(line)

    def close_all(self, reason: str) -> None:
        for s in list(self.sessions.values()):
            s.close(reason)
