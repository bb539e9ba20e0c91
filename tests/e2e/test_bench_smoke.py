"""bench/dataplane_e2e.py runs (tiny counts), prints well-formed JSON lines and cleans up."""
from __future__ import annotations

import json
import subprocess

import pytest

from engine.dataplane import netns_helpers as nsh

from . import topology as topo

pytestmark = pytest.mark.timeout(120)


def ours(names) -> set[str]:
    """Names made by an e2e topology (of any process)."""
    return {n for n in names if topo.RUN_RE.match(n)}


def test_dataplane_e2e_bench_smoke():
    reason = topo.missing_requirement()
    if reason is not None:
        pytest.skip(reason)
    before = ours(nsh.list_namespaces()), ours(topo.link_names())
    res = subprocess.run(
        [topo.PYTHON, str(topo.REPO / "bench" / "dataplane_e2e.py"), "--count", "2000",
         "--echo-count", "300", "--bursts", "32", "--sizes", "64", "1400"],
        capture_output=True, text=True, timeout=90, cwd=topo.REPO)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(set(r) == {"bench", "metric", "value", "unit"} for r in rows)
    assert all(r["bench"] == "dataplane_e2e" for r in rows)
    m = {r["metric"]: r["value"] for r in rows}
    for size in (64, 1400):
        assert m[f"udp_forward_{size}B_pps"] > 0
        assert m[f"echo_{size}B_pps_each_way"] > 0
        assert m[f"echo_{size}B_lost"] == 0
    assert m["ppp_ip_rx_packets"] >= 600
    # the bench removed its namespaces and veth (names carry its pid, which is gone now)
    assert ours(nsh.list_namespaces()) - before[0] == set()
    assert ours(topo.link_names()) - before[1] == set()
