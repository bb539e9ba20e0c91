"""Fixtures for the Linux dataplane tests: unique namespace prefixes, guaranteed cleanup."""
from __future__ import annotations

import itertools
import os
import re
import shutil

import pytest

from engine.dataplane import netns_helpers as nsh

_counter = itertools.count()
RUN_PREFIX = f"jt{os.getpid()}"


def missing_requirement() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces and TUN devices)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun (TUN driver)"
    if shutil.which("ip") is None:
        return "needs the 'ip' tool (iproute2)"
    return None


needs_root = pytest.mark.skipif(missing_requirement() is not None,
                                reason=missing_requirement() or "")


def _cleanup(prefix: str) -> list[str]:
    left = [ns for ns in nsh.list_namespaces() if ns.startswith(prefix)]
    for ns in left:
        nsh.delete_namespace(ns)
    return left


@pytest.fixture
def ns_prefix():
    """A namespace prefix unique to this test; anything left with it is deleted afterwards."""
    prefix = f"{RUN_PREFIX}n{next(_counter)}-"
    yield prefix
    _cleanup(prefix)


@pytest.fixture
def dp(ns_prefix):
    from engine.dataplane.linux import LinuxDataplane
    plane = LinuxDataplane(prefix=ns_prefix)
    try:
        yield plane
    finally:
        plane.close()
        assert not [ns for ns in nsh.list_namespaces() if ns.startswith(ns_prefix)]


def _cleanup_dead_runs() -> None:
    """Namespaces of test runs whose process is gone (a crashed or killed run)."""
    for ns in nsh.list_namespaces():
        m = re.match(r"jt(\d+)n\d+-", ns)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            nsh.delete_namespace(ns)


@pytest.fixture(scope="session", autouse=True)
def _no_leftovers():
    if missing_requirement() is None:
        _cleanup_dead_runs()
    yield
    _cleanup(RUN_PREFIX)
