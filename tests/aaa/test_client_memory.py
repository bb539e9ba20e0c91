"""A request leaves nothing allocated behind once it is answered: what the client builds per
request is freed with it (nothing kept by caches of the interpreter either)."""
import random
import tracemalloc

from engine.aaa import client as client_module
from engine.aaa import codec
from engine.aaa.client import RadiusClient, RadiusReply, RadiusServer, dialout_request

P = RadiusServer("127.0.0.1", 1812, b"s1", timeout=3.0, retransmit=3, deadtime_s=60.0)


def one_request(c: RadiusClient, i: int, now: float) -> None:
    c.request(dialout_request(f"10.10.{i // 250}.{i % 250 + 1}@d"), now=now)
    [(data, addr)] = c.datagrams_to_send(now=now)
    c.receive_datagram(codec.build_response(2, data[1], data[4:20], b"", b"s1",
                                            with_message_authenticator=True), addr, now=now)
    assert isinstance(c.next_event(), RadiusReply)
    assert c.get_timer() is None                # as the engine re-arms its timer after input


def test_answered_requests_leave_no_block_of_the_client_alive():
    c = RadiusClient([P], rng=random.Random(1))
    for i in range(300):                        # warm up: first-use caches, table sizes
        one_request(c, i, now=float(i))
    tracemalloc.start()
    try:
        for i in range(300, 2300):
            one_request(c, i, now=float(i))
        snap = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    alive = snap.filter_traces([tracemalloc.Filter(True, client_module.__file__)])
    left = sum(s.count for s in alive.statistics("lineno"))
    assert left <= 10, alive.statistics("lineno")[:5]      # the last request's own state
