"""The engine's random source: operating-system bytes drawn from one pool."""
from __future__ import annotations

import os

import pytest

from engine.aio import entropy
from engine.aio.engine import Engine
from engine.aio.entropy import PooledRandom


def test_numbers_are_in_range_and_cover_it():
    r = PooledRandom(chunk=64)
    bits = [r.getrandbits(k) for k in (1, 7, 8, 16, 31, 32, 128) for _ in range(200)]
    assert all(b >= 0 for b in bits)
    assert max(r.getrandbits(1) for _ in range(200)) == 1
    vals = [r.randrange(1, 65535) for _ in range(5000)]
    assert min(vals) >= 1 and max(vals) < 65535 and len(set(vals)) > 4500
    floats = [r.random() for _ in range(5000)]
    assert 0.0 <= min(floats) < 0.01 and 0.99 < max(floats) < 1.0
    assert all(r.getrandbits(12) < 4096 for _ in range(1000))
    assert len(r.randbytes(1000)) == 1000          # more than one chunk at once
    with pytest.raises(ValueError):
        r.getrandbits(-1)


def test_one_system_call_per_chunk(monkeypatch):
    calls: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(entropy.os, "urandom", counting)
    r = PooledRandom(chunk=4096)
    for _ in range(256):
        r.getrandbits(32)
        r.randbytes(12)
    assert calls == [4096]                         # 256 * 16 bytes from one read


def test_bytes_are_never_handed_out_twice(monkeypatch):
    counter = iter(range(10**6))
    monkeypatch.setattr(entropy.os, "urandom",
                        lambda n: bytes(next(counter) & 0xFF for _ in range(n)))
    r = PooledRandom(chunk=64)
    got = b"".join(r.randbytes(5) for _ in range(40))
    # 12 draws of 5 fit a 64-byte chunk; then a fresh chunk: the sequence never repeats a byte
    # position (it is the counter in order, the 4 bytes left over at each chunk's end skipped)
    assert got[:60] == bytes(range(60))
    assert got[60:65] == bytes(range(64, 69))


def test_the_engine_draws_from_the_pool():
    assert isinstance(Engine(output=lambda line: None).rng, PooledRandom)


def test_ranges_are_uniform_and_drawn_from_the_pool_directly(monkeypatch):
    r = PooledRandom(chunk=4096)
    draws: list[int] = []
    real = r._take

    def take(n: int) -> bytes:
        draws.append(n)
        return real(n)
    monkeypatch.setattr(r, "_take", take)
    monkeypatch.setattr(r, "getrandbits", None)       # not used for ranges
    counts = [0] * 6
    for _ in range(6000):
        counts[r.randint(1, 6) - 1] += 1
    assert all(800 < c < 1200 for c in counts)         # about 1000 each
    assert set(draws) == {1}                            # one byte per try for a 3-bit number
    assert all(0 <= r.randrange(256) < 256 for _ in range(100))
    assert {r.randrange(2) for _ in range(100)} == {0, 1}
