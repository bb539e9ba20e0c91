"""Interface numbers of dial-out sessions (``ppp<N>``): the lowest free number is reused first.

The free numbers are a byte map indexed by number, not a collection of ``int`` objects: a
container holding one small object per session that ever came up would keep alive, after the
sessions are gone, memory of the whole flood they were allocated in (each object pinning the
allocator page it landed in among the session records).  The map shrinks from the top as the
highest numbers are given back, so after every session is gone it is empty again.
"""
from __future__ import annotations


class InterfaceNumbers:
    """Numbers 1, 2, ... in use by sessions; ``take`` hands out the lowest free one."""

    __slots__ = ("_free", "_nfree", "_low")

    def __init__(self) -> None:
        # _free[n] == 1: n was handed out and given back; len(_free) is the next new number;
        # index 0 is never handed out (and stays 0, a stop for rfind)
        self._free = bytearray(1)
        self._nfree = 0
        self._low = 1          # no free number below this one

    def __len__(self) -> int:
        """Numbers in use."""
        return len(self._free) - 1 - self._nfree

    @property
    def ceiling(self) -> int:
        """One more than the highest number in use (1 when none is)."""
        return len(self._free)

    def take(self) -> int:
        free = self._free
        if self._nfree:
            n = free.find(1, self._low)
            free[n] = 0
            self._nfree -= 1
            self._low = n + 1
            return n
        n = len(free)
        free.append(0)
        return n

    def give(self, n: int) -> bool:
        """Give ``n`` back; False (and nothing changes) when it is not in use."""
        free = self._free
        top = len(free) - 1
        if not 0 < n <= top or free[n]:
            return False
        if n < top:
            free[n] = 1
            self._nfree += 1
            if n < self._low:
                self._low = n
            return True
        # the highest number: drop it and the free numbers right below it
        keep = free.rfind(0, 0, top) + 1          # one past the highest number still in use
        self._nfree -= top - keep
        del free[keep:]
        if self._low > keep:
            self._low = keep
        return True
