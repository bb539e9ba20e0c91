"""Call state machines, both directions and both roles (RFC 2661 §7.4, §7.5).

Actions are names of L2tpEndpoint methods ``_c_<action>(call, msg)``.
"""
from __future__ import annotations

from .fsm import Row, Table, complete_table

IDLE = "idle"
WAIT_TUNNEL = "wait-tunnel"
WAIT_REPLY = "wait-reply"
WAIT_CONNECT = "wait-connect"
WAIT_CS_ANSWER = "wait-cs-answer"
ESTABLISHED = "established"
DEAD = "dead"

EVENTS = (
    "place_ready",        # local: place a call on an established tunnel
    "place_wait",         # local: place a call while the tunnel is still connecting
    "tunnel_up",
    "rx_ocrq_accept", "rx_ocrq_refuse",
    "rx_ocrp", "rx_occn",
    "rx_icrq_accept", "rx_icrq_refuse",
    "rx_icrp", "rx_iccn",
    "rx_cdn",
    "rx_info",            # WEN / SLI
    "rx_fatal",           # a call message with an unknown mandatory AVP (§4.1: CDN, error 8)
    "answer",             # LAC app: the dialled party answered
    "reject",             # LAC app: the dial failed
    "local_disconnect",
)

RX_EVENTS = tuple(e for e in EVENTS if e.startswith("rx_"))

# --- LNS outgoing call (RFC 2661 §7.5.3): idle -> wait-tunnel -> wait-reply -> wait-connect -> established
LNS_OUT_STATES = (IDLE, WAIT_TUNNEL, WAIT_REPLY, WAIT_CONNECT, ESTABLISHED, DEAD)
_lns_out = {
    (IDLE, "place_ready"): (WAIT_REPLY, ("send_ocrq",)),          # §7.5.3 idle: open request, tunnel up
    (IDLE, "place_wait"): (WAIT_TUNNEL, ()),                       # §7.5.3 idle: open request, tunnel pending
    (WAIT_TUNNEL, "tunnel_up"): (WAIT_REPLY, ("send_ocrq",)),     # §7.5.3 wait-tunnel: tunnel established
    (WAIT_REPLY, "rx_ocrp"): (WAIT_CONNECT, ("record_peer",)),    # §7.5.3 wait-reply: OCRP acceptable
    (WAIT_CONNECT, "rx_occn"): (ESTABLISHED, ("call_up",)),       # §7.5.3 wait-connect: OCCN
    (ESTABLISHED, "rx_info"): (ESTABLISHED, ()),
    (WAIT_CONNECT, "rx_info"): (WAIT_CONNECT, ()),
}

# --- LAC outgoing call (RFC 2661 §7.5.4): idle -> wait-cs-answer -> established
LAC_OUT_STATES = (IDLE, WAIT_CS_ANSWER, ESTABLISHED, DEAD)
_lac_out = {
    (IDLE, "rx_ocrq_accept"): (WAIT_CS_ANSWER, ("send_ocrp", "request_dial")),  # §7.5.4 idle: OCRQ ok
    (IDLE, "rx_ocrq_refuse"): (DEAD, ("send_cdn", "destroy")),                 # §7.5.4 idle: OCRQ not ok
    (WAIT_CS_ANSWER, "answer"): (ESTABLISHED, ("send_occn", "call_up")),       # §7.5.4 bearer answer
    (WAIT_CS_ANSWER, "reject"): (DEAD, ("send_cdn", "call_down_local")),       # §7.5.4 bearer failure
    (ESTABLISHED, "rx_info"): (ESTABLISHED, ()),
    (WAIT_CS_ANSWER, "rx_info"): (WAIT_CS_ANSWER, ()),
}

# --- LAC incoming call (RFC 2661 §7.4.1): idle -> wait-tunnel -> wait-reply -> established
LAC_IN_STATES = (IDLE, WAIT_TUNNEL, WAIT_REPLY, ESTABLISHED, DEAD)
_lac_in = {
    (IDLE, "place_ready"): (WAIT_REPLY, ("send_icrq",)),
    (IDLE, "place_wait"): (WAIT_TUNNEL, ()),
    (WAIT_TUNNEL, "tunnel_up"): (WAIT_REPLY, ("send_icrq",)),
    (WAIT_REPLY, "rx_icrp"): (ESTABLISHED, ("record_peer", "send_iccn", "call_up")),  # §7.4.1 ICRP
    (ESTABLISHED, "rx_info"): (ESTABLISHED, ()),
}

# --- LNS incoming call (RFC 2661 §7.4.2): idle -> wait-connect -> established
LNS_IN_STATES = (IDLE, WAIT_CONNECT, ESTABLISHED, DEAD)
_lns_in = {
    (IDLE, "rx_icrq_accept"): (WAIT_CONNECT, ("send_icrp", "report_incoming")),  # §7.4.2 ICRQ ok
    (IDLE, "rx_icrq_refuse"): (DEAD, ("send_cdn", "destroy")),                   # §7.4.2 ICRQ not ok
    (WAIT_CONNECT, "rx_iccn"): (ESTABLISHED, ("call_up",)),                      # §7.4.2 ICCN
    (ESTABLISHED, "rx_info"): (ESTABLISHED, ()),
    (WAIT_CONNECT, "rx_info"): (WAIT_CONNECT, ()),
}


def _common(states: tuple[str, ...], rows: Table) -> Table:
    rows = dict(rows)
    for s in states:
        if s in (IDLE, DEAD):
            continue
        # any state: CDN received -> clean up (§7.4, §7.5 "receive CDN")
        rows.setdefault((s, "rx_cdn"), (DEAD, ("call_down_peer",)))
        # any state: local close request -> CDN (only when the peer knows the call)
        rows.setdefault((s, "local_disconnect"),
                        (DEAD, ("call_down_local",) if s == WAIT_TUNNEL else ("send_cdn", "call_down_local")))
    return rows


def _default(state: str, event: str) -> Row:
    if state == DEAD:
        return (DEAD, ("ignore",))
    if event in RX_EVENTS and state != IDLE:
        # §7.4/§7.5: unexpected message -> CDN and clean up
        return (DEAD, ("send_cdn_fsm", "call_down_local"))
    # local events that do not apply in this state (e.g. answer on an established call)
    return (state, ("ignore",))


LNS_OUT = complete_table(LNS_OUT_STATES, EVENTS, _common(LNS_OUT_STATES, _lns_out), _default)
LAC_OUT = complete_table(LAC_OUT_STATES, EVENTS, _common(LAC_OUT_STATES, _lac_out), _default)
LAC_IN = complete_table(LAC_IN_STATES, EVENTS, _common(LAC_IN_STATES, _lac_in), _default)
LNS_IN = complete_table(LNS_IN_STATES, EVENTS, _common(LNS_IN_STATES, _lns_in), _default)

TABLES = {"lns-out": (LNS_OUT_STATES, LNS_OUT), "lac-out": (LAC_OUT_STATES, LAC_OUT),
          "lac-in": (LAC_IN_STATES, LAC_IN), "lns-in": (LNS_IN_STATES, LNS_IN)}
