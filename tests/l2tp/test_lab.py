"""Lab file parsing and the `python -m engine.lab` process."""
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from engine.l2tp import CallUp
from engine.lab.labfile import LabFileError, LacFailure, LacSpec, load_labfile, parse_labfile
from tests.present import present

from .aio import EngineSide

EXAMPLE = textwrap.dedent('''
    [[radius]]
    name = "home"
    listen = "127.0.0.1:18121"
    secret = "home-secret"
    [radius.users."u@x"]
    reply = { "Service-Type" = "Outbound-User" }

    [[lac]]
    name = "lac1"
    listen = "127.0.0.2:1701"
    host-name = "lac1"
    secret = "tunnel-secret"

    [[lac]]
    name = "lac2"
    listen = "127.0.0.3:1702"
    failure = { mode = "refuse-call", drop = 0.2, seed = 3, cause = 34 }

    [[cpe]]
    number = "5551001"
    username = "cpe1"
''')


def test_parse_example():
    lab = parse_labfile(EXAMPLE)
    assert lab.lac[0] == LacSpec("lac1", ("127.0.0.2", 1701), "lac1", b"tunnel-secret")
    l2 = lab.lac[1]
    assert l2.host_name == "lac2" and l2.secret is None and l2.listen == ("127.0.0.3", 1702)
    assert l2.failure == LacFailure("refuse-call", 0.2, 3, 8, 34, 4)
    assert len(lab.radius) == 1 and len(lab.cpe) == 1


@pytest.mark.parametrize("bad", [
    '[[lac]]\nname = "a"\nbogus = 1\n',
    '[[lac]]\nfailure = { mode = "explode" }\n',
    '[[lac]]\nfailure = { drop = 1.5 }\n',
    '[[lac]]\nlisten = "127.0.0.1:xx"\n',
    '[[lac]]\nname = "a"\n[[lac]]\nname = "a"\n',
    '[[printer]]\n',
    'not toml =',
])
def test_bad_labfiles(bad):
    with pytest.raises(LabFileError):
        parse_labfile(bad)


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_lab_process_ready_and_sigterm(tmp_path):
    port = _free_port()
    f = tmp_path / "lab.toml"
    f.write_text(f'[[lac]]\nname = "lac1"\nlisten = "127.0.0.1:{port}"\nhost-name = "lac1"\nsecret = "s"\n')
    assert load_labfile(f).lac[0].listen == ("127.0.0.1", port)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, "-m", "engine.lab", str(f)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    assert p.stdout is not None
    try:
        line = p.stdout.readline()
        assert line.startswith("lab ready:") and f"lac lac1 127.0.0.1:{port}" in line
        eng = EngineSide()
        try:
            tid = eng.endpoint.open_tunnel(("127.0.0.1", port), secret=b"s", now=eng.now)
            eng.endpoint.place_outgoing_call(tid, called_number="1", now=eng.now)
            eng.adapter.flush()
            await eng.wait_for(lambda: eng.of(CallUp), timeout=10)
        finally:
            eng.close()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
        assert "lab stopped" in p.stdout.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_lab_process_bad_file(tmp_path):
    f = tmp_path / "lab.toml"
    f.write_text("[[lac]]\nfailure = 'nope'\n")
    r = subprocess.run([sys.executable, "-m", "engine.lab", str(f)], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert r.returncode == 2 and "lab:" in r.stderr


def test_share_spreads_servers_and_lacs_and_keeps_every_cpe():
    from engine.lab.__main__ import share
    text = EXAMPLE + '\n[[lac]]\nname = "lac3"\nlisten = "127.0.0.4:1701"\n'
    lab = parse_labfile(text)
    parts = [share(lab, i, 2) for i in range(2)]
    assert [x.name for x in parts[0].lac] == ["lac1", "lac3"]
    assert [x.name for x in parts[1].lac] == ["lac2"]
    assert len(parts[0].radius) == 1 and not parts[1].radius
    assert all(p.cpe == lab.cpe for p in parts)
    assert share(lab, 0, 1) is lab


async def test_lab_workers_answer_on_every_lac_and_stop_together(tmp_path):
    ports = [_free_port(), _free_port()]
    f = tmp_path / "lab.toml"
    f.write_text("".join(f'[[lac]]\nname = "lac{i}"\nlisten = "127.0.0.1:{port}"\n'
                         f'host-name = "lac{i}"\nsecret = "s"\n' for i, port in enumerate(ports)))
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    p = subprocess.Popen([sys.executable, "-m", "engine.lab", str(f), "--workers", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = present(p.stdout).readline()
        assert line.startswith("lab ready:"), line + present(p.stderr).read()
        assert f"lac lac0 127.0.0.1:{ports[0]}" in line and f"lac lac1 127.0.0.1:{ports[1]}" in line
        assert "workers=2" in line
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as fh:
            [child] = [int(x) for x in fh.read().split()]
        for port in ports:                   # each worker's LAC answers an outgoing call
            eng = EngineSide()
            try:
                tid = eng.endpoint.open_tunnel(("127.0.0.1", port), secret=b"s", now=eng.now)
                eng.endpoint.place_outgoing_call(tid, called_number="1", now=eng.now)
                eng.adapter.flush()
                await eng.wait_for(lambda eng=eng: eng.of(CallUp), timeout=10)
            finally:
                eng.close()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        assert not os.path.exists(f"/proc/{child}") or "zombie" in open(f"/proc/{child}/status").read().lower()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_lab_workers_out_of_range(tmp_path):
    f = tmp_path / "lab.toml"
    f.write_text("")
    r = subprocess.run([sys.executable, "-m", "engine.lab", str(f), "--workers", "0"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert r.returncode == 2 and "--workers" in r.stderr
