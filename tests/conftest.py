"""Suite-wide: the skip policy (``tests/skip_policy.py``) and the requirement markers
``root``, ``tools(...)`` and ``capture`` (``tests/needs.py``), each skipping for its own reason."""
from __future__ import annotations

import pytest

from tests.needs import need_capture, need_root, need_tools
from tests.skip_policy import pytest_make_collect_report, pytest_runtest_makereport

__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None:
        need_root()
    for mark in item.iter_markers("tools"):
        need_tools(*mark.args)
    if item.get_closest_marker("capture") is not None:
        need_capture()
