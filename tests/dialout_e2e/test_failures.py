"""Every dial-out failure and teardown path, end to end: Engine + lab peers (RADIUS, LAC, CPE)
in the test's asyncio loop over real UDP sockets on loopback.

Timers: the RADIUS timeout is configured short (0.3 s, one retransmission) and
``ip inactivity-timer`` is 1 s, so those waits are real and short.  The long dial-out timers
(connect-timeout >= 30 s, inhibit = connect-timeout, dormant 300 s) are never waited for: each
assertion is taken while they are still running, so no test depends on them.
"""
from __future__ import annotations

from typing import Any

import pytest

from engine.aio.config import L2tpDefaults
from engine.dialout.selection import DestinationState

from .helpers import DOMAIN, cpe, dialout_reply, framed_route, lac_addresses, running_lab, standard_lab, wait_for

DST = "10.10.1.1"
pytestmark = pytest.mark.timeout(60)


async def dial_and_wait(r, state: str, dst: str = DST) -> None:
    r.trigger(dst)
    await r.wait_state(dst, state)


def destination(r, address: str):
    for d in r.snap().dialout.destinations:
        if d.address == address:
            return d
    return None


# ------------------------------------------------------------------------- AAA phase
async def test_radius_reject_inhibits(tmp_path):
    spec = standard_lab(lac_addresses(2), home_failure="reject")
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert s.failure_reason.startswith("denied: reject")
        c = r.chassis_counters()
        assert (c.auth_requests, c.auth_grants, c.auth_denies) == (1, 0, 1)
        assert c.dialouts_requested == 0
        assert s.next_timer is not None and s.next_timer > 0      # inhibit timer running
        assert r.lab.radius[0].counters["rejects"] == 1
        assert r.access_routes() == []
        # triggers are discarded while inhibited
        r.trigger(DST, seq=1)
        assert r.state(DST) == "inhibited"
        c2 = r.chassis_counters()
        assert c2.triggers_discarded == c.triggers_discarded + 1
        assert c2.auth_requests == 1


async def test_radius_silent_inhibits_after_timeout(tmp_path):
    spec = standard_lab(lac_addresses(2), home_failure="silent")
    async with running_lab(tmp_path, spec, radius_timeout=0.3, radius_retransmit=1) as r:
        r.trigger(DST)
        assert r.state(DST) == "authenticating"
        await r.wait_state(DST, "inhibited")
        s = r.session(DST)
        assert "timeout" in s.failure_reason
        c = r.chassis_counters()
        assert (c.auth_requests, c.auth_grants, c.auth_denies) == (1, 0, 1)
        assert r.lab.radius[0].counters["dropped"] == 2           # first try + 1 retransmission
        radius_home = dict(r.snap().radius)["home"][0]
        assert radius_home.timeouts == 1


async def test_unsigned_access_accept_is_dropped(tmp_path):
    """A home server that signs nothing (or a forger answering for it): every
    Access-Accept is dropped, and the session says the replies were invalid."""
    spec = standard_lab(lac_addresses(2), home_failure="unsigned")
    async with running_lab(tmp_path, spec, radius_timeout=0.3, radius_retransmit=1) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert "invalid replies from RADIUS" in s.failure_reason, s.failure_reason
        assert r.lab.radius[0].counters["accepts"] == 2             # first try + 1 retransmission
        radius_home = dict(r.snap().radius)["home"][0]
        assert (radius_home.missing_message_authenticators, radius_home.accepts) == (2, 0)
        assert r.snap().dialout.chassis.counters.dialouts_requested == 0


@pytest.mark.parametrize("variant,reason", [
    ("no-tunnel-attributes", "missing-tunnel-attributes"),
    ("service-type-framed", "service-type-not-outbound"),
    ("service-type-absent", "service-type-not-outbound"),
])
async def test_bad_access_accept_is_denied(tmp_path, variant, reason):
    lacs = lac_addresses(2)
    variants: dict[str, dict[str, Any]] = {"no-tunnel-attributes": dict(tunnels=False),
                                           "service-type-framed": dict(service_type="Framed-User"),
                                           "service-type-absent": dict(service_type="")}
    kw = variants[variant]
    spec = standard_lab(lacs, home_users={f"{DST}@{DOMAIN}": dialout_reply(lacs, "5551001",
                                                                            **kw)})
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inhibited")
        assert r.session(DST).failure_reason.startswith(f"denied: {reason}")
        assert r.lab.radius[0].counters["accepts"] == 1           # it *was* an Access-Accept
        c = r.chassis_counters()
        assert (c.auth_requests, c.auth_grants, c.auth_denies) == (1, 0, 1)
        assert c.dialouts_requested == 0
        assert r.snap().l2tp.tunnels == ()


# ------------------------------------------------------------------------- L2TP phase
async def test_lac_refusing_tunnel_locks_out_and_uses_next_preference(tmp_path):
    lacs = lac_addresses(2)
    spec = standard_lab(lacs, lac_failures={1: "refuse-tunnel"})
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inService")
        s = r.session(DST)
        assert s.tunnel_endpoint == lacs[1]
        d1, d2 = destination(r, lacs[0]), destination(r, lacs[1])
        assert d1.state is DestinationState.LOCKED_OUT and d1.failures == 1
        assert d1.lockout_remaining > 0 and "tunnel refused" in d1.last_failure_reason
        # reported as the StopCCN that refused the tunnel, with its result code
        assert "StopCCN result 4" in d1.last_failure_reason and "CDN" not in d1.last_failure_reason
        assert d2.state is DestinationState.AVAILABLE and d2.successes == 1
        c = r.chassis_counters()
        assert (c.dialouts_requested, c.dialouts_established, c.dialouts_rejected) == (2, 1, 0)
        assert r.access_routes() == ["10.10.1.0/24"]
        assert r.lacs[1].calls_answered == 1
        # the second destination also uses the preference-2 LAC: lac1 is still locked out
        await dial_and_wait(r, "inService", "10.10.2.1")
        assert r.session("10.10.2.1").tunnel_endpoint == lacs[1]
        assert [t.server_endpoint for t in r.snap().dialout.tunnels] == [lacs[1]]


async def test_lac_refusing_call_inhibits(tmp_path):
    lacs = lac_addresses(1)
    spec = standard_lab(lacs, lac_failures={1: "refuse-call"},
                        home_users={f"{DST}@{DOMAIN}": dialout_reply(lacs, "5551001")})
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert s.failure_reason.startswith("CDN result 8")       # busy, from the LAC's CDN
        c = r.chassis_counters()
        assert (c.auth_grants, c.dialouts_requested, c.dialouts_rejected,
                c.dialouts_established) == (1, 1, 1, 0)
        d = destination(r, lacs[0])
        assert d.state is DestinationState.LOCKED_OUT and d.failures == 1
        assert r.lacs[0].calls_refused == 1
        assert r.access_routes() == []


# ------------------------------------------------------------------------- PPP phase
async def test_cpe_refusing_router_credentials_inhibits(tmp_path):
    spec = standard_lab(lac_addresses(2), cpes=[
        cpe("5551001", "cpe1", DST, **{"expect-password": "something-else"})])
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert "PPP authentication failed (local)" in s.failure_reason
        c = r.chassis_counters()
        assert (c.dialouts_requested, c.dialouts_rejected, c.dialouts_established) == (1, 1, 0)
        # the CPE's own credentials were fine: the LNS RADIUS accepted them
        assert r.lab.radius[1].counters["accepts"] == 1
        assert r.access_routes() == []
        await wait_for(lambda: r.snap().l2tp.calls == (), 5, lambda: r.snap().l2tp.calls)


async def test_router_refusing_cpe_credentials_inhibits(tmp_path):
    spec = standard_lab(lac_addresses(2), cpes=[
        cpe("5551001", "cpe1", DST, mode="wrong-password")])
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert "PPP authentication failed (peer)" in s.failure_reason
        assert r.lab.radius[1].counters["rejects"] == 1          # LNS RADIUS said no
        c = r.chassis_counters()
        assert (c.dialouts_requested, c.dialouts_rejected, c.dialouts_established) == (1, 1, 0)
        assert r.access_routes() == []


@pytest.mark.parametrize("lns_failure,reason", [
    ("silent", "RADIUS server unreachable"), ("wrong-secret", "invalid RADIUS reply")])
async def test_cpe_check_without_a_valid_lns_answer_says_why(tmp_path, lns_failure, reason):
    """The CPE's credentials were never refused: the LNS RADIUS server did not answer,
    or answered with replies that fail the authenticator check."""
    spec = standard_lab(lac_addresses(2), lns_failure=lns_failure)
    async with running_lab(tmp_path, spec, radius_timeout=0.3, radius_retransmit=1) as r:
        await dial_and_wait(r, "inhibited")
        s = r.session(DST)
        assert s.failure_reason.endswith(f"failed: {reason}"), s.failure_reason
        assert "credentials refused" not in s.failure_reason


async def test_cpe_address_outside_access_route_fails_then_reset(tmp_path):
    lacs = lac_addresses(2)
    spec = standard_lab(lacs, cpes=[cpe("5551001", "cpe1", DST, mode="bad-address")],
                        lns_users={"cpe1": ("cpe1-pass", {"Service-Type": "Framed-User"})})
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "failed")
        s = r.session(DST)
        assert s.failure_reason == f"access route 10.99.9.9/32 does not cover {DST}"
        assert s.next_timer is None                                 # only reset leaves it
        c = r.chassis_counters()
        assert (c.dialouts_established, c.dialouts_torn_down) == (0, 1)
        assert r.access_routes() == []
        r.trigger(DST, seq=1)                                       # discarded in failed
        assert r.state(DST) == "failed"
        assert r.chassis_counters().triggers_discarded == c.triggers_discarded + 1

        assert r.engine.reset_sessions("home", DST) == 1
        assert r.state(DST) == "dormant"
        assert r.chassis_counters().sessions_reset == 1

        r.trigger(DST, seq=2)
        assert r.state(DST) == "authenticating"
        assert r.chassis_counters().auth_requests == 2
        await r.wait_state(DST, "failed")                           # same CPE, same outcome


# ------------------------------------------------------------------------- teardown
def _assert_dormant_and_clean(r, torn_down: int) -> None:
    assert r.state(DST) == "dormant"
    assert r.access_routes() == []
    assert not any(rt.ifname == "ppp1" for rt in r.routes())
    s = r.session(DST)
    assert s.ifname is None and s.next_timer is not None          # dormant timer runs
    assert r.chassis_counters().dialouts_torn_down == torn_down


async def _redial(r, established: int) -> None:
    res = await r.engine.ping("home", DST, count=1, timeout=10)
    assert res.received == 1
    assert r.state(DST) == "inService"
    c = r.chassis_counters()
    assert c.dialouts_established == established
    assert r.access_routes() == ["10.10.1.0/24"]


async def test_teardown_by_lac_cdn(tmp_path):
    spec = standard_lab(lac_addresses(2))
    # l2tp tunnel-idle-timeout 0: the tunnel closes as soon as its last session leaves
    async with running_lab(tmp_path, spec, l2tp=L2tpDefaults(tunnel_idle_timeout=0)) as r:
        await dial_and_wait(r, "inService")
        assert r.access_routes() == ["10.10.1.0/24"]
        lac = r.lacs[0]
        (tid, sid), party = next(iter(lac.parties.items()))
        del lac.parties[(tid, sid)]
        party.hangup(now=lac.adapter.now())
        lac.endpoint.disconnect_call(tid, sid, result=2, message="line dropped",
                                     now=lac.adapter.now())
        lac.adapter.flush()
        await r.wait_state(DST, "dormant")
        _assert_dormant_and_clean(r, torn_down=1)
        assert "CDN result 2" in r.session(DST).failure_reason
        # the last session left the tunnel: the LNS closed it (StopCCN)
        await wait_for(lambda: r.snap().l2tp.tunnels == () or all(
            str(t.state) != "established" for t in r.snap().l2tp.tunnels), 5)
        await _redial(r, established=2)


async def test_idle_tunnel_kept_open_and_used_again(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, l2tp=L2tpDefaults(tunnel_idle_timeout=30)) as r:
        await dial_and_wait(r, "inService")
        [tunnel] = r.snap().l2tp.tunnels
        lac = r.lacs[0]
        (tid, sid), party = next(iter(lac.parties.items()))
        del lac.parties[(tid, sid)]
        party.hangup(now=lac.adapter.now())
        lac.endpoint.disconnect_call(tid, sid, result=2, message="line dropped",
                                     now=lac.adapter.now())
        lac.adapter.flush()
        await r.wait_state(DST, "dormant")
        # no session left: the tunnel stays open for the idle timeout ...
        [idle] = r.snap().l2tp.tunnels
        assert idle.tunnel_id == tunnel.tunnel_id and str(idle.state) == "established"
        assert idle.sessions == 0
        # ... and the next dial-out to that LAC uses it (no new tunnel)
        await _redial(r, established=2)
        [again] = r.snap().l2tp.tunnels
        assert again.tunnel_id == tunnel.tunnel_id and again.sessions == 1


async def test_teardown_by_clear_l2tp_tunnel_all(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inService")
        await dial_and_wait(r, "inService", "10.10.2.1")
        assert len(r.snap().l2tp.tunnels) == 1
        assert r.engine.clear_tunnels() == 1                        # clear l2tp tunnel all
        await r.wait_state(DST, "dormant")
        await r.wait_state("10.10.2.1", "dormant")
        assert r.session(DST).failure_reason == "cleared by operator"
        _assert_dormant_and_clean(r, torn_down=2)
        assert r.snap().dialout.tunnels == ()
        await _redial(r, established=3)
        assert r.state("10.10.2.1") == "dormant"                   # only what was triggered


async def test_inactivity_timer_tears_down(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, inactivity=1) as r:
        await dial_and_wait(r, "inService")
        # real time: the 1 s ip inactivity-timer is a deadline of the dial-out service
        await r.wait_state(DST, "dormant", timeout=10)
        _assert_dormant_and_clean(r, torn_down=1)
        assert "inactivity" in r.session(DST).failure_reason
        await _redial(r, established=2)


async def test_radius_session_timeout_tears_down(tmp_path):
    spec = standard_lab(lac_addresses(2))
    spec.lns_users = {**spec.lns_users,
                      "cpe1": ("cpe1-pass", {**framed_route("10.10.1.0/24"),
                                             "Session-Timeout": 1})}
    async with running_lab(tmp_path, spec) as r:
        await dial_and_wait(r, "inService")
        # the CPE's Access-Accept carried Session-Timeout 1: a deadline of the service
        await r.wait_state(DST, "dormant", timeout=10)
        _assert_dormant_and_clean(r, torn_down=1)
        assert "Session-Timeout" in r.session(DST).failure_reason
