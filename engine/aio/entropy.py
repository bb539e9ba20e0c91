"""A ``random.Random`` drawing on one pool of operating-system random bytes.

``random.SystemRandom`` makes one ``getrandom`` system call per number; a dial-out draws about
a dozen (tunnel and session ids, RADIUS authenticators, PPP magic numbers, CHAP challenges,
hidden-AVP vectors).  ``PooledRandom`` reads ``os.urandom`` in chunks of ``chunk`` bytes and
hands the bytes out in order, so the same numbers come from the same source at one system
call per ``chunk`` bytes.  Like ``SystemRandom`` it has no state to seed or restore.
"""
from __future__ import annotations

import os
import random
from typing import Any, NoReturn

_BPF = 53                 # bits in a float's mantissa
_RECIP_BPF = 2.0 ** -_BPF


class PooledRandom(random.Random):
    """Operating-system randomness, fetched ``chunk`` bytes at a time."""

    def __init__(self, chunk: int = 4096) -> None:
        self._chunk = max(64, chunk)
        self._pool = b""
        self._pos = 0
        super().__init__()

    def _take(self, n: int) -> bytes:
        pos = self._pos
        end = pos + n
        if end > len(self._pool):
            self._pool = os.urandom(max(self._chunk, n))
            pos, end = 0, n
        self._pos = end
        return self._pool[pos:end]

    def random(self) -> float:
        return (int.from_bytes(self._take(7), "big") >> 3) * _RECIP_BPF

    def getrandbits(self, k: int) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        nbytes = (k + 7) // 8
        x = int.from_bytes(self._take(nbytes), "big")
        return x >> (nbytes * 8 - k)

    def _randbelow(self, n: int) -> int:
        """0 <= x < n by rejection, straight from the pool (``randrange``/``randint`` use
        it; the inherited one goes through ``getrandbits`` once per try)."""
        k = n.bit_length()
        nbytes = (k + 7) // 8
        shift = nbytes * 8 - k
        while True:
            x = int.from_bytes(self._take(nbytes), "big") >> shift
            if x < n:
                return x

    def randbytes(self, n: int) -> bytes:
        return self._take(n)

    def seed(self, a: Any = None, version: int = 2) -> None:
        """No state to seed: the bytes come from the operating system."""

    def _notimplemented(self, *args: Any, **kwds: Any) -> NoReturn:
        raise NotImplementedError("PooledRandom has no state")

    getstate = setstate = _notimplemented
