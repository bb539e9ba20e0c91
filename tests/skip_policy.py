"""Skips are visible and never hide a failure: under ``CI=true`` (CI has root and every tool)
a skipped test, or a skipped module, is reported as a failure carrying the skip's reason.

Loaded by ``tests/conftest.py``; usable alone with ``pytest -p tests.skip_policy``.
"""
from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest


def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None],
                              ) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {_reason(report.longrepr)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"module skipped under CI=true: {_reason(report.longrepr)}"
