"""bench/scale.py --quick runs end to end (2,000 sessions, lab in a second process) and prints
one well-formed JSON row per figure, each goal-bearing row with its goal."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[2]


def test_scale_bench_quick():
    res = subprocess.run([sys.executable, str(REPO / "bench" / "scale.py"), "--quick",
                          "--keepalives", "0,30"],
                         capture_output=True, text=True, timeout=280, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(r["bench"] == "scale" and {"metric", "value", "unit"} <= set(r)
                        for r in rows)
    for keepalive in (0, 30):
        m = {r["metric"]: r for r in rows if r.get("keepalive") == keepalive}
        for name in ("show_one_session_ms_2000", "show_tunnel_ms_2000",
                     "show_brief_first_page_ms_2000", "show_brief_count_max_stall_ms_2000",
                     "show_route_count_s_2000", "clear_all_s_2000", "clear_max_stall_ms_2000",
                     "rss_mib_2000", "rss_after_clear_mib_2000", "gc_longest_pause_ms_0_2000"):
            assert "goal" in m[name], name
        assert m["gc_longest_pause_ms_0_2000"]["gen0_collections"] >= 1
        # each keepalive setting runs in a process of its own: a baseline of its own
        assert m["rss_baseline_mib"]["value"] < m["rss_mib_2000"]["value"]
        assert m["show_brief_count_s_2000"]["result"] == "Count: 2003 lines"
        assert m["show_route_count_s_2000"]["result"] == "Count: 4006 lines"
        assert m["clear_command_ms_2000"]["said"] == "2000 dial-out session(s) clearing"
        assert sum(r["completed"] for r in m.values()
                   if r["metric"].startswith("dialout_rate_")) == 2000
