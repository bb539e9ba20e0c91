"""CLI benchmarks: configuration load rate and completion latency. JSON lines on stdout."""
from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jcli.context import Context, ListOutput  # noqa: E402
from jcli.executor import Executor  # noqa: E402


def emit(bench, metric, value, unit):
    print(json.dumps({"bench": bench, "metric": metric, "value": round(value, 3), "unit": unit}),
          flush=True)


def generate_config(n_lines: int) -> list[str]:
    """A realistic mix: VRs with routes, RADIUS servers, profiles, dial-out targets."""
    lines = ["hostname bench", "l2tp dial-out connect-timeout 120"]
    vr = 0
    i = 0
    while len(lines) < n_lines:
        if i % 5000 == 0:
            vr += 1
            lines += [f"virtual-router vr{vr}", " radius authentication server 10.0.0.1",
                      "  key secret", "  udp-port 1812", " exit",
                      " aaa authentication ppp default radius"]
        k = i % 10
        a, b = (i >> 8) & 255, i & 255
        if k < 6:
            lines.append(f" ip route 10.{a}.{b}.0 255.255.255.0 192.168.{a}.{b} tag {i}")
        elif k < 8:
            lines += [f" profile p{i}", "  ppp authentication chap pap", "  ip mtu 1400", " exit"]
        else:
            lines.append(f" l2tp dial-out target 172.{a}.{b}.0 255.255.255.0 domain d{i} profile p{i - 2}")
        i += 1
    return lines[:n_lines]


def bench_load(n_lines: int = 100_000) -> float:
    lines = generate_config(n_lines)
    printed = ListOutput()
    ex = Executor(Context(output=printed))
    t0 = time.perf_counter()
    ok = asyncio.run(ex.run_script(lines, "bench.scr"))
    dt = time.perf_counter() - t0
    assert ok, printed.lines[:5]
    rate = n_lines / dt
    emit("cli", "config_load_rate", rate, "lines/s")
    return rate


def bench_completion(n_profiles: int = 10_000) -> float:
    """Per keystroke: `?` listing plus the TAB/menu candidates (executor and the
    prompt_toolkit completer) for a line whose next token offers 10,000 profile names."""
    from prompt_toolkit.document import Document

    from jcli.completion import CliCompleter

    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    asyncio.run(ex.run_script([f"profile prof{i:05d}" for i in range(n_profiles)], "gen"))
    ctx.enter("config")
    comp = CliCompleter(ex)
    assert len(ex.describe("profile ")) >= n_profiles
    target = "profile prof01234"
    lines = [target[:j] for j in range(len("profile "), len(target) + 1)]
    for line in lines:                       # warm-up
        ex.describe(line)
    gc.freeze()                              # as the shell does after loading its configuration
    worst = 0.0
    for name, fn in (("help", ex.describe),
                     ("tab", lambda line: list(comp.get_completions(Document(line), None)))):
        samples = []
        for _ in range(5):
            for line in lines:
                t0 = time.perf_counter()
                fn(line)
                samples.append(time.perf_counter() - t0)
        samples.sort()
        emit("cli", f"completion_{name}_latency_median_10k", samples[len(samples) // 2] * 1000,
             "ms/keystroke")
        emit("cli", f"completion_{name}_latency_p95_10k", samples[int(len(samples) * 0.95)] * 1000,
             "ms/keystroke")
        worst = max(worst, samples[-1])
    emit("cli", "completion_latency_max_10k", worst * 1000, "ms/keystroke")
    return worst


async def _timed_apply(path: str, lines: list[str], tmp: str) -> float:
    """Seconds to apply `lines` through one input path of a shell with the real (simulated
    data plane) engine: "stdin" (batch), "paste" (an interactive multi-line paste, each
    line echoed) or "file" (`configure file`)."""
    from jcli.__main__ import engine_factory
    from jcli.app import ShellOutput, build_shell, close_shell
    from jcli.context import Options

    options = Options(startup=os.path.join(tmp, "none.scr"))
    out = ShellOutput(stream=open(os.devnull, "w"))
    shell = await build_shell(options, engine_factory(options), output=out)
    try:
        ctx = shell.ctx
        if path == "file":
            script = os.path.join(tmp, "bench.scr")
            with open(script, "w") as f:
                f.write("\n".join(lines) + "\n")
            t0 = time.perf_counter()
            ok = await shell.executor.execute(f"configure file {script}")
            dt = time.perf_counter() - t0
        elif path == "stdin":
            t0 = time.perf_counter()
            ok = await shell.run_lines(["configure terminal", *lines, "end"], "stdin") == 0
            dt = time.perf_counter() - t0
        else:
            pasted = ["configure terminal", *lines, "end"]
            t0 = time.perf_counter()
            ok = True
            for i, line in enumerate(pasted):
                ctx.write(ctx.prompt + line)
                ok = await shell.run_typed(line, more=i < len(pasted) - 1) and ok
            dt = time.perf_counter() - t0
        assert ok, (path, shell.executor.errors[:3])
        assert len(ctx.config.virtual_routers) > 1
        if path == "stdin":
            # one line typed afterwards: only its virtual router is reconciled
            await shell.run_typed("configure terminal")
            await shell.run_typed("virtual-router vr1")
            t0 = time.perf_counter()
            assert await shell.run_typed("ip route 10.250.0.0 255.255.0.0 192.0.2.1")
            emit("cli", f"apply_typed_line_after_{len(lines)}_lines",
                 (time.perf_counter() - t0) * 1000, "ms")
        return dt
    finally:
        out.stream.close()
        await close_shell(shell)


def bench_apply(sizes=(5_000, 100_000)) -> None:
    """Configuration applied to the engine by stdin, paste and `configure file` (goals:
    5,000 lines under 1 s, 100,000 under 2 s, by every path)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            lines = generate_config(n)
            for path in ("stdin", "paste", "file"):
                dt = asyncio.run(_timed_apply(path, lines, tmp))
                emit("cli", f"apply_{path}_{n}_lines", dt, "s")


if __name__ == "__main__":
    bench_load()
    bench_apply()
    bench_completion()
