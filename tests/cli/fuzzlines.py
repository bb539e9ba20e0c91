"""Generated command lines for the shell's fuzz test and `bench/cli_fuzz.py`: the real
vocabulary (walks of the registered command graphs, abbreviated, in any case) mixed with junk
values (other scripts' digits, bytes that were not UTF-8, control characters, huge numbers,
overlong words and lines, regular expressions that backtrack)."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from grammars.spec import Node
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from jcli.modes import MODES
from jcli.registry import Registry, load_commands
from tests.output import printed

JUNK = [
    "\u0661.1.1.1", "1.1.1.\u0663", "\u0661\u0662", "\uff11\uff12", "\udcff\udcfe", "ab\udc80cd",
    "a\x00b", "\x1b[2J", "\x7f", "\x08\x08", "\t", "99999999999999999999", "-1", "4294967296",
    "65536", "256.1.1.1", "1.2.3", "1.2.3.4.5", "0x10", "1e3", "\u0435xit", "\u00e9t\u00e9",
    "\u200b", "\ufeff", "x" * 300, "%s%n%x", "'", '"', "\\", "{", "}", "[", "]", "$", "|", "||",
    "?", ":", "a:b", "..", "10.0.0.0/33", "1:2:3", "\u2028", "\x85", "\U0001f600",
]
REGEXES = ["(-|-|  )+z", "(a*)*b", "(x+x+)+y", "[", "\\", "(", "a{99999}", ".*", "^$",
           "\u0661", "(?P<n>a)", "a" * 300, "(((((((((a)))))))))*"]
SETUP = {
    "user": ["disable"],
    "exec": [],
    "config": ["configure terminal"],
    "config-profile": ["configure terminal", "profile fz"],
    "config-radius": ["configure terminal", "radius authentication server 10.9.9.9"],
    "config-domain-map": ["configure terminal", "aaa domain-map fz.example"],
    "config-vrf": ["configure terminal", "ip vrf fz"],
    "config-if": ["configure terminal", "interface loopback 7"],
    "config-l2tp-dest-profile": ["configure terminal",
                                 "l2tp destination profile fz ip address 10.9.9.8"],
    "config-l2tp-dest-profile-host": ["configure terminal",
                                      "l2tp destination profile fz ip address 10.9.9.8",
                                      "remote host fz-lac"],
}
RISKY = ("configure file", "ping")      # exec commands that would read files or wait


def _value(node: Node, rnd: random.Random) -> str:
    name = node.value_type.name
    if name in ("A.B.C.D", "MASK"):
        if name == "MASK" or rnd.random() < 0.3:
            return rnd.choice(["255.255.255.0", "255.255.0.0", "255.255.255.255", "0.0.0.0"])
        return ".".join(str(rnd.randint(0, 255)) for _ in range(4))
    if name == "A.B.C.D/M":
        return f"10.{rnd.randint(0, 255)}.0.0/{rnd.randint(8, 32)}"
    if name == "RD":
        return f"{rnd.randint(0, 65535)}:{rnd.randint(0, 99999)}"
    if name in ("WORD", "LINE"):
        return rnd.choice(["p1", "fz", "default", "vr1", "example.com", "key-1", "a_b"])
    lo, hi = (int(x) for x in name[1:-1].split("-"))
    return str(rnd.choice([lo, hi, rnd.randint(lo, hi)]))


def _walk(cmd, rnd: random.Random) -> list[tuple[str, bool]]:
    """A random path through one command's graph -> [(word, is_value)]."""
    out: list[tuple[str, bool]] = []
    nodes = cmd.spec.first
    while nodes:
        n = rnd.choice(nodes)
        if n.word is not None:
            w = n.word
            r = rnd.random()
            if r < 0.15:
                w = w[:max(1, rnd.randint(1, len(w)))]
            elif r < 0.25:
                w = w.upper()
            out.append((w, False))
        else:
            out.append((_value(n, rnd), True))
        if n.ends and (not n.next or rnd.random() < 0.4):
            break
        nodes = n.next
    return out


def _junk_line(rnd: random.Random) -> str:
    alphabet = "abcxyz019 .:/-|?!\t\x00\x01\x1b\x7f\u0661\u00e9\udcff\u202e\U0001f600"
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))


def generate(n: int, seed: int = 1, registry: Registry | None = None,
             mode: str | None = None) -> Iterator[str]:
    """`n` lines; with `mode`, mostly commands of that mode."""
    rnd = random.Random(seed)
    reg = registry or load_commands()
    cmds = [c for c in reg.commands if not c.text.startswith(RISKY)]
    if mode is not None:
        own = [c for c in cmds if mode in c.modes]
        cmds = own * 3 + cmds
    for _ in range(n):
        r = rnd.random()
        if r < 0.08:
            yield _junk_line(rnd)
            continue
        if r < 0.09:
            yield "ip route " + "1" * rnd.choice([4097, 5000, 20000])
            continue
        words = _walk(rnd.choice(cmds), rnd)
        m = rnd.random()
        if m < 0.25 and any(v for _, v in words):
            idx = [i for i, (_, v) in enumerate(words) if v]
            i = rnd.choice(idx)
            words[i] = (rnd.choice(JUNK), True)
        elif m < 0.35 and len(words) > 1:
            words.pop()
        elif m < 0.42:
            words.append((rnd.choice(JUNK), True))
        line = " ".join(w for w, _ in words)
        t = rnd.random()
        if t < 0.06:
            line += " | " + rnd.choice(["include", "exclude", "begin", "inc", "count", "json",
                                        "bogus"]) + " " + rnd.choice(REGEXES)
        elif t < 0.12:
            line = line[:rnd.randint(0, len(line))] + "?"
        yield line


@dataclass
class FuzzResult:
    lines: int = 0
    rejected: int = 0
    tracebacks: int = 0
    silent_rejections: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)


def check_model(model) -> None:
    """Every model the shell leaves behind converts to the engine's configuration and renders
    to a script that can be saved as UTF-8 (what `write memory` does)."""
    from jcli.bridge import engine_config
    from jcli.config.render import render_config
    engine_config(model)
    "\n".join(render_config(model)).encode("utf-8")


def new_session(startup: str) -> tuple[Context, Executor]:
    ctx = Context(output=ListOutput(), options=Options(startup=startup))
    return ctx, Executor(ctx)


async def _enter(ctx: Context, ex: Executor, mode: str) -> None:
    ctx.quit = False
    ctx.enter("exec")
    ctx.vr, ctx.vrf = "default", None
    for line in SETUP[mode]:
        assert await ex.execute(line), (mode, line, printed(ctx).take())
    printed(ctx).take()


async def drive(ctx: Context, ex: Executor, lines, mode: str, result: FuzzResult) -> None:
    """Run every line in `mode` (re-entered when a line leaves it): a line either runs or is
    rejected with a `%` message; nothing raises, no handler fails."""
    await _enter(ctx, ex, mode)
    for line in lines:
        if ctx.mode != mode or ctx.quit:
            await _enter(ctx, ex, mode)
        result.lines += 1
        before = ex.internal_errors
        try:
            if line.endswith("?"):
                out = ex.describe(line[:-1])
                ex.complete(line[:-1])
                if not out:
                    result.silent_rejections.append(line)
                continue
            ok = await ex.execute(line)
            if ok and ex.registry is not None:
                check_model(ctx.config)
        except Exception as e:       # a traceback would have reached the operator
            result.tracebacks += 1
            result.crashes.append(f"{mode}: {line!r}: {type(e).__name__}: {e}")
            continue
        out = printed(ctx).take()
        if ex.internal_errors != before or any("Internal error" in ln for ln in out):
            result.tracebacks += 1
            result.crashes.append(f"{mode}: {line!r}: {out[-1:]}")
        if not ok:
            result.rejected += 1
            if not any(ln.lstrip().startswith("%") or ": % " in ln for ln in out):
                result.silent_rejections.append(f"{mode}: {line!r}: {out}")


def run_all_modes(per_mode: int, startup: str, seed: int = 1) -> FuzzResult:
    result = FuzzResult()

    async def go() -> None:
        reg = load_commands()
        for i, mode in enumerate(MODES):
            ctx, ex = new_session(startup)
            await drive(ctx, ex, generate(per_mode, seed + i, reg, mode), mode, result)
    asyncio.run(go())
    return result
