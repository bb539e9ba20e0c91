"""Start-up of the shell with its engine: failure to start is one clear sentence."""
from __future__ import annotations

import os

from jcli.__main__ import main


def test_linux_dataplane_without_root_is_one_sentence(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    rc = main(["--dataplane", "linux", "--startup", str(tmp_path / "s.scr"), "-c", "show version"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err == ["% --dataplane linux needs root (network namespaces and TUN devices)"]


def test_sim_engine_runs_commands(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    rc = main(["--startup", str(tmp_path / "s.scr"), "-c", "show l2tp dial-out",
               "-c", "show virtual-router"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "L2TP dial-out chassis state: inService" in out
    assert "default         inService" in out
