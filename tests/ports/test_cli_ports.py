"""Port configuration through the real ``jcli`` program (sim dataplane): commands, show output,
the configuration's rendering, and the --port / --ports options."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jcli.__main__ import parse_ports

ROOT = Path(__file__).resolve().parents[2]


def jcli(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jcli", "--startup", str(tmp_path / "none.scr"),
                           *args], input=script, capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


SCRIPT = """configure terminal
virtual-router home
ip route 10.9.0.0 255.255.0.0 10.5.0.2
interface gigabitEthernet 1/0
description to the RADIUS server
ip address 10.5.0.1 255.255.255.0
shutdown
exit
radius update-source-addr 10.5.0.1
l2tp source-address 10.5.0.1
end
virtual-router home
show ip route
show ip interface brief
configure terminal
interface gigabitEthernet 1/0
no shutdown
end
show ip route
show ip interface brief
show interfaces gigabitEthernet 1/0
show configuration
"""


def test_port_configuration_and_shows(tmp_path: Path) -> None:
    p = jcli(tmp_path, SCRIPT, "--port", "gigabitEthernet1/0=veth-a")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    first, second = out.split("gigabitEthernet1/0 is up")[0].split("(inactive)")
    assert "administratively down" in second
    assert "10.9.0.0/16  10.5.0.2  gigabitEthernet1/0  static" in second
    assert "gigabitEthernet1/0  10.5.0.1    up      up" in second
    assert "Description: to the RADIUS server" in out
    assert "Internet address is 10.5.0.1/24" in out
    assert "Linux interface veth-a, virtual-router home" in out
    for line in (" interface gigabitEthernet 1/0", "  description to the RADIUS server",
                 "  ip address 10.5.0.1 255.255.255.0", " radius update-source-addr 10.5.0.1",
                 " l2tp source-address 10.5.0.1"):
        assert line in out.splitlines()


def test_configuration_replays(tmp_path: Path) -> None:
    p = jcli(tmp_path, SCRIPT, "--port", "gigabitEthernet1/0=veth-a")
    lines = p.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("! Configuration script"))
    body = lines[start + 1:lines.index("! end of configuration script")]
    conf = tmp_path / "saved.scr"
    conf.write_text("\n".join(body) + "\n")
    q = jcli(tmp_path, "show configuration\n", "--port", "gigabitEthernet1/0=veth-a",
             "--config", str(conf))
    assert q.returncode == 0, q.stderr
    assert " interface gigabitEthernet 1/0" in q.stdout.splitlines()
    assert "  ip address 10.5.0.1 255.255.255.0" in q.stdout.splitlines()


def test_no_interface_removes_the_port(tmp_path: Path) -> None:
    p = jcli(tmp_path, "configure terminal\ninterface gigabitEthernet 1/0\n"
             "ip address 10.5.0.1 255.255.255.0\nexit\nno interface gigabitEthernet 1/0\n"
             "end\nshow ip interface brief\nshow configuration\n",
             "--port", "gigabitEthernet1/0=veth-a")
    assert p.returncode == 0, p.stderr
    assert "gigabitEthernet" not in p.stdout
    q = jcli(tmp_path, "configure terminal\nno interface gigabitEthernet 1/0\n",
             "--port", "gigabitEthernet1/0=veth-a")
    assert q.returncode == 1
    assert "not configured" in q.stderr + q.stdout


def test_unknown_and_foreign_ports_refused(tmp_path: Path) -> None:
    p = jcli(tmp_path, "configure terminal\ninterface gigabitEthernet 2/0\n",
             "--port", "gigabitEthernet1/0=veth-a")
    assert p.returncode == 1
    assert "Interface gigabitEthernet 2/0 does not exist" in p.stderr + p.stdout
    p = jcli(tmp_path, "configure terminal\ninterface gigabitEthernet 1/0\nexit\n"
             "virtual-router home\ninterface gigabitEthernet 1/0\n",
             "--port", "gigabitEthernet1/0=veth-a")
    assert p.returncode == 1
    assert "is in virtual-router default" in p.stderr + p.stdout
    p = jcli(tmp_path, "configure terminal\ninterface gigabitEthernet 1:0\n",
             "--port", "gigabitEthernet1/0=veth-a")
    assert p.returncode == 1
    p = jcli(tmp_path, "configure terminal\ninterface loopback 0\nshutdown\n")
    assert p.returncode == 1
    assert "not supported on loopback" in p.stderr + p.stdout


def test_parse_ports(tmp_path: Path) -> None:
    f = tmp_path / "ports.toml"
    f.write_text('[ports]\n"GigabitEthernet1/0" = "veth-a"\n')
    assert parse_ports(["gigabitEthernet1/1=eth2"], str(f)) == {
        "gigabitEthernet1/0": "veth-a", "gigabitEthernet1/1": "eth2"}
    for bad in (["gig1/0=eth0"], ["gigabitEthernet1/0"], ["gigabitEthernet1/0=a b"],
                ["gigabitEthernet1/0=eth0", "gigabitEthernet1/1=eth0"],
                ["gigabitEthernet1/0=" + "x" * 16]):
        with pytest.raises(ValueError):
            parse_ports(bad, None)
    f.write_text("ports = 3\n")
    with pytest.raises(ValueError):
        parse_ports([], str(f))
    f.write_text("[ports\n")
    with pytest.raises(ValueError):
        parse_ports([], str(f))


def test_bad_port_option_is_a_usage_error(tmp_path: Path) -> None:
    p = jcli(tmp_path, "", "--port", "nonsense")
    assert p.returncode == 2
    assert "NAME=IFNAME" in p.stderr
    assert "Traceback" not in p.stderr
