"""Two PppLinks over a wire that loses, duplicates and reorders: no spurious failure.

Passwords are right on both sides, so every negotiation must end with both links in the
network phase; an authentication failure here is a protocol bug (a stale Challenge answered,
a Response judged against the wrong Challenge), and a negotiation that gives up is a timer
budget too small for the loss.
"""
import pytest

from .lossy import trial

TRIALS = 5000


@pytest.mark.parametrize("loss", [0.10, 0.30])
def test_no_spurious_failure_under_loss(loss):
    bad = []
    for seed in range(TRIALS):
        o = trial(seed, loss, dup=0.05, reorder=0.10)
        if o.auth_failures or not o.up:
            bad.append((seed, o.auth_failures, o.down))
    assert bad == []


@pytest.mark.parametrize("seed", range(8))
def test_keepalive_survives_loss(seed):
    # an idle established link with the engine's keepalive period, 30 % loss each way,
    # for six hours
    kw = dict(keepalive_interval=30.0)
    o = trial(seed, 0.30, a_kw=kw, b_kw=kw, keep_running=6 * 3600.0, until=7 * 3600.0)
    assert o.up and o.down == [] and o.end >= 6 * 3600.0
