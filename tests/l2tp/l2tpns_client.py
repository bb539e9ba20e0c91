"""Run inside a network namespace: open a tunnel to l2tpns, place an incoming call (ICRQ), send an
LCP Configure-Request and print what happened as one JSON object."""
import asyncio
import json
import sys

from engine.l2tp import CallUp, L2tpConfig, PppFrame, TunnelDown, TunnelUp

from .aio import EngineSide
from .wire import calls_down


async def main(server: str) -> dict:
    eng = EngineSide(config=L2tpConfig(hold_time=0.5))
    ep = eng.endpoint
    result: dict = {}
    try:
        tid = ep.open_tunnel((server, 1701), secret=None, now=eng.now)
        sid = ep.place_incoming_call(tid, calling_number="0301234", called_number="100", now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: eng.of(CallUp) or eng.of(TunnelDown), timeout=40)
        result["tunnel_up"] = bool(eng.of(TunnelUp))
        result["call_up"] = [e.direction for e in eng.of(CallUp)]
        if eng.of(CallUp):
            # LCP Configure-Request, id 1, Magic-Number 0x12345678
            ep.send_ppp(tid, sid, bytes.fromhex("ff03c0210101000a050612345678"))
            eng.adapter.flush()
            try:
                await eng.wait_for(lambda: any(f.frame[4:5] == b"\x02" for f in eng.of(PppFrame)), timeout=10)
            except TimeoutError:
                pass
        result["ppp"] = [f.frame.hex() for f in eng.of(PppFrame)]
        ep.close_tunnel(tid, now=eng.now)
        eng.adapter.flush()
        await eng.wait_for(lambda: not ep.tunnels, timeout=20)
        result["down"] = [(e.result_code, e.by_peer) for e in eng.of(TunnelDown)]
        result["calls_down"] = len(calls_down(eng.events))
        result["malformed"] = ep.counters["malformed"]
    finally:
        eng.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))), flush=True)
