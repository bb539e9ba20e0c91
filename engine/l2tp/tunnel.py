"""Control connection state machine, originator and recipient (RFC 2661 §7.2.1).

Actions are names of L2tpEndpoint methods ``_t_<action>(tunnel, msg)``.
"""
from __future__ import annotations

from .fsm import complete_table

IDLE = "idle"
WAIT_CTL_REPLY = "wait-ctl-reply"   # originator: SCCRQ sent
WAIT_CTL_CONN = "wait-ctl-conn"     # recipient: SCCRP sent
ESTABLISHED = "established"
CLOSING = "closing"                 # StopCCN sent or received: state held for a retransmit cycle
DEAD = "dead"

STATES = (IDLE, WAIT_CTL_REPLY, WAIT_CTL_CONN, ESTABLISHED, CLOSING, DEAD)

EVENTS = (
    "open",                 # local: open_tunnel()
    "rx_sccrq_accept",      # SCCRQ acceptable
    "rx_sccrq_refuse",      # SCCRQ refused by policy / auth / version
    "rx_sccrp_ok",
    "rx_sccrp_bad",         # authentication or version failure
    "rx_scccn_ok",
    "rx_scccn_bad",
    "rx_stopccn",
    "rx_hello",
    "rx_call_message",      # OCRQ/OCRP/.../CDN/WEN/SLI
    "rx_unexpected",        # a tunnel message that makes no sense in this state
    "rx_fatal",             # unknown mandatory AVP or missing mandatory AVP in a tunnel message
    "close",                # local: close_tunnel()
    "retries_exhausted",    # a control message was never acknowledged
    "hello_due",
    "hold_expired",
)

ACTIVE = (WAIT_CTL_REPLY, WAIT_CTL_CONN, ESTABLISHED)

_rows = {
    # RFC 2661 §7.2.1 idle: local open request -> send SCCRQ, wait-ctl-reply
    (IDLE, "open"): (WAIT_CTL_REPLY, ("send_sccrq",)),
    # §7.2.1 idle: receive SCCRQ, acceptable -> send SCCRP, wait-ctl-conn
    (IDLE, "rx_sccrq_accept"): (WAIT_CTL_CONN, ("send_sccrp",)),
    # §7.2.1 idle: receive SCCRQ, not acceptable -> send StopCCN, clean up
    (IDLE, "rx_sccrq_refuse"): (CLOSING, ("send_stopccn", "report_refused", "start_hold")),
    # §7.2.1 idle: receive SCCRP / SCCCN -> send StopCCN, clean up
    (IDLE, "rx_sccrp_ok"): (CLOSING, ("send_stopccn_fsm", "start_hold")),
    (IDLE, "rx_sccrp_bad"): (CLOSING, ("send_stopccn_fsm", "start_hold")),
    (IDLE, "rx_scccn_ok"): (CLOSING, ("send_stopccn_fsm", "start_hold")),
    (IDLE, "rx_scccn_bad"): (CLOSING, ("send_stopccn_fsm", "start_hold")),
    (IDLE, "close"): (DEAD, ("destroy",)),
    # §7.2.1 wait-ctl-reply: receive SCCRP, acceptable -> send SCCCN, established
    (WAIT_CTL_REPLY, "rx_sccrp_ok"): (ESTABLISHED, ("send_scccn", "tunnel_up")),
    # §7.2.1 wait-ctl-reply: receive SCCRP, not acceptable -> send StopCCN, clean up
    (WAIT_CTL_REPLY, "rx_sccrp_bad"): (CLOSING, ("send_stopccn", "tunnel_down_local", "start_hold")),
    # §7.2.1 wait-ctl-reply: receive SCCRQ: tie-breaker handled by the endpoint before dispatch
    # §7.2.1 wait-ctl-conn: receive SCCCN, acceptable -> established
    (WAIT_CTL_CONN, "rx_scccn_ok"): (ESTABLISHED, ("tunnel_up",)),
    # §7.2.1 wait-ctl-conn: receive SCCCN, not acceptable -> send StopCCN, clean up
    (WAIT_CTL_CONN, "rx_scccn_bad"): (CLOSING, ("send_stopccn", "tunnel_down_local", "start_hold")),
    # §7.2.1 established: HELLO just acknowledged; call messages go to the call machines
    (ESTABLISHED, "rx_hello"): (ESTABLISHED, ()),
    (ESTABLISHED, "rx_call_message"): (ESTABLISHED, ("dispatch_call",)),
    (ESTABLISHED, "hello_due"): (ESTABLISHED, ("send_hello",)),
    (WAIT_CTL_REPLY, "rx_hello"): (WAIT_CTL_REPLY, ()),
    (WAIT_CTL_CONN, "rx_hello"): (WAIT_CTL_CONN, ()),
    # §5.7: StopCCN received -> acknowledged, state held for a retransmission cycle
    (CLOSING, "rx_stopccn"): (CLOSING, ()),
    (CLOSING, "hold_expired"): (DEAD, ("destroy",)),
    (CLOSING, "retries_exhausted"): (DEAD, ("destroy",)),
}
for _s in ACTIVE:
    # §7.2.1 any state: receive StopCCN -> clean up (after the ZLB and hold period)
    _rows[(_s, "rx_stopccn")] = (CLOSING, ("tunnel_down_peer", "start_hold"))
    # §7.2.1 local close request -> send StopCCN
    _rows[(_s, "close")] = (CLOSING, ("send_stopccn", "tunnel_down_local", "start_hold"))
    # §5.8: no acknowledgement after the last retry -> tunnel torn down
    _rows[(_s, "retries_exhausted")] = (DEAD, ("tunnel_down_timeout", "destroy"))
    # §7.2.1 out-of-state message -> StopCCN (FSM error)
    _rows[(_s, "rx_unexpected")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
    # §4.1 M bit: unknown mandatory AVP -> StopCCN result 2 error 8
    _rows[(_s, "rx_fatal")] = (CLOSING, ("send_stopccn_error", "tunnel_down_local", "start_hold"))
# §4.1 M bit: an SCCRQ with an unknown mandatory AVP -> StopCCN result 2 error 8 (the
# tunnel was never announced to the application, so no TunnelDown)
_rows[(IDLE, "rx_fatal")] = (CLOSING, ("send_stopccn_error", "start_hold"))
for _s in (WAIT_CTL_REPLY, WAIT_CTL_CONN):
    _rows[(_s, "rx_call_message")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
for _e in ("rx_sccrq_accept", "rx_sccrq_refuse"):
    for _s in ACTIVE:
        _rows[(_s, _e)] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(ESTABLISHED, "rx_sccrp_ok")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(ESTABLISHED, "rx_sccrp_bad")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(ESTABLISHED, "rx_scccn_ok")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(ESTABLISHED, "rx_scccn_bad")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(WAIT_CTL_REPLY, "rx_scccn_ok")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(WAIT_CTL_REPLY, "rx_scccn_bad")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(WAIT_CTL_CONN, "rx_sccrp_ok")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(WAIT_CTL_CONN, "rx_sccrp_bad")] = (CLOSING, ("send_stopccn_fsm", "tunnel_down_local", "start_hold"))
_rows[(IDLE, "retries_exhausted")] = (DEAD, ("destroy",))
# §7.2.1 wait-ctl-reply: StopCCN received = the peer refused our SCCRQ (counted as such)
_rows[(WAIT_CTL_REPLY, "rx_stopccn")] = (CLOSING, ("report_refused_by_peer", "tunnel_down_peer", "start_hold"))


def _default(state: str, event: str) -> tuple[str, tuple[str, ...]]:
    # Everything else is explicitly ignored: events that cannot occur in the state (timers not
    # armed, messages after the tunnel is gone) or that need no action (e.g. open twice).
    return (state, ("ignore",))


TABLE = complete_table(STATES, EVENTS, _rows, _default)
