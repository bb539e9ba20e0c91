"""The engine's reaction to a CPE that renegotiates PPP (LCP Configure-Request after Opened,
RFC 1661 §4.3) and the accounting causes, over the lab LAC + CPE + RADIUS in this loop."""
from __future__ import annotations

import dataclasses
import os

from engine.aio.ppp_glue import MAX_RENEGOTIATIONS
from engine.dialout.causes import TerminateCause
from engine.ppp import frames as F

from .helpers import DOMAIN, dialout_reply, lac_addresses, running_lab, standard_lab, wait_for

DST = "10.10.1.1"
LCP_CONF_REQ = 1
OPT_MAGIC = 5


async def _up(r) -> None:
    r.trigger(DST)
    await r.wait_state(DST, "inService")


def _lns(r):
    return next(s for s in r.lab.radius if s.name == "lns")


def _acct(r, status: int) -> list[dict]:
    return [a for a in _lns(r).core.received if a.get("Acct-Status-Type") == (status,)]


def _party(r):
    """(lab LAC, (tunnel id, session id), the CPE) of the one call."""
    for lac in r.lacs:
        for key, party in lac.parties.items():
            return lac, key, party.cpe
    raise AssertionError("no call in the lab LAC")


def _call(r):
    [call] = r.engine._calls.values()
    return call


async def _renegotiate(r, *, cpe_address: str | None = None) -> None:
    """The CPE side sends an LCP Configure-Request on the open link (optionally asking for a
    new IPCP address in the negotiation that follows)."""
    lac, (tid, sid), party = _party(r)
    if cpe_address is not None:
        cfg = dataclasses.replace(party.link.config, local_ip=cpe_address)
        party.link.config = party.link.ipcp_policy.cfg = cfg
    call = _call(r)
    opens = call.lcp_opens
    magic = int.from_bytes(os.urandom(4), "big") | 1
    frame = F.build_packet(F.PROTO_LCP, LCP_CONF_REQ, 0x77,
                           bytes((OPT_MAGIC, 6)) + magic.to_bytes(4, "big"))
    lac.endpoint.send_ppp(tid, sid, frame)
    lac.adapter.flush()
    await wait_for(lambda: call.lcp_opens > opens or not r.engine._calls.live(call), 10,
                   lambda: f"LCP opens {call.lcp_opens}")


async def _network_up_again(r) -> None:
    call = _call(r)
    await wait_for(lambda: not r.engine._calls.live(call) or (
        call.ppp is not None and call.ppp.network_up and _party(r)[2].up), 10)


async def test_renegotiation_reauthenticates_a_bounded_number_of_times(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True) as r:
        await _up(r)
        lns = _lns(r)
        assert lns.counters["access_requests"] == 1
        for n in range(1, MAX_RENEGOTIATIONS + 1):
            await _renegotiate(r)
            await _network_up_again(r)
            assert r.state(DST) == "inService"
            await wait_for(lambda n=n: lns.counters["access_requests"] == 1 + n, 5)
        res = await r.engine.ping("home", DST, count=1, timeout=5)
        assert res.received == 1                       # the renegotiated link carries traffic
        await _renegotiate(r)                          # one too many: the session ends
        await r.wait_state(DST, "dormant")
        assert "renegotiated more than" in r.session(DST).failure_reason
        assert r.access_routes() == []
        assert lns.counters["access_requests"] == 1 + MAX_RENEGOTIATIONS
        await wait_for(lambda: len(_acct(r, 2)) == 1, 5)
        assert len(_acct(r, 1)) == 1                   # one Start, one Stop
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.NAS_REQUEST),)


async def test_renegotiation_keeps_one_start_and_one_stop(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True) as r:
        await _up(r)
        await wait_for(lambda: len(_acct(r, 1)) == 1, 5)
        await _renegotiate(r)
        await _network_up_again(r)
        assert r.state(DST) == "inService"
        assert r.engine.clear_sessions("home", DST) == 1
        await wait_for(lambda: len(_acct(r, 2)) == 1, 5)
        assert len(_acct(r, 1)) == 1
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.ADMIN_RESET),)


async def test_readdress_outside_the_access_route_ends_the_session(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True) as r:
        await _up(r)
        assert r.access_routes() == ["10.10.1.0/24"]
        await _renegotiate(r, cpe_address="10.99.0.5")
        await r.wait_state(DST, "dormant")
        assert "10.99.0.5" in r.session(DST).failure_reason
        assert r.access_routes() == []
        assert not r.engine._calls
        await wait_for(lambda: len(_acct(r, 2)) == 1, 5)
        assert len(_acct(r, 1)) == 1
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.USER_ERROR),)


async def test_readdress_inside_the_access_route_keeps_the_session(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec) as r:
        await _up(r)
        await _renegotiate(r, cpe_address="10.10.1.7")
        await _network_up_again(r)
        assert r.state(DST) == "inService"
        assert _call(r).ppp.peer_ip == "10.10.1.7"
        assert r.access_routes() == ["10.10.1.0/24"]


async def test_inactivity_accounting_stop_names_idle_timeout(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True, inactivity=1) as r:
        await _up(r)
        await r.wait_state(DST, "dormant", timeout=10)
        await wait_for(lambda: len(_acct(r, 2)) == 1, 5)
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.IDLE_TIMEOUT),)


async def test_lac_cdn_accounting_stop_names_lost_carrier(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True) as r:
        await _up(r)
        lac, (tid, sid), _cpe = _party(r)
        lac.parties.pop((tid, sid)).hangup(now=lac.adapter.now())
        lac.endpoint.disconnect_call(tid, sid, result=2, message="line dropped",
                                     now=lac.adapter.now())
        lac.adapter.flush()
        await r.wait_state(DST, "dormant")
        await wait_for(lambda: len(_acct(r, 2)) == 1, 5)
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.LOST_CARRIER),)


async def test_keepalive_loss_accounting_stop_names_lost_carrier(tmp_path):
    spec = standard_lab(lac_addresses(2))
    async with running_lab(tmp_path, spec, accounting=True) as r:
        cfg = r.engine.config
        [home] = [v for v in cfg.vrs if v.name == "home"]
        prof = dataclasses.replace(home.profiles[0], ppp_keepalive=1)
        home2 = dataclasses.replace(home, profiles=(prof,))
        r.engine.apply_config(dataclasses.replace(
            cfg, vrs=tuple(home2 if v.name == "home" else v for v in cfg.vrs)))
        await _up(r)
        _lac, _key, cpe = _party(r)
        cpe.silent = True                   # the CPE stops answering; L2TP stays up
        await wait_for(lambda: len(_acct(r, 2)) == 1, 30)
        [stop] = _acct(r, 2)
        assert stop["Acct-Terminate-Cause"] == (int(TerminateCause.LOST_CARRIER),)
        snap = r.engine.snapshot()
        [s] = snap.dialout.sessions
        assert "keepalive" in (s.failure_reason or ""), s


async def test_auth_protocol_mismatch_is_reported_as_authentication(tmp_path):
    # RADIUS tells the router to authenticate itself with PAP; the CPE demands CHAP and
    # hangs up (LCP Terminate, then the LAC's CDN "party hung up")
    lacs = lac_addresses(2)
    spec = standard_lab(lacs)
    spec.home_users[f"{DST}@{DOMAIN}"] = {**dialout_reply(lacs, "5551001"),
                                         "ERX-PPP-Auth-Protocol": "PAP"}
    spec.cpes[0] = {**spec.cpes[0], "auth": ["chap"]}
    async with running_lab(tmp_path, spec, accounting=True) as r:
        r.trigger(DST)
        await wait_for(lambda: r.session(DST) is not None and r.session(DST).failure_reason,
                       20, lambda: f"{r.session(DST)}")
        reason = r.session(DST).failure_reason
        assert "authentication" in reason and "party hung up" not in reason, reason
        assert "CHAP" in reason and "PAP" in reason, reason
