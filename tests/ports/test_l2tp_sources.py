"""L2TP local sources: a tunnel to a PeerAddr leaves from the socket of its local source, and
the peer's answers come back tagged with that source, so the endpoint's tunnel keeps it."""
from __future__ import annotations

import asyncio
import random
import socket

from engine.l2tp.connection import L2tpEndpoint
from engine.l2tp.udp import L2tpUdpAdapter, PeerAddr


async def test_tunnel_leaves_from_its_local_source() -> None:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    ep = L2tpEndpoint(rng=random.Random(1), host_name="lns")
    ad = L2tpUdpAdapter(ep, ("127.0.0.1", 0)).start()
    try:
        ad.add_local("home/127.0.0.7", ("127.0.0.7", 0))
        ad.add_local("home/127.0.0.7", ("127.0.0.7", 0))      # once
        src = ad.local_source("home/127.0.0.7")
        assert src is not None and src[0] == "127.0.0.7"
        port = peer.getsockname()[1]
        tid = ep.open_tunnel(PeerAddr("127.0.0.1", port, "home/127.0.0.7"), secret=None,
                             now=asyncio.get_running_loop().time())
        ad.flush()
        loop = asyncio.get_running_loop()
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(peer, 4096), 5)
        assert addr == src                       # the SCCRQ came from the local source
        assert ep.tunnels[tid].peer_addr == ("127.0.0.1", port)
        # a plain tunnel still leaves from the main socket
        ep.open_tunnel(("127.0.0.1", port), secret=None, now=loop.time())
        ad.flush()
        data, addr = await asyncio.wait_for(loop.sock_recvfrom(peer, 4096), 5)
        assert addr == ad.local_addr
        # a source removed: its tunnels' datagrams are not sent from another socket
        ad.remove_local("home/127.0.0.7")
        before = ad.send_errors
        ad._send([(b"\xc8\x02\x00\x0c\x00\x01\x00\x00\x00\x00\x00\x00",
                   PeerAddr("127.0.0.1", port, "home/127.0.0.7"))])
        assert ad.send_errors == before + 1
    finally:
        ad.close()
        peer.close()


async def test_datagrams_on_a_local_socket_are_tagged() -> None:
    seen: list[object] = []
    ep = L2tpEndpoint(rng=random.Random(2), host_name="lns")
    real = ep.receive_datagram

    def spy(data: bytes, addr: object, *, now: float) -> None:
        seen.append(addr)
        real(data, addr, now=now)
    ep.receive_datagram = spy  # type: ignore[method-assign]
    ad = L2tpUdpAdapter(ep, ("127.0.0.1", 0)).start()
    try:
        ad.add_local("k", ("127.0.0.8", 0))
        src = ad.local_source("k")
        assert src is not None
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"\x00" * 12, src)
        s.close()
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert isinstance(seen[0], PeerAddr) and seen[0].local == "k"
    finally:
        ad.close()


async def test_source_beside_the_wildcard_main_socket_uses_pktinfo() -> None:
    """In the main socket's namespace, a source address on the main socket's (wildcard) port
    cannot have its own socket: its datagrams leave from the main socket with that source."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    ep = L2tpEndpoint(rng=random.Random(3), host_name="lns")
    ad = L2tpUdpAdapter(ep, ("0.0.0.0", 0)).start()
    loop = asyncio.get_running_loop()
    try:
        port = ad.local_addr[1]
        ad.add_local("/127.0.0.6", ("127.0.0.6", port))
        assert "/127.0.0.6" in ad.pktinfo and "/127.0.0.6" not in ad.locals
        assert ad.local_source("/127.0.0.6") == ("127.0.0.6", port)
        ep.open_tunnel(PeerAddr("127.0.0.1", peer.getsockname()[1], "/127.0.0.6"),
                       secret=None, now=loop.time())
        ad.flush()
        _data, addr = await asyncio.wait_for(loop.sock_recvfrom(peer, 4096), 5)
        assert addr == ("127.0.0.6", port)
        # an address this namespace does not have is refused, not sent from another
        try:
            ad.add_local("/192.0.2.77", ("192.0.2.77", port))
        except OSError:
            pass
        else:
            raise AssertionError("an address of no interface was accepted as a source")
    finally:
        ad.close()
        peer.close()
