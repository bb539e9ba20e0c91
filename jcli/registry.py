"""The command registry: each command is declared once (spec string + one help line per token
+ handler) for one or more modes. The same declaration drives parsing, `?`, TAB, the typed
handler arguments and the check that rendered configuration parses back.

    from jcli.registry import command
    from jcli.views import ShowResult

    @command("exec", "clear radius statistics", ["Reset functions", "RADIUS", "Counters"])
    def clear_radius(ctx): ...

    @command("*", "show profile [WORD$name]", ["Show", "Profiles", "Profile name"],
             complete={"name": profile_names})
    def show_profile(ctx, name): return ShowResult(data, render)

Modes: a mode name, a tuple of names, "*" (every mode), "exec*" (user and privileged exec),
"config*" (global configuration and its sub-modes). Handlers take `ctx` plus one keyword
argument per `$name` of the spec (None when absent); they may be `async def`. Raise
`CliError(msg)` to fail with `% msg`.

A configuration command also says how it is written back (`show configuration`): a writer
bound to the command and to the configuration node whose model object it reads, like FRR's
per-node config_write:

    @renders("config-profile", ppp_mru_handler)
    def _(p: Profile) -> Iterator[str]:
        if p.ppp_mru is not None:
            yield f"ppp mru {p.ppp_mru}"

Nodes are WRITE_NODES: "chassis" (RouterConfig), "virtual-router" (one VirtualRouter) and
the configuration sub-modes (their model object). A node is written in the order its
commands are declared; in a sub-mode node the line of the command that enters it comes
first, the sub-mode's own commands follow one space in, then ` exit`.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from grammars.matcher import Position
from grammars.spec import CompiledSpec, Node, compile_spec
from jcli.modes import ALL_MODES, CONFIG_MODES, EXEC_MODES, MODES


class CliError(Exception):
    """A command failed; the message is printed after `% `."""


@dataclass
class Command:
    spec: CompiledSpec
    modes: tuple[str, ...]
    handler: Callable
    kind: str                 # "config" (changes the model), "show", "exec", "nav"
    is_async: bool
    completers: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.spec.text

    @property
    def name(self) -> str:
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


Writer = Callable[[Any], Iterable[str]]
# where configuration is written: the router-wide part of global configuration, the part of
# one virtual router, and each configuration sub-mode
_TOP_NODES = ("chassis", "virtual-router")
WRITE_NODES = (*_TOP_NODES, *(n for n in CONFIG_MODES if n != "config"))


@dataclass(frozen=True, slots=True)
class _Bound:
    command: Command
    write: Writer
    inner: bool               # a command of the sub-mode itself (written one space in)


def _expand_modes(modes) -> tuple[str, ...]:
    if isinstance(modes, str):
        modes = (modes,)
    out: list[str] = []
    for m in modes:
        if m == "*":
            out += ALL_MODES
        elif m == "exec*":
            out += EXEC_MODES
        elif m == "config*":
            out += CONFIG_MODES
        elif m in MODES:
            out.append(m)
        else:
            raise ValueError(f"unknown mode {m!r}")
    return tuple(dict.fromkeys(out))


class Registry:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self._roots: dict[str, Position] = {}
        self._by_handler: dict[Callable, Command] = {}
        self._writers: dict[str, list[_Bound]] = {}

    def add(self, modes, spec: str, helps, handler: Callable, *, kind: str | None = None,
            complete: dict[str, Callable] | None = None) -> Command:
        compiled = compile_spec(spec, list(helps))
        modes_t = _expand_modes(modes)
        if kind is None:
            if compiled.nodes[0].word == "show":
                kind = "show"
            elif all(MODES[m].config for m in modes_t):
                kind = "config"
            else:
                kind = "exec"
        params = list(inspect.signature(handler).parameters)
        if not params or params[0] != "ctx" or set(params[1:]) != set(compiled.args):
            raise ValueError(f"handler {handler.__qualname__}{params} does not match spec {spec!r} "
                             f"args {compiled.args}")
        complete = dict(complete or {})
        for a in complete:
            if a not in compiled.args:
                raise ValueError(f"completer for unknown argument {a!r} in {spec!r}")
        cmd = Command(compiled, modes_t, handler, kind, inspect.iscoroutinefunction(handler),
                      complete, {a: None for a in compiled.args})
        for n in compiled.nodes:
            n.command = cmd
        self.commands.append(cmd)
        self._by_handler[handler] = cmd
        self._roots.clear()
        return cmd

    def command(self, modes, spec: str, helps, *, kind: str | None = None,
                complete: dict[str, Callable] | None = None):
        def deco(fn):
            self.add(modes, spec, helps, fn, kind=kind, complete=complete)
            return fn
        return deco

    def add_writer(self, node: str, handler: Callable, write: Writer) -> None:
        """Bind `write(model object of node) -> lines` to the command declared with `handler`."""
        if node not in WRITE_NODES:
            raise ValueError(f"unknown configuration node {node!r}")
        cmd = self._by_handler.get(handler)
        if cmd is None:
            raise ValueError(f"{getattr(handler, '__qualname__', handler)!r} is not a declared command")
        if cmd.kind != "config":
            raise ValueError(f"{cmd.text!r} is not a configuration command")
        bound = self._writers.setdefault(node, [])
        bound.append(_Bound(cmd, write, node in cmd.modes))
        order = {id(c): i for i, c in enumerate(self.commands)}
        bound.sort(key=lambda b: order[id(b.command)])

    def renders(self, node: str, handler: Callable) -> Callable[[Writer], Writer]:
        """Decorator form of add_writer."""
        def deco(fn: Writer) -> Writer:
            self.add_writer(node, handler, fn)
            return fn
        return deco

    def written(self, cmd: Command) -> bool:
        return any(b.command is cmd for bound in self._writers.values() for b in bound)

    def write(self, node: str, obj: Any) -> list[str]:
        """The configuration held by `obj` (the model object of `node`) as commands."""
        head: list[str] = []           # the command that enters a sub-mode
        inner: list[str] = []          # the sub-mode's own commands
        for b in self._writers.get(node, ()):
            if b.inner:
                for line in b.write(obj):
                    inner.append(" " + line)
            else:
                head.extend(b.write(obj))
        if node in _TOP_NODES:
            return head
        head.extend(inner)
        head.append(" exit")
        return head

    def root(self, mode: str) -> Position:
        pos = self._roots.get(mode)
        if pos is None:
            nodes: list[Node] = []
            from jcli.privilege import user_exec_allows
            for c in self.commands:
                if mode in c.modes and (mode != "user" or user_exec_allows(c)):
                    nodes += c.spec.first
            pos = self._roots[mode] = Position(nodes)
        return pos

    def subset(self, modules) -> Registry:
        """A registry with only the commands declared in the given modules (same Command
        objects), e.g. the core command set without extensions."""
        reg = Registry()
        reg.commands = [c for c in self.commands if c.handler.__module__ in set(modules)]
        reg._by_handler = {c.handler: c for c in reg.commands}
        keep = {id(c) for c in reg.commands}
        reg._writers = {node: [b for b in bound if id(b.command) in keep]
                        for node, bound in self._writers.items()}
        return reg

    @staticmethod
    def completer_of(node: Node):
        if node.arg is None or node.command is None:
            return None
        return node.command.completers.get(node.arg)


REGISTRY = Registry()
command = REGISTRY.command
renders = REGISTRY.renders
CORE_MODULES = ("jcli.commands.base", "jcli.commands.config", "jcli.commands.show")


_loaded = False


def load_commands() -> Registry:
    """Import every module of jcli.commands (each declares its commands on import); once."""
    global _loaded
    if _loaded:
        return REGISTRY
    import importlib
    import pkgutil

    import jcli.commands as pkg
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        importlib.import_module(f"jcli.commands.{info.name}")
    _loaded = True
    return REGISTRY
