"""Application events emitted by L2tpEndpoint.next_event()."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import STOPCCN_RESULT_NAMES


@dataclass(slots=True)
class TunnelUp:
    tunnel_id: int
    peer_tunnel_id: int
    peer_addr: Any
    peer_host_name: str


@dataclass(slots=True)
class TunnelDown:
    tunnel_id: int
    result_code: int
    error_code: int
    message: str
    by_peer: bool
    #: "refused" (it never came up) / "closed"; and the local session ids of the calls that
    #: ended with it (no CallDown for these: one event, however many calls the tunnel held)
    via: str = ""
    sessions: tuple[int, ...] = ()


@dataclass(slots=True)
class CallUp:
    tunnel_id: int
    session_id: int
    peer_session_id: int
    direction: str          # "outgoing" | "incoming"
    called_number: str
    connect_speed: int


@dataclass(slots=True)
class CallDown:
    tunnel_id: int
    session_id: int
    result_code: int
    error_code: int
    message: str
    by_peer: bool
    cause: int | None = None   # Q.931 cause code when the peer sent one


def describe_call_down(ev: CallDown) -> str:
    """The operator's text for the end of a call by CDN."""
    return f"CDN result {ev.result_code} error {ev.error_code}" + (f": {ev.message}" if ev.message else "")


def describe_tunnel_down(ev: TunnelDown) -> str:
    """The operator's text for the end of each call in ``ev.sessions``: the StopCCN that ended
    their tunnel, or the local reason (refused = the tunnel never came up)."""
    via = ev.via or "closed"
    if not ev.by_peer:
        return ev.message or f"tunnel {via}"
    name = STOPCCN_RESULT_NAMES.get(ev.result_code)
    text = f"tunnel {via} by peer: StopCCN result {ev.result_code}"
    if name:
        text += f" ({name})"
    if ev.error_code:
        text += f" error {ev.error_code}"
    return text + (f": {ev.message}" if ev.message else "")


@dataclass(slots=True)
class OutgoingCallRequested:
    """LAC side: the peer (LNS) asks us to dial. Answer with answer_outgoing_call() or
    reject_outgoing_call()."""
    tunnel_id: int
    session_id: int
    called_number: str
    min_bps: int
    max_bps: int
    bearer_type: int
    framing_type: int
    sub_address: str | None


@dataclass(slots=True)
class IncomingCallRequested:
    """LNS side: the peer (LAC) sent an ICRQ. Auto-accepted (ICRP) unless the config refuses."""
    tunnel_id: int
    session_id: int
    calling_number: str
    called_number: str
    serial_number: int


@dataclass(slots=True)
class PppFrame:
    tunnel_id: int
    session_id: int
    frame: bytes


Event = TunnelUp | TunnelDown | CallUp | CallDown | OutgoingCallRequested | IncomingCallRequested | PppFrame
