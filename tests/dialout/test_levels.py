"""Chassis, VR and target states reached by their causes (dialout.md §7 Tables 71-73)."""
from __future__ import annotations

import dataclasses

import pytest

from engine.dialout import (
    ChassisConfig,
    ChassisState,
    ConfigError,
    DialoutConfig,
    DialoutService,
    SessionState,
    TargetState,
    VrState,
)

from .helpers import NET, Harness, vr_config

DST = "10.10.1.1"


def with_profiles(*names: str, vr: str = "home"):
    return dataclasses.replace(vr_config(vr), profiles=frozenset(names))


def test_full_session_table_restricts_the_chassis_until_a_session_goes():
    h = Harness(ChassisConfig(max_sessions=2, dormant_timeout=10))
    h.trigger("10.10.0.1")
    assert h.svc.chassis_state is ChassisState.IN_SERVICE
    h.trigger("10.10.0.2")
    snap = h.svc.snapshot(now=h.now).chassis
    assert (snap.state, snap.reason) == (ChassisState.RESTRICTED, "max-sessions 2 reached")
    h.trigger("10.10.0.3")
    assert h.state("10.10.0.3") is None
    events = []
    while (ev := h.svc.next_event()) is not None:
        events.append(ev.line)
    assert any("discarded: chassis restricted (max-sessions 2 reached)" in e for e in events)
    # an existing session may still dial again (it takes no new slot in the table)
    h.svc.clear("home", "10.10.0.1", now=h.now)
    assert h.svc.chassis_state is ChassisState.IN_SERVICE
    h.trigger("10.10.0.3")
    assert h.state("10.10.0.3") is SessionState.AUTHENTICATING


def test_restricted_refuses_dial_out_changes_and_changes_nothing():
    h = Harness(ChassisConfig(max_sessions=1))
    h.trigger(DST)
    assert h.svc.chassis_state is ChassisState.RESTRICTED
    h.reqs()
    before = h.svc.snapshot(now=h.now)
    with pytest.raises(ConfigError, match="restricted .max-sessions 1 reached."):
        h.svc.apply_config(DialoutConfig(h.chassis, (vr_config(targets=()),)), now=h.now)
    with pytest.raises(ConfigError):
        h.svc.apply_config(DialoutConfig(h.chassis, (vr_config(buffer=3),)), now=h.now)
    with pytest.raises(ConfigError):       # a new VR that comes with targets
        h.svc.apply_config(DialoutConfig(h.chassis, (*h.vrs, vr_config("new"))), now=h.now)
    with pytest.raises(ConfigError):
        h.svc.check_config(DialoutConfig(dataclasses.replace(h.chassis, max_sessions=5),
                                         h.vrs))
    assert h.svc.snapshot(now=h.now) == before
    assert h.reqs() == []
    # the same dial-out settings (here with profile names added) are taken
    h.svc.apply_config(DialoutConfig(h.chassis, (with_profiles("dialprof"),)), now=h.now)
    assert h.svc.chassis_state is ChassisState.RESTRICTED


def test_lost_resources_restrict_until_reported_back():
    h = Harness()
    h.svc.set_chassis_state("restricted", "out of memory", now=h.now)
    snap = h.svc.snapshot(now=h.now).chassis
    assert (snap.state, snap.reason) == (ChassisState.RESTRICTED, "out of memory")
    h.trigger(DST)
    assert h.state(DST) is None
    with pytest.raises(ConfigError, match="out of memory"):
        h.svc.apply_config(DialoutConfig(dataclasses.replace(h.chassis, connect_timeout=90),
                                         h.vrs), now=h.now)
    # VRs come and go (their targets with them): not dial-out settings
    h.svc.apply_config(DialoutConfig(h.chassis, (*h.vrs, vr_config("new", targets=()))),
                       now=h.now)
    h.svc.apply_config(DialoutConfig(h.chassis, (vr_config("new", targets=()),)), now=h.now)
    assert [v.name for v in h.svc.snapshot(now=h.now).vrs] == ["new"]
    h.reqs()
    h.svc.set_chassis_state("inService", now=h.now)
    assert h.svc.chassis_state is ChassisState.IN_SERVICE
    h.svc.apply_config(DialoutConfig(h.chassis, h.vrs), now=h.now)
    h.trigger(DST)
    assert h.state(DST) is SessionState.AUTHENTICATING


def test_target_down_while_its_profile_does_not_exist():
    h = Harness(vrs=(with_profiles("other"),))
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.DOWN, 'profile "dialprof" does not exist')
    h.trigger(DST)
    assert h.state(DST) is None
    lines = []
    while (ev := h.svc.next_event()) is not None:
        lines.append(ev.line)
    assert any('discarded: target down (profile "dialprof" does not exist)' in ln
               for ln in lines)
    h.svc.apply_config(DialoutConfig(h.chassis, (with_profiles("other", "dialprof"),)),
                       now=h.now)
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.IN_SERVICE, "")
    h.trigger(DST)
    assert h.state(DST) is SessionState.AUTHENTICATING


def test_target_down_while_its_vr_is_not_in_service_and_inhibited_kept():
    h = Harness()
    h.svc.set_target_state("home", NET, "inhibited", "no trigger resources", now=h.now)
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.INHIBITED, "no trigger resources")
    h.svc.set_vr_state("home", VrState.DOWN, now=h.now)
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.DOWN, "virtual router down")
    h.svc.set_vr_state("home", VrState.IN_SERVICE, now=h.now)
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.INHIBITED, "no trigger resources")
    h.svc.set_target_state("home", NET, "inService", now=h.now)
    [t] = h.svc.snapshot(now=h.now).targets
    assert (t.state, t.reason) == (TargetState.IN_SERVICE, "")


def test_vr_init_failed_makes_its_targets_down():
    svc = DialoutService(DialoutConfig(vrs=(vr_config(),)))
    svc.set_vr_state("home", VrState.INIT_FAILED, now=0)
    [t] = svc.snapshot(now=0).targets
    assert (t.state, t.reason) == (TargetState.DOWN, "virtual router initFailed")


def test_vr_state_reason_is_shown_and_carried_to_its_targets():
    svc = DialoutService(DialoutConfig(vrs=(vr_config(),)))
    svc.set_vr_state("home", VrState.INIT_FAILED, "namespace creation failed", now=0)
    snap = svc.snapshot(now=0)
    assert (snap.vrs[0].state, snap.vrs[0].reason) == (VrState.INIT_FAILED,
                                                       "namespace creation failed")
    assert snap.targets[0].reason == "virtual router initFailed: namespace creation failed"
    svc.on_trigger("home", DST, b"", now=0)
    assert svc.session_state("home", DST) is None
    svc.set_vr_state("home", VrState.IN_SERVICE, "ignored", now=0)
    snap = svc.snapshot(now=0)
    assert (snap.vrs[0].reason, snap.targets[0].state) == ("", TargetState.IN_SERVICE)


def test_reporting_each_targets_resources_is_linear_in_the_targets():
    """The engine reports every target of a VR after each configuration change: each report
    looks at its own target only (a VR with 2,000 targets once took seconds per change)."""
    from engine.dialout.targets import TargetConfig

    from .helpers import DOMAIN
    n = 2_000
    import ipaddress
    targets = tuple(TargetConfig(ipaddress.IPv4Network(f"10.{i >> 8}.{i & 255}.0/24"), DOMAIN,
                                 "dialprof")
                    for i in range(n))
    h = Harness(vrs=(vr_config(targets=targets),))
    looked = 0
    real = h.svc._refresh_target

    def counting(v, t, now):
        nonlocal looked
        looked += 1
        real(v, t, now)
    h.svc._refresh_target = counting            # type: ignore[method-assign]
    for t in targets:
        h.svc.set_target_state("home", t.prefix, TargetState.IN_SERVICE, now=h.now)
    assert looked == n
