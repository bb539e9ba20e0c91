"""Fixed request attributes are encoded once and reused."""
from __future__ import annotations

import pytest

from engine.aaa import codec


def test_fixed_attributes_are_encoded_once(monkeypatch):
    first = codec.encode_attribute("NAS-IP-Address", "192.0.2.77")
    assert first == bytes((4, 6, 192, 0, 2, 77))

    def fail(*args, **kwargs):
        raise AssertionError("encoded again")

    monkeypatch.setattr(codec, "_encode_value", fail)
    assert codec.encode_attribute("NAS-IP-Address", "192.0.2.77") == first
    with pytest.raises(AssertionError):                  # per-session values are not kept
        codec.encode_attribute("User-Name", "10.10.0.1@example")


def test_cached_and_fresh_encodings_agree():
    for name, value in [("Service-Type", 5), ("Service-Type", "Outbound-User"),
                        ("NAS-Port-Type", 5), ("Framed-Protocol", 1),
                        ("Acct-Status-Type", 2), ("Acct-Authentic", 1),
                        ("NAS-Identifier", "host1")]:
        fresh = codec._encode_attribute(name, value, b"", b"", None)
        assert codec.encode_attribute(name, value) == fresh
        assert codec.encode_attribute(name, value) == fresh


def test_bad_values_are_refused_every_time_and_not_kept():
    for _ in range(2):
        with pytest.raises(ValueError):
            codec.encode_attribute("NAS-IP-Address", "300.1.1.1")
    assert ("NAS-IP-Address", "300.1.1.1") not in codec._precompiled


def test_the_table_is_bounded(monkeypatch):
    monkeypatch.setattr(codec, "_precompiled", {})
    for i in range(codec._PRECOMPILED_MAX + 50):
        codec.encode_attribute("NAS-Identifier", f"nas-{i}")
    assert len(codec._precompiled) == codec._PRECOMPILED_MAX
    assert codec.encode_attribute("NAS-Identifier", "nas-9999")[2:] == b"nas-9999"
