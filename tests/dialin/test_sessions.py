"""Dial-in session table (sans-IO): states and actions, address pools, user domains."""
from __future__ import annotations

import ipaddress

import pytest

from engine.dialin import sessions as S

A = ipaddress.IPv4Address


def table_with_pool(first: str = "10.0.0.1", last: str = "10.0.0.3") -> S.SessionTable:
    t = S.SessionTable()
    t.set_pools("default", {"p": (A(first), A(last))})
    return t


def new(t: S.SessionTable, n: int = 1) -> S.Session:
    return t.new(1, n, vr="default", profile="dialin", ifname=f"l2tp1.{n}", calling_number="",
                 now=0.0)


def test_split_user() -> None:
    assert S.split_user("alice@isp.example") == ("alice", "isp.example")
    assert S.split_user("a@b@c") == ("a@b", "c")
    assert S.split_user("plain") == ("plain", "")


def test_every_row_leads_to_a_known_state() -> None:
    for (state, event), (nxt, actions) in S.TABLE.items():
        assert state in S.STATES and event in S.EVENTS and nxt in S.STATES
        assert all(isinstance(a, str) for a in actions)
    # a session only installs routes once, when IPCP first opens after authorisation
    assert [k for k, v in S.TABLE.items() if "install_routes" in v[1]] == [(S.AUTHORIZED,
                                                                          "network_up")]


def test_lifecycle_actions_and_forgetting() -> None:
    t = table_with_pool()
    s = new(t)
    assert t.fire(s, "network_up") == ()            # no IPCP before authorisation
    assert s.state == S.NEGOTIATING
    assert t.assign(s, None, "p") and s.address == A("10.0.0.1") and s.pool == "p"
    assert t.fire(s, "authorized") == () and s.state == S.AUTHORIZED
    assert t.fire(s, "network_up") == ("install_routes", "accounting_start")
    assert t.fire(s, "network_up") == ()            # IPCP renegotiated: nothing again
    assert t.fire(s, "down") == ("remove_routes", "accounting_stop", "release_address")
    assert not t.by_sid and not t.by_l2tp and t.counters["ended"] == 1
    assert t.fire(s, "down") == ()                  # gone once


def test_down_before_up_only_releases() -> None:
    t = table_with_pool()
    s = new(t)
    assert t.fire(s, "down") == ("release_address",)


def test_pool_allocates_lowest_and_reuses_released() -> None:
    t = table_with_pool()
    ss = [new(t, i) for i in range(1, 5)]
    got = [t.assign(s, None, "p") for s in ss]
    assert got == [True, True, True, False] and t.counters["no_address"] == 1
    assert [s.address for s in ss[:3]] == [A("10.0.0.1"), A("10.0.0.2"), A("10.0.0.3")]
    t.release(ss[1])
    assert t.assign(ss[3], None, "p") and ss[3].address == A("10.0.0.2")
    assert t.pools[("default", "p")].in_use == 3


@pytest.mark.parametrize("framed", ["0.0.0.0", "255.255.255.254", "255.255.255.255", "224.0.0.1",
                                    "127.0.0.1", "not-an-address"])
def test_hostile_framed_ip_falls_back_to_the_pool(framed: str) -> None:
    t = table_with_pool()
    s = new(t)
    assert t.assign(s, framed, "p") and s.address == A("10.0.0.1") and s.pool == "p"


def test_framed_ip_wins_and_is_not_released_to_a_pool() -> None:
    t = table_with_pool()
    s = new(t)
    assert t.assign(s, "10.9.9.9", "p") and s.address == A("10.9.9.9") and s.pool is None
    t.release(s)
    assert t.pools[("default", "p")].in_use == 0


def test_no_pool_no_framed_ip_refused() -> None:
    t = S.SessionTable()
    s = new(t)
    assert not t.assign(s, None, "missing") and s.address is None


def test_pool_reconfiguration_keeps_unchanged_pools() -> None:
    t = table_with_pool()
    s = new(t)
    t.assign(s, None, "p")
    pool = t.pools[("default", "p")]
    t.set_pools("default", {"p": (A("10.0.0.1"), A("10.0.0.3"))})
    assert t.pools[("default", "p")] is pool and pool.in_use == 1
    t.set_pools("default", {})
    assert ("default", "p") not in t.pools
    t.release(s)                                    # a pool that went away: nothing to do


def test_pool_range_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        S.AddressPool("x", A("10.0.0.5"), A("10.0.0.1"))


def test_no_two_subscribers_share_an_address() -> None:
    t = table_with_pool()
    a, b, c = new(t, 1), new(t, 2), new(t, 3)
    assert t.assign(a, "10.0.0.1", "p") and a.address == A("10.0.0.1")     # framed, in the pool
    assert not t.assign(b, "10.0.0.1", None) and t.counters["address_in_use"] == 1
    assert t.assign(c, None, "p") and c.address == A("10.0.0.2")           # .1 skipped
    t.release(a)
    d = new(t, 4)
    assert t.assign(d, None, "p") and d.address == A("10.0.0.1")           # .1 free again
    t.release(c)
    t.release(d)
    assert t.pools[("default", "p")].in_use == 0 and not t.holders
