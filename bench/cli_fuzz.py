"""Shell fuzzing benchmark: 200,000 generated command lines (real vocabulary mixed with junk
values, control characters, other scripts' digits, bytes that were not UTF-8, overlong lines,
backtracking filter expressions) through the executor in every mode. Reports lines/s and the
number of tracebacks (goal: 0) and of rejected lines without a `%` message (goal: 0).
JSON lines on stdout."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jcli.modes import MODES  # noqa: E402
from tests.cli.fuzzlines import run_all_modes  # noqa: E402


def emit(metric: str, value: float, unit: str) -> None:
    print(json.dumps({"bench": "cli_fuzz", "metric": metric, "value": round(value, 3),
                      "unit": unit}), flush=True)


def main(total: int = 200_000, seed: int = 1) -> int:
    per_mode = -(-total // len(MODES))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = run_all_modes(per_mode, os.path.join(tmp, "startup.scr"), seed)
        dt = time.perf_counter() - t0
    emit("lines", r.lines, "lines")
    emit("rate", r.lines / dt, "lines/s")
    emit("rejected", r.rejected, "lines")
    emit("tracebacks", r.tracebacks, "count")
    emit("silent_rejections", len(r.silent_rejections), "count")
    for c in r.crashes[:20]:
        print(f"# {c}", file=sys.stderr)
    for c in r.silent_rejections[:20]:
        print(f"# silent: {c}", file=sys.stderr)
    return 1 if r.tracebacks or r.silent_rejections else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000))
