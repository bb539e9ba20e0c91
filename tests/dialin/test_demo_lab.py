"""`make demo`'s lab also dials in: three subscribers of the lab LAC come up at start."""
from __future__ import annotations

import re

from tests.demo.test_demo import run, shell  # noqa: F401  (the demo's jcli on a pty)


def test_demo_subscribers_dial_in_and_answer(shell) -> None:  # noqa: F811
    shell.sendline("ping 10.70.0.3")
    shell.expect_exact("Success rate")
    out = run(shell, "show subscribers", "subscriber(s) found")
    assert "3 subscriber(s) found" in out
    assert len(re.findall(r"sub\d@isp\.example\s+default\s+10\.70\.0\.\d\s+l2tp\S+\s+up", out)) == 3
    run(shell, "ping 10.70.0.2", "Success rate")
    shell.expect_exact(")")
    assert shell.before.strip() == "= 100% (5/5"
