"""Skips show their reason, fail under CI=true, and each requirement skips for its own reason."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import needs
from tests.wait import Timeout, wait_until

REPO = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

def test_passes():
    pass

def test_skips_itself():
    pytest.skip("needs the moon")

@pytest.mark.tools("no-such-tool-jcli")
def test_needs_a_missing_tool():
    pass

@pytest.mark.tools("sh")
def test_needs_a_present_tool():
    pass

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
'''


def run_sample(tmp_path: Path, ci: str | None, body: str = SAMPLE) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "-p", "tests.conftest",
                           "-W", "ignore::pytest.PytestUnknownMarkWarning", str(tmp_path / "test_sample.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_skips_are_listed_with_their_reason(tmp_path):
    r = run_sample(tmp_path, None)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 passed, 2 skipped, 1 xfailed" in r.stdout, r.stdout
    assert "needs the moon" in r.stdout
    assert "needs no-such-tool-jcli" in r.stdout


def test_under_ci_every_skip_fails_with_its_reason(tmp_path):
    r = run_sample(tmp_path, "true")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "2 passed" in r.stdout and "1 xfailed" in r.stdout and "skipped" not in r.stdout[-80:]
    assert r.stdout.count("skipped under CI=true") == 2, r.stdout
    assert "needs the moon" in r.stdout and "needs no-such-tool-jcli" in r.stdout


def test_under_ci_a_skipped_module_fails(tmp_path):
    body = 'import pytest\npytest.skip("whole module", allow_module_level=True)\n' \
           'def test_x():\n    pass\n'
    r = run_sample(tmp_path, None, body)
    assert r.returncode in (0, 5) and "whole module" in r.stdout, r.stdout   # 5: nothing ran
    r = run_sample(tmp_path, "true", body)
    assert r.returncode not in (0, 5) and "module skipped under CI=true" in r.stdout, r.stdout


def test_missing_tools_names_the_debian_package():
    assert needs.missing_tools("sh") is None
    reason = needs.missing_tools("sshpass-not-here", "xl2tpd-not-here")
    assert reason is not None and "sshpass-not-here" in reason and "xl2tpd-not-here" in reason
    assert needs.PACKAGES["radclient"] == "freeradius-utils"


def test_capture_check_really_captures(monkeypatch):
    """A tcpdump that starts but captures nothing is a reason, not a pass."""
    monkeypatch.setattr(needs, "tool", lambda name: "/bin/true" if name == "tcpdump" else None)
    reason = needs.capture_problem.__wrapped__()
    assert reason is not None and reason.startswith("needs capture"), reason


@pytest.mark.root
@pytest.mark.tools("tcpdump")
def test_capture_check_passes_where_tcpdump_captures():
    assert needs.capture_problem.__wrapped__() is None


def test_wait_until_returns_the_value_or_times_out():
    calls: list[int] = []

    def third_call() -> str:
        calls.append(1)
        return "done" if len(calls) >= 3 else ""

    assert wait_until(third_call, timeout=5, interval=0) == "done" and len(calls) == 3
    with pytest.raises(Timeout, match="never"):
        wait_until(lambda: False, timeout=0.05, what="never")
