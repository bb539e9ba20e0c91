"""The lab's dial-in subscribers through the shell: the sample dial-in configuration and lab
file (ports moved to free ones), subscribers dialling in at start, `show subscribers`,
`show ip route`, `show ppp interface`, pings to every subscriber, `clear l2tp session`."""
from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest

from engine.lab.labfile import LabFileError, parse_labfile
from jcli.bridge import RouterEngine
from jcli.context import Context, ListOutput, Options
from jcli.executor import Executor
from tests.dialout_e2e.helpers import free_udp_ports

pytestmark = pytest.mark.timeout(90)

SAMPLES = Path(__file__).resolve().parents[2] / "sample-configs"


async def run(ctx: Context, ex: Executor, line: str) -> list[str]:
    ok = await ex.execute(line)
    assert isinstance(ctx.output, ListOutput)
    out = ctx.output.take()
    assert ok, (line, out)
    return out


async def wait(pred, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


def sample(tmp_path: Path) -> tuple[Path, list[str]]:
    """The sample lab file and configuration, on a free RADIUS port and LAC address."""
    port = free_udp_ports(1)[0]
    lac_ip = f"127.95.{os.getpid() % 250}.4"
    toml = (SAMPLES / "dialin.toml").read_text()
    toml = toml.replace("127.0.0.1:18131", f"127.0.0.1:{port}").replace("127.0.0.4:1701",
                                                                       f"{lac_ip}:0")
    lab = tmp_path / "dialin.toml"
    lab.write_text(toml)
    script = (SAMPLES / "dialin.scr").read_text().replace("18131", str(port))
    script = script.replace("127.0.0.4", lac_ip)
    return lab, [ln for ln in script.splitlines() if ln.strip() and not ln.startswith("!")]


async def test_sample_subscribers_dial_in_through_the_shell(tmp_path: Path) -> None:
    lab, script = sample(tmp_path)
    options = Options(startup=str(tmp_path / "none.scr"), lab=str(lab))
    ctx = Context(options=options, output=ListOutput())
    ex = Executor(ctx)
    await run(ctx, ex, "configure terminal")
    for line in script:
        await run(ctx, ex, line)
    await run(ctx, ex, "end")
    eng = RouterEngine(options, ctx.output.write, model=ctx.config)
    await eng.start()
    ctx.engine = eng
    try:
        assert eng.lab is not None and not eng.lab.subscribers
        assert eng.dial_in_lab() == 4 and eng.dial_in_lab() == 0     # once
        assert len(eng.lab.subscribers) == 4
        await wait(lambda: sum(s.state == "up" for s in eng.engine.snapshot().subscribers) == 4)
        out = await run(ctx, ex, "show subscribers")
        assert out[-1] == "4 subscriber(s) found"
        alice = next(ln for ln in out if ln.startswith("alice@isp.example"))
        assert re.search(r"alice@isp\.example\s+default\s+10\.77\.0\.5\s+l2tp\d+\.\d+\s+up", alice)
        pooled = {ln.split()[0]: ln.split()[2] for ln in out if ln.startswith("sub")}
        assert set(pooled) == {f"sub{i}@isp.example" for i in range(3)}   # in any order
        assert set(pooled.values()) == {"10.70.0.1", "10.70.0.2", "10.70.0.3"}, out
        routes = "\n".join(await run(ctx, ex, "show ip route"))
        assert "10.77.0.5/32" in routes and "10.88.0.0/24" in routes and "10.70.0.3/32" in routes
        ppp = await run(ctx, ex, "show ppp interface brief")
        assert ppp[-1] == "4 PPP interface(s) found"
        detail = "\n".join(await run(ctx, ex, "show ppp interface"))
        assert re.search(r"l2tp\d+\.\d+ \(virtual router default, subscriber alice@isp\.example "
                         r"10\.77\.0\.5, L2TP \d+/\d+\)", detail), detail
        assert "trigger" not in detail
        sessions = await run(ctx, ex, "show l2tp session brief")
        assert sessions[-1] == "4 session(s) found"
        for addr in ("10.77.0.5", "10.70.0.1", "10.70.0.2", "10.70.0.3"):
            r = await eng.engine.ping("default", addr, count=1, timeout=3.0)
            assert r.received == 1, addr
        assert all(c.pings_answered == 1 for c in eng.lab.subscribers)
        # clear one session: that subscriber goes, its /32 with it
        sub = next(s for s in eng.engine.snapshot().subscribers if s.address == "10.70.0.2")
        await run(ctx, ex, f"clear l2tp session {sub.tunnel_id} {sub.session_id}")
        await wait(lambda: len(eng.engine.snapshot().subscribers) == 3)
        routes = "\n".join(await run(ctx, ex, "show ip route"))
        assert "10.70.0.2/32" not in routes and "10.70.0.1/32" in routes
        radius = eng.lab.radius[0].counters
        await wait(lambda: radius["accounting_requests"] >= 5)      # 4 Starts, 1 Stop
        # subscribers send their own pings; the cleared one dials in again on a lab command
        assert await eng.lab.ping("alice@isp.example", "10.0.0.1", count=2) == (2, 2)
        cleared = next(c for c in eng.lab.subscribers if c.down)
        assert await eng.lab.ping(cleared.spec.username, "10.0.0.1") == (0, 0)
        host, port = eng.engine.l2tp_local_addr
        lns = ("127.0.0.1" if host == "0.0.0.0" else host, port)
        assert eng.lab.dial_in(lns) == 1 and eng.lab.dial_in(lns) == 0
        await wait(lambda: sum(s.state == "up" for s in eng.engine.snapshot().subscribers) == 4)
        assert len(eng.lab.subscribers) == 4
        assert await eng.lab.ping(cleared.spec.username, "10.0.0.1") == (1, 1)
    finally:
        await eng.close()


def test_subscriber_entries_are_checked() -> None:
    lac = '[[lac]]\nname = "l"\nlisten = "127.0.0.9:0"\n'
    for bad in ('user = "u"\nlac = "nosuch"', 'user = "u"\nlac = "l"\ncount = 2',
                'user = "u{i}"\nlac = "l"\ncount = 0', 'user = "u"\nlac = "l"\nauth = "eap"',
                'user = "u"\nlac = "l"\npassword = 5', 'lac = "l"', 'user = "u"\nlac = "l"\nx = 1'):
        with pytest.raises(LabFileError):
            parse_labfile(lac + "[[subscriber]]\n" + bad + "\n")
    lab = parse_labfile(lac + '[[subscriber]]\nuser = "u{i}@d"\npassword = "p{i}"\nlac = "l"\n'
                        'count = 3\nauth = "pap"\n')
    import random
    cpes = lab.subscriber[0].cpes(random.Random(1))
    assert [(c.spec.username, c.spec.password) for c in cpes] == [
        ("u0@d", "p0"), ("u1@d", "p1"), ("u2@d", "p2")]


def test_sample_as_the_user_runs_it(tmp_path: Path) -> None:
    """`jcli --lab dialin.toml --config dialin.scr`: the subscribers dial in once the
    configuration admits their LAC, and answer pings."""
    import subprocess
    import sys
    lab, script = sample(tmp_path)
    scr = tmp_path / "dialin.scr"
    scr.write_text("\n".join(script) + "\n")
    root = str(Path(__file__).resolve().parents[2])
    r = subprocess.run([sys.executable, "-m", "jcli", "--startup", str(tmp_path / "startup.scr"),
                        "--lab", str(lab), "--config", str(scr), "-c", "ping 10.70.0.3",
                        "-c", "ping 10.77.0.5", "-c", "show subscribers"],
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=root))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert re.search(r"to 10\.77\.0\.5, timeout is 2 seconds:\nSuccess rate = 100% \(5/5\)",
                     r.stdout), r.stdout
    assert "4 subscriber(s) found" in r.stdout and r.stdout.count(" up ") == 4, r.stdout
