"""Fixtures for the real-kernel end-to-end tests (root, TUN, veth, namespaces)."""
from __future__ import annotations

import pytest

from . import topology as topo


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers():
    if topo.missing_requirement() is None:
        topo.cleanup_dead_runs()
    yield
    if topo.missing_requirement() is None:
        topo.cleanup_run()


@pytest.fixture
def lab(tmp_path):
    """The two-host topology with the lab peers running; torn down afterwards."""
    reason = topo.missing_requirement()
    if reason is not None:
        pytest.skip(reason)
    t = topo.Topology(tmp_path).open()
    try:
        yield t
    finally:
        t.close()


@pytest.fixture
def prefixed_dataplane(lab):
    """The namespace prefix the test's Engine uses (``Engine(netns_prefix=...)``)."""
    return lab.prefix
