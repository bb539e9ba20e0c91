"""Per-session bookkeeping that gives its memory back: interface numbers and index tables."""
from __future__ import annotations

import random
import sys
from collections import Counter, OrderedDict, defaultdict

import pytest

from engine.compact import MIN_TABLE_BYTES, compact, sparse
from engine.dialout.ifnums import InterfaceNumbers


# ---------------------------------------------------------------- interface numbers
def test_numbers_are_handed_out_lowest_free_first():
    nums = InterfaceNumbers()
    assert [nums.take() for _ in range(5)] == [1, 2, 3, 4, 5]
    assert nums.give(2) and nums.give(4)
    assert len(nums) == 3
    assert nums.take() == 2
    assert nums.take() == 4
    assert nums.take() == 6
    assert not nums.give(0) and not nums.give(7) and not nums.give(-1)
    assert nums.give(3) and not nums.give(3)        # given back once only
    assert nums.take() == 3


def test_giving_back_the_highest_numbers_shrinks_the_map():
    nums = InterfaceNumbers()
    taken = [nums.take() for _ in range(10_000)]
    assert nums.ceiling == 10_001
    for n in taken[:-1]:                       # every one but the highest: the map stays
        nums.give(n)
    assert nums.ceiling == 10_001 and len(nums) == 1
    nums.give(taken[-1])                       # the highest goes: everything below was free
    assert nums.ceiling == 1 and len(nums) == 0
    assert nums.take() == 1


def test_ceiling_drops_to_the_highest_number_in_use():
    nums = InterfaceNumbers()
    for _ in range(6):
        nums.take()
    nums.give(4)
    nums.give(5)
    nums.give(6)
    assert nums.ceiling == 4 and len(nums) == 3
    assert [nums.take() for _ in range(2)] == [4, 5]


def test_random_churn_matches_a_reference_model():
    rng = random.Random(7)
    nums = InterfaceNumbers()
    used: set[int] = set()
    for _ in range(20_000):
        if used and rng.random() < 0.5:
            n = rng.choice(sorted(used))
            assert nums.give(n)
            used.discard(n)
        else:
            n = nums.take()
            expect = min(set(range(1, max(used, default=0) + 2)) - used)
            assert n == expect
            used.add(n)
        assert len(nums) == len(used)
        assert nums.ceiling == max(used, default=0) + 1


def test_the_free_numbers_are_not_objects():
    """Numbers given back are bytes in one map, not int objects kept per session."""
    nums = InterfaceNumbers()
    for _ in range(50_000):
        nums.take()
    for n in range(1, 50_000):
        nums.give(n)
    assert sys.getsizeof(nums._free) < 60_000     # one byte per number, nothing per number


# ---------------------------------------------------------------- index tables
@pytest.mark.parametrize("make", [dict, set, Counter, OrderedDict, lambda: defaultdict(list)])
def test_a_shrunk_index_is_rebuilt_in_place(make):
    ix = make()
    for i in range(20_000):
        if isinstance(ix, set):
            ix.add(i)
        else:
            ix[i] = [i] if isinstance(ix, defaultdict) else i + 1
    peak = sys.getsizeof(ix)
    for i in range(20_000):
        if i % 1000:
            ix.discard(i) if isinstance(ix, set) else ix.pop(i)
            compact(ix)
    assert type(ix) is type(make())
    assert len(ix) == 20
    assert sys.getsizeof(ix) < MIN_TABLE_BYTES < peak
    keys = sorted(ix)
    assert keys == list(range(0, 20_000, 1000))
    if not isinstance(ix, set):
        assert list(ix) == keys                  # insertion order kept
        assert all(ix[k] == ([k] if isinstance(ix, defaultdict) else k + 1) for k in keys)


def test_a_fitted_or_small_index_is_left_alone():
    full = dict.fromkeys(range(50_000))
    assert not sparse(full) and not compact(full)
    small = dict.fromkeys(range(100))
    for k in range(99):
        del small[k]
    assert sys.getsizeof(small) < MIN_TABLE_BYTES
    before = sys.getsizeof(small)
    assert not compact(small) and sys.getsizeof(small) == before


def test_rebuilds_are_amortised():
    """Deleting every entry of an n-entry index one by one rebuilds it O(log n) times."""
    ix = dict.fromkeys(range(100_000))
    rebuilds = 0
    for k in range(100_000):
        del ix[k]
        rebuilds += compact(ix)
    assert 1 <= rebuilds <= 6
    assert sys.getsizeof(ix) < MIN_TABLE_BYTES
