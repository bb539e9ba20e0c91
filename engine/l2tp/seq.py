"""16-bit sequence number arithmetic (RFC 2661 §5.8, RFC 1982 style)."""
from __future__ import annotations

MOD = 0x10000
HALF = 0x8000


def seq_add(a: int, n: int) -> int:
    return (a + n) & 0xFFFF


def seq_diff(a: int, b: int) -> int:
    """Distance from b forward to a (a - b mod 2**16)."""
    return (a - b) & 0xFFFF


def seq_lt(a: int, b: int) -> bool:
    """a comes before b (within half the sequence space)."""
    d = (b - a) & 0xFFFF
    return 0 < d < HALF


def seq_le(a: int, b: int) -> bool:
    return a == b or seq_lt(a, b)
