"""Narrowing for tests: a value the code under test may return as None, where the test
expects one."""
from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    assert value is not None
    return value
