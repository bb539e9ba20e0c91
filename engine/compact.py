"""Indexes that give their memory back when they shrink.

A ``dict`` or ``set`` keeps the table it grew to when entries are deleted: an index keyed by
session that once held 64,000 entries keeps a table of several MiB after every session is gone,
and the next flood does not reuse it for anything else.  The owner of such an index calls
``compact(index)`` after deleting from it; when the table has become much larger than its
entries need, it is rebuilt in place (same object, same entries and order, a table fitted to
them).

Cost: a size check per call; a rebuild costs the entries left, and happens only once the index
has lost most of what it held since its table was last fitted (the table must exceed
``SPARSE_BYTES_PER_ENTRY`` per entry, several times what a fitted table takes), so it is
amortised O(1) per deletion.  Lookups keep working across a rebuild; a live iterator over the
index itself does not (as for any deletion), so lazy readers iterate over keys of their own.
"""
from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any

#: tables smaller than this are never rebuilt
MIN_TABLE_BYTES = 16 * 1024
#: a table holding more bytes per entry than this is rebuilt; a fitted table takes about
#: 30-100 bytes per entry (dict and set alike), so this is a table at least ~5x too large
SPARSE_BYTES_PER_ENTRY = 512

__all__ = ["MIN_TABLE_BYTES", "SPARSE_BYTES_PER_ENTRY", "compact", "sparse"]


def sparse(index: dict[Any, Any] | set[Any]) -> bool:
    """Whether ``index``'s table is far larger than its entries need."""
    size = sys.getsizeof(index)
    return size >= MIN_TABLE_BYTES and size > SPARSE_BYTES_PER_ENTRY * len(index)


def compact(index: dict[Any, Any] | set[Any]) -> bool:
    """Rebuild ``index`` in place when it is ``sparse``; True when it was rebuilt."""
    if not sparse(index):
        return False
    if isinstance(index, dict):
        items = list(index.items())
        index.clear()                     # frees the table
        if isinstance(index, OrderedDict):
            index.update(items)
        else:                             # dict.update: a Counter's update would add counts
            dict.update(index, items)
    else:
        keys = list(index)
        index.clear()
        index.update(keys)
    return True
