"""The dial-out service's per-object reads: sessions by key and in order from an index, never
by copying or sorting the session table."""
from __future__ import annotations

import ipaddress
from typing import Any

from engine.dialout import ChassisConfig, SessionKey
from tests.present import present

from .helpers import Harness, vr_config

IP = ipaddress.IPv4Address


def harness() -> Harness:
    return Harness(ChassisConfig(max_connecting=5000),
                   vrs=[vr_config("home"), vr_config("other")])


def test_keys_in_order_resumable_and_safe_against_changes():
    h = harness()
    addrs = [f"10.10.{i % 7}.{i // 7 + 1}" for i in range(200)]
    for a in addrs:
        h.trigger(a)
    h.trigger("10.10.0.9", vr="other")
    keys = list(h.svc.iter_session_keys())
    assert keys == [SessionKey("home", IP(a)) for a in sorted(addrs, key=lambda a: int(IP(a)))] \
        + [SessionKey("other", IP("10.10.0.9"))]
    assert list(h.svc.iter_session_keys(after=keys[99])) == keys[100:]
    assert list(h.svc.iter_session_keys("other")) == keys[-1:]
    # a stream of sessions survives deletions and additions between two of its sessions
    it = h.svc.iter_sessions(now=h.now)
    first = [next(it) for _ in range(10)]
    h.svc.clear("home", str(keys[10].dst), now=h.now)
    h.trigger("10.10.6.250")
    rest = [SessionKey(s.vr, s.destination) for s in it]
    assert [SessionKey(s.vr, s.destination) for s in first] == keys[:10]
    assert rest == keys[11:-1] + [SessionKey("home", IP("10.10.6.250")), keys[-1]]


def test_one_session_and_one_address_are_look_ups(monkeypatch):
    h = harness()
    for i in range(500):
        h.trigger(f"10.10.1.{i % 250 + 1}" if i < 250 else f"10.10.2.{i % 250 + 1}")
    h.trigger("10.10.1.7", vr="other")
    built = []
    real = h.svc._session_snapshot

    def counting(s: Any, now: float) -> Any:
        built.append(s.key)
        return real(s, now)
    monkeypatch.setattr(h.svc, "_session_snapshot", counting)
    assert present(h.svc.session_snapshot("home", "10.10.1.7", now=h.now)).vr == "home"
    assert [s.vr for s in h.svc.sessions_to("10.10.1.7", now=h.now)] == ["home", "other"]
    assert len(built) == 3
    assert h.svc.select(None, "10.10.1.7") == [SessionKey("home", IP("10.10.1.7")),
                                              SessionKey("other", IP("10.10.1.7"))]


def test_summaries_do_not_read_sessions(monkeypatch):
    h = harness()
    for i in range(50):
        h.trigger(f"10.10.3.{i + 1}")
    monkeypatch.setattr(h.svc, "_session_snapshot", None)     # any session read would fail
    assert h.svc.chassis_snapshot().sessions == 50
    assert [v.sessions for v in h.svc.vr_snapshots()] == [50, 0]
    assert h.svc.target_snapshots() and h.svc.tunnel_snapshots() == ()
    h.svc.destination_snapshots(now=h.now)


def test_clear_keys_counts_only_sessions_still_there():
    h = harness()
    for a in ("10.10.0.1", "10.10.0.2"):
        h.trigger(a)
    keys = h.svc.select("home", None)
    assert h.svc.clear_keys(keys[:1], now=h.now) == 1
    assert h.svc.clear_keys(keys, now=h.now) == 1
    assert len(h.svc) == 0 and list(h.svc.iter_session_keys()) == []


def test_memory_per_session_stays_small():
    """Python heap per new (authenticating) session in the service, measured by tracemalloc:
    slotted records, a list (not a 700-byte deque) for the trigger buffer."""
    import tracemalloc
    h = harness()
    h.trigger("10.10.0.1")
    base = int(IP("10.10.1.0"))
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(2000):
            h.svc.on_trigger("home", IP(base + i), b"", now=h.now)
        h.reqs()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    per = sum(s.size_diff for s in after.compare_to(before, "filename")) / 2000
    assert per < 2000, per
