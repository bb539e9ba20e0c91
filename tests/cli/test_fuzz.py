"""Property tests: arbitrary input never raises; random valid configurations round-trip."""
import asyncio
import atexit
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jcli.config.render import render_config
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from jcli.modes import MODES

WORDS = ["sh", "show", "conf", "t", "ip", "route", "10.0.0.0", "255.0.0.0", "null", "0", "l2tp",
         "dial-out", "target", "profile", "p", "|", "inc", "json", "?", "no", "default", "ppp",
         "authentication", "chap", "pap", "virtual-router", "radius", "server", "exit", "end",
         "x" * 3, "1.2.3.4", "99999999999", "<1-2>", "{", "[", "$", "\t", ":", "65000:1"]


_TMP = tempfile.mkdtemp(prefix="jcli-fuzz-")
atexit.register(shutil.rmtree, _TMP, True)
_OPTIONS = Options(startup=f"{_TMP}/startup.scr")     # `w` is `write`: never save into the cwd


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode=st.sampled_from(sorted(MODES)),
       line=st.one_of(st.text(max_size=40),
                      st.lists(st.sampled_from(WORDS), max_size=9).map(" ".join)))
def test_any_input_is_handled(mode, line):
    ctx = Context(output=ListOutput(), options=_OPTIONS)
    ex = Executor(ctx)
    ctx.enter(mode, None)
    ex.describe(line)
    ex.completions(line)
    ex.complete(line)
    if mode in ("user", "exec", "config"):
        r = ex.run(line)
        if not isinstance(r, bool):
            asyncio.run(r)


name = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
octet = st.integers(0, 255)
ip = st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(map(str, t)))
prefix16 = st.tuples(st.integers(1, 223), octet).map(lambda t: f"{t[0]}.{t[1]}.0.0")

LINE = st.one_of(
    st.builds(lambda p, g, d: f"ip route {p} 255.255.0.0 {g}" + (f" {d}" if d else ""),
              prefix16, ip, st.one_of(st.none(), st.integers(1, 255))),
    st.builds(lambda p, t: f"ip route {p} 255.255.0.0 null 0 tag {t}", prefix16,
              st.integers(0, 2**32 - 1)),
    st.builds(lambda n, a, k: [f"profile {n}", f" ppp authentication {a}", f" ppp mru {k}", " exit"],
              name, st.sampled_from(["pap", "chap", "pap chap", "chap pap"]), st.integers(64, 65535)),
    st.builds(lambda a, k, p: [f"radius authentication server {a}", f" key {k}",
                               f" udp-port {p}", " exit"], ip, name, st.integers(1, 65535)),
    st.builds(lambda d, v: [f"aaa domain-map {d}", f" router-name {v}", " exit"], name, name),
    st.builds(lambda p, d, n: f"l2tp dial-out target {p} 255.255.0.0 domain {d} profile {n}",
              prefix16, name, name),
    st.builds(lambda v: f"virtual-router {v}", name),
    st.builds(lambda n: f"l2tp dial-out max-buffered-triggers {n}", st.integers(0, 50)),
    st.builds(lambda n: f"l2tp retransmission {n}", st.integers(2, 7)),
    st.builds(lambda n, rd: [f"ip vrf {n}", f" rd {rd}", " exit"], name,
              st.builds(lambda a, b: f"{a}:{b}", st.integers(0, 65535), st.integers(0, 65535))),
    st.builds(lambda n, a: [f"interface loopback {n}", f" ip address {a} 255.255.255.255", " exit"],
              st.integers(0, 100), ip),
    st.just("l2tp checksum"),
    st.builds(lambda h: f"hostname {h}", name),
)


def _flatten(items):
    out = []
    for i in items:
        out += i if isinstance(i, list) else [i]
    return out


async def _load(lines):
    ctx = Context(output=ListOutput())
    ex = Executor(ctx)
    await ex.run_script(lines, "gen.scr")
    return ctx, ex


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINE, max_size=25).map(_flatten))
def test_random_config_round_trips(lines):
    async def go():
        ctx1, _ = await _load(lines)
        r1 = render_config(ctx1.config)
        ctx2, ex2 = await _load(r1)
        assert ex2.errors == []
        assert ctx2.config == ctx1.config
        assert render_config(ctx2.config)[1:] == r1[1:]
    asyncio.run(go())
