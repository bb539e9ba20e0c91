"""An ordered set of integers with O(log n) amortised insertion and removal.

Theory of operation: the keys are kept in a list of sorted chunks of at most ``2 * LOAD``
keys, with a parallel list of each chunk's largest key.  A key is found by bisecting the list
of maxima, then its chunk; insertion and removal move at most one chunk's worth of pointers
(a bounded ``memmove``), and a chunk that grows past ``2 * LOAD`` is split in two.  Nothing is
ever re-sorted.

Iteration (``iter_from``) is lazy and survives changes made between the keys it yields: it
copies one chunk at a time and finds its place again from the last key it returned, so a
caller can stream a large table page by page while the table changes.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

LOAD = 512


class SortedKeys:
    """Ordered set of ints (see the module docstring)."""

    __slots__ = ("_chunks", "_len", "_maxes")

    def __init__(self) -> None:
        self._chunks: list[list[int]] = []
        self._maxes: list[int] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __contains__(self, key: int) -> bool:
        i = bisect_left(self._maxes, key)
        if i == len(self._maxes):
            return False
        chunk = self._chunks[i]
        j = bisect_left(chunk, key)
        return chunk[j] == key

    def add(self, key: int) -> bool:
        """Insert ``key``; False when it was present already."""
        maxes = self._maxes
        if not maxes:
            self._chunks.append([key])
            maxes.append(key)
            self._len = 1
            return True
        i = bisect_left(maxes, key)
        if i == len(maxes):
            i -= 1
            chunk = self._chunks[i]
            chunk.append(key)
            maxes[i] = key
        else:
            chunk = self._chunks[i]
            j = bisect_left(chunk, key)
            if chunk[j] == key:
                return False
            chunk.insert(j, key)
        self._len += 1
        if len(chunk) > 2 * LOAD:
            self._chunks[i:i + 1] = [chunk[:LOAD], chunk[LOAD:]]
            maxes[i:i + 1] = [chunk[LOAD - 1], chunk[-1]]
        return True

    def discard(self, key: int) -> bool:
        """Remove ``key``; False when it was absent."""
        maxes = self._maxes
        i = bisect_left(maxes, key)
        if i == len(maxes):
            return False
        chunk = self._chunks[i]
        j = bisect_left(chunk, key)
        if chunk[j] != key:
            return False
        del chunk[j]
        self._len -= 1
        if not chunk:
            del self._chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]
        return True

    def clear(self) -> None:
        self._chunks.clear()
        self._maxes.clear()
        self._len = 0

    def __iter__(self) -> Iterator[int]:
        return self.iter_from()

    def iter_from(self, start: int | None = None, *, inclusive: bool = True) -> Iterator[int]:
        """Keys in ascending order from ``start`` (every key when None), lazily."""
        if start is None:
            if not self._maxes:
                return
            start, inclusive = self._chunks[0][0], True
        while True:
            maxes = self._maxes
            i = bisect_left(maxes, start) if inclusive else bisect_right(maxes, start)
            if i == len(maxes):
                return
            chunk = self._chunks[i]
            j = bisect_left(chunk, start) if inclusive else bisect_right(chunk, start)
            part = chunk[j:]          # a copy: the caller may change the set meanwhile
            yield from part
            start, inclusive = part[-1], False
