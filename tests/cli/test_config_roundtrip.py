"""Every prefix of every line completes; rendered configuration parses back line by line in
its mode; load -> render -> load -> render is a fixed point for every sample config."""
import glob
import os

import pytest

from grammars.matcher import OK, match_line
from jcli.config.render import FOOTER, HEADER, render_config
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.cli.transcript import inputs, new_session
from tests.output import printed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = sorted(glob.glob(os.path.join(ROOT, "sample-configs", "*.scr")))
TRANSCRIPTS = sorted(glob.glob(os.path.join(ROOT, "tests", "cli", "transcripts", "*.txt")))


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


async def _load(lines, source="x.scr"):
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    ok = await ex.run_script(lines, source)
    return ctx, ex, ok


def test_samples_found():
    assert any(p.endswith("basic.scr") for p in SAMPLES)


@pytest.mark.parametrize("path", SAMPLES, ids=[os.path.basename(p) for p in SAMPLES])
async def test_sample_loads_without_errors(path):
    ctx, ex, ok = await _load(_lines(path), os.path.basename(path))
    assert ok, ex.errors


@pytest.mark.parametrize("path", SAMPLES, ids=[os.path.basename(p) for p in SAMPLES])
async def test_render_fixed_point(path):
    ctx1, _, _ = await _load(_lines(path))
    r1 = render_config(ctx1.config)
    ctx2, ex2, ok = await _load(r1)
    assert ok, ex2.errors
    r2 = render_config(ctx2.config)
    assert r1[0].startswith(HEADER) and r1[-1] == FOOTER
    assert r1[1:] == r2[1:]
    assert ctx1.config == ctx2.config


@pytest.mark.parametrize("path", SAMPLES, ids=[os.path.basename(p) for p in SAMPLES])
async def test_rendered_lines_parse_in_their_mode(path):
    ctx1, _, _ = await _load(_lines(path))
    rendered = render_config(ctx1.config)
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    ctx.enter("config")
    for line in rendered:
        if line.lstrip().startswith("!"):
            continue
        res = match_line(ex.registry.root(ctx.mode), line)
        assert res.status == OK, f"{line!r} does not parse in mode {ctx.mode}: {res}"
        assert await ex.execute(line), line


@pytest.mark.parametrize("path", SAMPLES, ids=[os.path.basename(p) for p in SAMPLES])
async def test_every_prefix_of_sample_lines_completes(path):
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    ctx.enter("config")
    for line in _lines(path):
        for i in range(len(line) + 1):
            ex.describe(line[:i])
            ex.completions(line[:i])
            ex.complete(line[:i])
        await ex.execute(line)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[os.path.basename(p) for p in TRANSCRIPTS])
async def test_every_prefix_of_transcript_lines_completes(path, tmp_path):
    ctx, ex = new_session(options=Options(startup=str(tmp_path / "startup.scr")))  # `write`
    for line in inputs(open(path, encoding="utf-8").read()):
        line = line.removesuffix("?").removesuffix("<TAB>")
        for i in range(len(line) + 1):
            ex.describe(line[:i])
            ex.completions(line[:i])
        await ex.execute(line)
        printed(ctx).take()


async def test_script_errors_are_reported_with_file_and_line(tmp_path):
    f = tmp_path / "bad.scr"
    f.write_text("hostname good\nip route 10.0.0.0 255.0.0.0\nbogus line\nprofile p\n ppp mru 9\n"
                 " ppp mru 1500\nexit\n")
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    ok = await ex.run_file(str(f))
    assert not ok
    assert ex.errors == ["bad.scr:2: % Incomplete command.",
                         "bad.scr:3: % Invalid input detected at '^' marker.",
                         "bad.scr:5: % Invalid input detected at '^' marker."]
    assert ctx.config.hostname == "good"
    assert ctx.config.vr("default").profiles["p"].ppp_mru == 1500
    assert ctx.mode == "exec"


async def test_submode_line_falls_back_to_parent_mode():
    ctx, ex, ok = await _load(["profile p", " ppp mru 1500", "hostname r2", "ppp mru 1400"])
    # "ppp mru 1400" is not valid in (config) after hostname left the profile
    assert not ok
    assert ctx.config.hostname == "r2"
    assert ctx.config.vr("default").profiles["p"].ppp_mru == 1500
