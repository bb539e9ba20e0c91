"""The context handed to every handler, the output sinks and the start-up options."""
from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jcli.config.model import RouterConfig, VirtualRouter
from jcli.modes import MODES, prompt
from jcli.views import safe_line

if TYPE_CHECKING:
    from jcli.executor import Executor


@dataclass
class Options:
    config: list[str] = field(default_factory=list)     # --config FILE (repeatable)
    commands: list[str] = field(default_factory=list)   # -c CMD (repeatable)
    lab: str | None = None                              # --lab LABFILE
    dataplane: str = "sim"                              # --dataplane {sim,linux}
    keep_namespaces: bool = False
    netns_prefix: str = "jcli-"                         # --netns-prefix (linux dataplane)
    startup: str = "startup.scr"
    strict_startup: bool = False
    ports: dict[str, str] = field(default_factory=dict)  # --port NAME=LINUX-IF / --ports FILE


class Output:
    """Where command output goes. `write` prints one line now (progress output, errors);
    `show` hands over the complete output of a show command (the shell pages it)."""

    def write(self, line: str) -> None:
        raise NotImplementedError

    def error(self, line: str) -> None:
        """An error line (batch mode sends these to stderr)."""
        self.write(line)

    def show(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    async def show_pages(self, pages: AsyncIterator[list[str]]) -> None:
        """Show output produced page by page (a streamed show); by default as it comes."""
        async for page in pages:
            self.show(page)
            if getattr(self, "broken", False):     # stdout closed (`| head`): stop producing
                break


class ListOutput(Output):
    def __init__(self):
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)

    def show(self, lines: list[str]) -> None:
        self.lines.extend(lines)

    def take(self) -> list[str]:
        out, self.lines = self.lines, []
        return out


class StreamOutput(Output):
    """Batch output: lines to stdout, errors to stderr. A closed stdout (`| head`) ends the
    session quietly instead of raising BrokenPipeError at every later line."""

    def __init__(self, stream: Any = None, err_stream: Any = None) -> None:
        self.stream = stream
        self.err_stream = err_stream
        self.broken = False

    def _put(self, stream: Any, line: str) -> None:
        if self.broken:
            return
        try:
            stream.write(line + "\n")
        except BrokenPipeError:
            self.broken = True
            _silence(stream)

    def write(self, line: str) -> None:
        self._put(self.stream or sys.stdout, line)

    def error(self, line: str) -> None:
        s = self.err_stream or (sys.stderr if self.stream is None else self.stream)
        self._put(s, line)


def _silence(stream: Any) -> None:
    """After EPIPE: point the stream's descriptor at /dev/null so that flushing at exit does
    not raise again."""
    try:
        stream.flush()
    except (OSError, ValueError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


class Context:
    """State of one CLI session.

    config      the RouterConfig model (shared with the engine)
    engine      None, or an object with apply_config(model) and snapshot()
    output      an Output
    mode        current mode name (jcli.modes.MODES)
    vr, vrf     current virtual router / VRF context
    node        the model object a sub-mode edits (Profile, RadiusServer, ...)
    options     Options
    """

    def __init__(self, config: RouterConfig | None = None, *, engine: Any = None,
                 output: Output | None = None, options: Options | None = None,
                 interactive: bool = False):
        self.config = config if config is not None else RouterConfig()
        self.engine = engine
        self.output = output if output is not None else ListOutput()
        self.options = options if options is not None else Options()
        self.interactive = interactive
        self.mode = "exec"
        self.vr = "default"
        self.vrf: str | None = None
        self.node: Any = None
        self.terminal_length = 24 if interactive else 0
        self.terminal_width = 80 if interactive else 0
        self.batch = 0              # >0 while a script runs: engine is told once at the end
        self.dirty = False
        self.quit = False
        self.started = time.time()
        # the operator on this line (jcli.service): who, how trusted, how `enable` asks
        self.user: str | None = None
        self.privilege = 15
        self.trusted = True             # console / local attach: `enable` needs no login
        self.two_exits = False          # a login session: `exit` from # drops to >
        self.ask_secret: Any = None     # async (prompt) -> str, on an interactive line
        self.authenticator: Any = None  # jcli.auth.Authenticator of the service
        self.service: Any = None        # jcli.service.sessions.SessionTable, when a service
        self.executor: Executor | None = None     # set by the Executor that runs this session
        self.show_cache: Any = None     # jcli.service.showcache.ShowCache shared by the lines

    @property
    def prompt(self) -> str:
        return prompt(self.config.hostname, self.vr, self.vrf, self.mode)

    @property
    def vr_config(self) -> VirtualRouter:
        vr = self.config.virtual_routers.get(self.vr)
        if vr is None:                       # VR deleted under our feet
            self.vr, self.vrf = "default", None
            vr = self.config.virtual_routers["default"]
        return vr

    def enter(self, mode: str, node: Any = None) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self.node = node

    def write(self, line: str = "") -> None:
        self.output.write(safe_line(line))

    def error(self, line: str) -> None:
        self.output.error(safe_line(line))

    def snapshot(self) -> Any:
        """The engine's current snapshot, or None without an engine."""
        return self.engine.snapshot() if self.engine is not None else None

    def config_changed(self) -> None:
        """Called after each successful configuration change. While lines are run in a batch
        (script, stdin, a paste) the engine is told once, before the next command that looks
        at it and at the end, not once per line."""
        self.dirty = True
        if self.show_cache is not None:
            self.show_cache.clear()
        if not self.batch:
            self.flush_config()

    def flush_config(self) -> None:
        """Hand pending configuration changes to the engine."""
        if not self.dirty:
            return
        self.dirty = False
        if self.engine is not None:
            self.engine.apply_config(self.config)

    @property
    def startup_path(self) -> str:
        return os.path.abspath(self.options.startup)
