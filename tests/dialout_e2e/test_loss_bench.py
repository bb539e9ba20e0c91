"""bench/loss.py --quick runs (a few dial-outs under L2TP loss), prints its curve as
well-formed JSON lines and leaves nothing behind."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def test_loss_bench_quick():
    res = subprocess.run([sys.executable, str(REPO / "bench" / "loss.py"), "--quick",
                          "--by", "lab"],
                         capture_output=True, text=True, timeout=230, cwd=REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert rows and all(r["bench"] == "loss" for r in rows)
    m = {r["metric"]: r for r in rows}
    for tag in ("0pct", "20pct"):
        for name in ("in_service_within_connect_timeout", "in_service_after_retrigger"):
            r = m[f"{name}_{tag}"]
            assert 0 <= r["value"] <= 100 and r["unit"] == "%" and r["calls"] == 40
            assert r["by"] == "lab" and r["tunnels"] <= 2
        assert m[f"established_lost_{tag}"]["value"] == 0
    # without loss every dial-out is in service at once
    assert m["in_service_within_connect_timeout_0pct"]["value"] == 100.0
    assert m["in_service_within_connect_timeout_20pct"]["loss"] == 0.2
