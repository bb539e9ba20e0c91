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


# ---------------------------------------------------------------- attribute names looked up once

SAMPLES = [("User-Name", "10.10.0.1@example"), ("Framed-IP-Address", "10.1.2.3"),
           ("Tunnel-Type:1", "L2TP"), ("Tunnel-Medium-Type:3", 1),
           ("Tunnel-Client-Endpoint:1", "192.0.2.7"), ("Tunnel-Server-Auth-Id:2", "lns"),
           ("Tunnel-Preference:1", 5), ("Acct-Tunnel-Connection", "7/9"),
           ("Session-Timeout", 3600), ("CHAP-Challenge", bytes(16))]


def test_names_are_resolved_once_and_encode_as_before(monkeypatch):
    monkeypatch.setattr(codec, "_names", {})
    monkeypatch.setattr(codec, "_precompiled", {})
    first = [codec.encode_attribute(n, v) for n, v in SAMPLES]
    assert set(codec._names) >= {n for n, _ in SAMPLES}

    def fail(name):
        raise AssertionError(f"{name} resolved again")

    monkeypatch.setattr(codec, "split_name", fail)
    assert [codec.encode_attribute(n, v) for n, v in SAMPLES] == first
    assert first[2] == bytes((64, 6, 1, 0, 0, 3))            # tag 1, L2TP (RFC 2868 §3.1)


def test_bad_names_are_refused_every_time_and_not_kept(monkeypatch):
    monkeypatch.setattr(codec, "_names", {})
    for _ in range(2):
        with pytest.raises(KeyError):
            codec.encode_attribute("No-Such-Attribute", 1)
        with pytest.raises(ValueError):
            codec.encode_attribute("Tunnel-Type:32", "L2TP")
        with pytest.raises(ValueError):
            codec.encode_attribute("Tunnel-Type:x", "L2TP")
    assert not codec._names


def test_the_name_table_is_bounded(monkeypatch):
    monkeypatch.setattr(codec, "_names", {})
    monkeypatch.setattr(codec, "_NAMES_MAX", 3)
    for tag in range(10):
        codec.encode_attribute(f"Tunnel-Preference:{tag}", 1)
    assert len(codec._names) == 3
    assert codec.encode_attribute("Tunnel-Preference:9", 1) == bytes((83, 6, 9, 0, 0, 1))


def test_a_tunnels_own_attributes_are_encoded_once(monkeypatch):
    """RFC 2867 accounting carries the same tunnel attributes for every session in a tunnel."""
    monkeypatch.setattr(codec, "_precompiled", {})
    same = [("Tunnel-Type:1", "L2TP"), ("Tunnel-Medium-Type:1", "IPv4"),
            ("Tunnel-Client-Endpoint:1", "192.0.2.7"), ("Tunnel-Server-Endpoint:1", "192.0.2.1"),
            ("Tunnel-Client-Auth-Id:1", "lac"), ("Tunnel-Server-Auth-Id:1", "lns")]
    first = [codec.encode_attribute(n, v) for n, v in same]

    def fail(*args, **kwargs):
        raise AssertionError("encoded again")

    monkeypatch.setattr(codec, "_encode_value", fail)
    assert [codec.encode_attribute(n, v) for n, v in same] == first
