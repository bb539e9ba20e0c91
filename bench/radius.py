"""RADIUS client benchmark: Access-Request -> Access-Accept round trips per second with
64 requests in flight, against the lab server (separate process) and against
FreeRADIUS, side by side with radclient against the same FreeRADIUS.

Prints JSON lines {"bench", "metric", "value", "unit"}.
usage: python bench/radius.py [--requests N] [--in-flight 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from engine.aaa import codec  # noqa: E402
from engine.aaa.client import RadiusClient, RadiusServer, pap_request  # noqa: E402
from engine.aaa.udp import RadiusUdpAdapter  # noqa: E402


def emit(metric, value, unit, **extra):
    print(json.dumps({"bench": "radius", "metric": metric, "value": value, "unit": unit,
                      **extra}), flush=True)


async def run_client(host, port, secret, user, password, n, in_flight):
    """Keep ``in_flight`` requests outstanding until n replies; returns (rate, accepts,
    timeouts, retransmits)."""
    loop = asyncio.get_running_loop()
    client = RadiusClient([RadiusServer(host, port, secret, timeout=3.0, retransmit=3)],
                          rng=random.SystemRandom())
    done = loop.create_future()
    state = {"sent": 0, "got": 0, "accepts": 0, "timeouts": 0}
    spec = pap_request(user, password, nas_ip="127.0.0.1")
    adapter = None

    def on_event(ev):
        state["got"] += 1
        if getattr(ev, "code", None) == "accept":
            state["accepts"] += 1
        else:
            state["timeouts"] += 1
        if state["sent"] < n:
            state["sent"] += 1
            client.request(spec, now=loop.time())   # flushed by the adapter after events
        elif state["got"] >= n and not done.done():
            done.set_result(None)

    adapter = RadiusUdpAdapter(client, local_host="127.0.0.1", on_event=on_event)
    t0 = time.perf_counter()
    for _ in range(min(in_flight, n)):
        state["sent"] += 1
        client.request(spec, now=loop.time())
    adapter._service()
    await done
    dt = time.perf_counter() - t0
    adapter.close()
    state["retransmits"] = client.snapshot()[0].retransmits
    return n / dt, state["accepts"], state["timeouts"], state["retransmits"]


def codec_cost(k=20000):
    """Microseconds to build one PAP Access-Request (encode + MA) and to verify and
    decode one Access-Accept."""
    rng = random.Random(1)
    client = RadiusClient([RadiusServer("127.0.0.1", 1812, b"s")], rng=rng)
    spec = pap_request("bench-user", "bench-pass")
    t0 = time.perf_counter()
    for _ in range(k):
        client.request(spec, now=0.0)
        (data, addr), = client.datagrams_to_send(now=0.0)
        reply = codec.build_response(2, data[1], data[4:20],
                                     codec.encode_attribute("Framed-IP-Address", "10.0.0.1"),
                                     b"s", with_message_authenticator=True)
        client.receive_datagram(reply, addr, now=0.0)
        client.next_event()
    return (time.perf_counter() - t0) / k * 1e6


def pyrad_cost(k=5000):
    """For comparison: the same request/reply through pyrad's Packet classes (the
    project uses pyrad only as the dictionary source and for rare data types)."""
    from pyrad.dictionary import Dictionary
    from pyrad.packet import AccessAccept, AuthPacket

    d = Dictionary(codec.DICTIONARY_PATH)
    t0 = time.perf_counter()
    for _ in range(k):
        req = AuthPacket(dict=d, secret=b"s", message_authenticator=True)
        req["User-Name"] = "bench-user"
        req["User-Password"] = req.PwCrypt("bench-pass")
        req["Service-Type"] = "Framed-User"
        req["Framed-Protocol"] = "PPP"
        req["NAS-IP-Address"] = "127.0.0.1"
        req["NAS-Port-Type"] = "Virtual"
        raw = req.RequestPacket()
        reply = req.CreateReply()
        reply.code = AccessAccept
        reply["Framed-IP-Address"] = "10.0.0.1"
        rraw = reply.ReplyPacket()
        got = req.CreateReply(packet=rraw)
        assert req.VerifyReply(got, rraw) and raw
        got["Framed-IP-Address"]
    return (time.perf_counter() - t0) / k * 1e6


def serve_lab(port_file):
    from engine.lab.radius_server import RadiusSpec, start_radius_servers

    async def main():
        spec = RadiusSpec.from_toml({"name": "bench", "listen": "127.0.0.1:0",
                                     "secret": "bench-secret",
                                     "users": {"bench-user": {"password": "bench-pass",
                                                              "reply": {"Framed-IP-Address":
                                                                        "10.10.9.1"}}}})
        [srv] = await start_radius_servers([spec])
        with open(port_file + ".tmp", "w") as f:
            f.write(str(srv.address[1]))
        os.rename(port_file + ".tmp", port_file)
        await asyncio.Event().wait()

    asyncio.run(main())


def start_lab_process(tmpdir):
    port_file = os.path.join(tmpdir, "lab.port")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-lab", port_file],
                            cwd=ROOT)
    deadline = time.monotonic() + 20
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("lab server did not start")
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, int(f.read())


def radclient_rate(port, n, in_flight, tmpdir):
    req = os.path.join(tmpdir, "req.txt")
    with open(req, "w") as f:
        f.write('User-Name = "bench-user"\nUser-Password = "bench-pass"\n'
                'NAS-IP-Address = 127.0.0.1\nMessage-Authenticator = 0x00\n')
    t0 = time.perf_counter()
    res = subprocess.run(["radclient", "-q", "-p", str(in_flight), "-c", str(n), "-r", "3",
                          "-t", "3", "-f", req, f"127.0.0.1:{port}", "auth", "testing123"],
                         capture_output=True, text=True, timeout=120)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError("radclient failed: " + res.stdout[-500:] + res.stderr[-500:])
    return n / dt, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--in-flight", type=int, default=64)
    ap.add_argument("--serve-lab")
    args = ap.parse_args()
    if args.serve_lab:
        serve_lab(args.serve_lab)
        return
    import tempfile
    n, inflight = args.requests, args.in_flight
    emit("codec_request_reply_cost", round(codec_cost(), 1), "us/request")
    emit("pyrad_packet_request_reply_cost", round(pyrad_cost(), 1), "us/request")
    tmpdir = tempfile.mkdtemp(prefix="jcli-bench-radius-")
    lab = None
    try:
        lab, port = start_lab_process(tmpdir)
        rate, acc, to, rtx = max(
            asyncio.run(run_client("127.0.0.1", port, b"bench-secret", "bench-user",
                                   "bench-pass", n, inflight)) for _ in range(2))
        emit("ours_vs_lab_server", round(rate), "req/s", in_flight=inflight, requests=n,
             accepts=acc, timeouts=to, retransmits=rtx, best_of=2)
    finally:
        if lab is not None:
            lab.kill()
            lab.wait()
    from tests.aaa import freeradius as frh
    if frh.binary() is None:
        emit("ours_vs_freeradius", None, "req/s", skipped="freeradius not installed")
        return
    # the interop config keeps 16384 requests for 5 s (duplicate detection): raise the
    # limit so that a run of N requests is not throttled (same server for radclient)
    with frh.FreeRadius(max_requests=max(65536, 4 * n), cleanup_delay=2) as fr:
        # warm-up
        asyncio.run(run_client("127.0.0.1", fr.auth_port, frh.SECRET, "bench-user",
                               "bench-pass", 500, inflight))
        # best of two runs each (the machine is shared), interleaved
        runs, rruns = [], []
        for _ in range(2):
            runs.append(asyncio.run(run_client("127.0.0.1", fr.auth_port, frh.SECRET,
                                               "bench-user", "bench-pass", n, inflight)))
            if shutil.which("radclient"):
                rruns.append(radclient_rate(fr.auth_port, n, inflight, tmpdir))
        rate, acc, to, rtx = max(runs)
        emit("ours_vs_freeradius", round(rate), "req/s", in_flight=inflight, requests=n,
             accepts=acc, timeouts=to, retransmits=rtx, best_of=len(runs))
        if rruns:
            rrate, _ = max(rruns)
            emit("radclient_vs_freeradius", round(rrate), "req/s", in_flight=inflight,
                 requests=n, best_of=len(rruns))
            emit("ours_over_radclient", round(rate / rrate, 3), "ratio", goal=1.0)
        else:
            emit("radclient_vs_freeradius", None, "req/s", skipped="radclient not installed")
    shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
