"""The adapter's local port (moved at run time; a busy port is reported, not fatal) and UDP
checksums on data messages switched off with SO_NO_CHECK (control messages keep theirs)."""
import asyncio
import os
import socket
import struct

import pytest

from engine.l2tp import CallUp, L2tpConfig, OutgoingCallRequested, PppFrame, TunnelUp
from engine.l2tp.udp import NO_CHECK_SUPPORTED

from .aio import EngineSide

SECRET = b"s3"


async def test_rebind_to_a_busy_port_keeps_the_old_one_and_reports():
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        eng = EngineSide()
        before = eng.adapter.local_addr
        eng.adapter.rebind(("127.0.0.1", busy.getsockname()[1]), fallback=True)
        assert eng.adapter.local_addr == before
        assert eng.adapter.bind_error and str(busy.getsockname()[1]) in eng.adapter.bind_error
        with pytest.raises(OSError):
            eng.adapter.rebind(("127.0.0.1", busy.getsockname()[1]))
        eng.close()
    finally:
        busy.close()


async def test_rebind_moves_the_listener():
    lac = EngineSide(seed=2, host_name="lac", config=L2tpConfig(accept_secret=SECRET))
    old = lac.adapter.local_addr
    lac.adapter.rebind(("127.0.0.1", 0))
    new = lac.adapter.local_addr
    assert new != old and lac.adapter.bind_error is None
    lns = EngineSide(seed=1)
    lns.endpoint.open_tunnel(new, secret=SECRET, now=lns.now)
    lns.adapter.flush()
    await lns.wait_for(lambda: lns.of(TunnelUp), timeout=10)
    lns.close()
    lac.close()


def _udp_checksums(raw: socket.socket, port: int) -> list[tuple[bool, int]]:
    """(is_control, UDP checksum) of every datagram captured to ``port``."""
    out: list[tuple[bool, int]] = []
    while True:
        try:
            pkt = raw.recv(65535)
        except BlockingIOError:
            return out
        ihl = (pkt[0] & 0x0F) * 4
        _, dport, _, csum = struct.unpack_from("!HHHH", pkt, ihl)
        if dport == port:
            out.append((bool(pkt[ihl + 8] & 0x80), csum))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (raw socket)")
@pytest.mark.skipif(not NO_CHECK_SUPPORTED, reason="needs Linux (SO_NO_CHECK)")
@pytest.mark.parametrize("data_checksums", [False, True])
async def test_data_checksums_switch(data_checksums):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    raw.setblocking(False)
    lac = EngineSide(seed=2, host_name="lac", config=L2tpConfig(accept_secret=SECRET))
    lns = EngineSide(seed=1)
    lns.adapter.set_data_checksums(data_checksums)
    try:
        tid = lns.endpoint.open_tunnel(lac.adapter.local_addr, secret=SECRET, now=lns.now)
        sid = lns.endpoint.place_outgoing_call(tid, called_number="1", now=lns.now)
        lns.adapter.flush()
        await lac.wait_for(lambda: lac.of(OutgoingCallRequested), timeout=10)
        req = lac.of(OutgoingCallRequested)[0]
        lac.endpoint.answer_outgoing_call(req.tunnel_id, req.session_id, connect_speed=64000, now=lac.now)
        lac.adapter.flush()
        await lns.wait_for(lambda: lns.of(CallUp), timeout=10)
        for _ in range(3):
            lns.endpoint.send_ppp(tid, sid, b"\xff\x03\xc0\x21\x09\x01\x00\x08abcd")
        lns.adapter.flush()
        await lac.wait_for(lambda: len(lac.of(PppFrame)) == 3, timeout=10)
        await asyncio.sleep(0.05)
        seen = _udp_checksums(raw, lac.adapter.local_addr[1])
    finally:
        raw.close()
        lns.close()
        lac.close()
    control = [c for is_ctl, c in seen if is_ctl]
    data = [c for is_ctl, c in seen if not is_ctl]
    assert control and all(c != 0 for c in control)
    assert len(data) == 3
    assert all((c != 0) == data_checksums for c in data)
