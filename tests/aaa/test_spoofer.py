"""A racing spoofer on loopback: a second socket, bound to the server's own address and
port, answers every request first with a forged Access-Accept that sends the dial-out
to the attacker's LAC.  The forger is given a valid Response Authenticator (what the
MD5 chosen-prefix collision of CVE-2024-3596 yields); only the Message-Authenticator
tells the forgery from the genuine reply that follows."""

import asyncio
import random
import socket

import pytest

from engine.aaa import codec
from engine.aaa.client import DialoutGrant, RadiusClient, RadiusServer, dialout_request, parse_dialout_reply
from engine.aaa.udp import RadiusUdpAdapter

SECRET = b"spoof-test-secret"
GRANT = [("Service-Type", 5), ("Tunnel-Type:1", 3), ("Tunnel-Medium-Type:1", 1),
         ("ERX-Dial-Out-Number", "5551000")]
GENUINE_LAC = "127.0.0.2"
ATTACKER_LAC = "192.0.2.66"


def _bound_socket(port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    return s


def _accept(req: bytes, lac: str, *, ma: bool, short_ma: bool = False,
            ma_key: bytes | None = None) -> bytes:
    attrs = codec.encode_attributes(GRANT + [("Tunnel-Server-Endpoint:1", lac)])
    if short_ma:
        attrs = bytes((80, 10)) + b"\x00" * 8 + attrs
    if ma_key is not None:
        # Message-Authenticator keyed with a guess, Response Authenticator valid
        zeroed = bytes((80, 18)) + b"\x00" * 16 + attrs
        mac = codec.message_authenticator(codec.ACCESS_ACCEPT, req[1], req[4:20], zeroed,
                                          ma_key)
        attrs = bytes((80, 18)) + mac + attrs
        auth = codec.response_authenticator(codec.ACCESS_ACCEPT, req[1], req[4:20], attrs,
                                            SECRET)
        return bytes((codec.ACCESS_ACCEPT, req[1])) + (20 + len(attrs)).to_bytes(2, "big") + (
            auth + attrs)
    return codec.build_response(codec.ACCESS_ACCEPT, req[1], req[4:20], attrs, SECRET,
                                with_message_authenticator=ma)


async def _race(forged_ma: bool, short_ma: bool, require: bool,
                forged_key: bytes | None = None):
    loop = asyncio.get_running_loop()
    server = _bound_socket()
    server.setblocking(False)
    port = server.getsockname()[1]

    def on_request() -> None:
        data, client_addr = server.recvfrom(4096)
        # the spoofer joins the server's address once the request is queued to the
        # server, so the kernel cannot hand the request to the spoofer instead
        spoofer = _bound_socket(port)
        try:
            spoofer.sendto(_accept(data, ATTACKER_LAC, ma=forged_ma, short_ma=short_ma,
                                   ma_key=forged_key),
                           client_addr)
        finally:
            spoofer.close()
        loop.call_later(0.05, server.sendto, _accept(data, GENUINE_LAC, ma=True), client_addr)

    loop.add_reader(server.fileno(), on_request)
    client = RadiusClient([RadiusServer("127.0.0.1", port, SECRET, timeout=2.0, retransmit=0,
                                        require_message_authenticator=require)],
                          rng=random.Random(1))
    adapter = RadiusUdpAdapter(client, local_host="127.0.0.1")
    try:
        ev = await asyncio.wait_for(adapter.ask(dialout_request("10.1.1.1@d")), 5)
        return parse_dialout_reply(ev), client.snapshot()[0]
    finally:
        adapter.close()
        loop.remove_reader(server.fileno())
        server.close()


@pytest.mark.parametrize("forged_ma,short_ma", [(False, False), (False, True)])
async def test_forged_accept_without_valid_message_authenticator_loses_the_race(forged_ma,
                                                                                short_ma):
    grant, st = await _race(forged_ma, short_ma, require=True)
    assert isinstance(grant, DialoutGrant)
    assert [t.server_endpoint for t in grant.tunnels] == [GENUINE_LAC]
    assert (st.missing_message_authenticators, st.malformed) == (
        (0, 1) if short_ma else (1, 0))
    assert st.accepts == 1


async def test_without_the_requirement_the_forgery_wins():
    """What the requirement prevents: the forged reply is trusted."""
    grant, st = await _race(False, False, require=False)
    assert isinstance(grant, DialoutGrant)
    assert [t.server_endpoint for t in grant.tunnels] == [ATTACKER_LAC]


async def test_forged_message_authenticator_loses_the_race():
    """The collision gives the forger a valid Response Authenticator, not the HMAC of
    the Message-Authenticator, which needs the secret."""
    grant, st = await _race(True, False, require=True, forged_key=b"guess")
    assert [t.server_endpoint for t in grant.tunnels] == [GENUINE_LAC]
    assert st.bad_authenticators == 1 and st.accepts == 1
