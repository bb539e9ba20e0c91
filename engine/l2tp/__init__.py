"""L2TP (RFC 2661) sans-IO engine: codec, reliable delivery, tunnel and call state machines."""
from .config import L2tpConfig
from .connection import CallInfo, L2tpEndpoint, L2tpSnapshot, TunnelInfo, challenge_response
from .errors import L2tpProtocolError
from .events import (
                     CallDown,
                     CallUp,
                     IncomingCallRequested,
                     OutgoingCallRequested,
                     PppFrame,
                     TunnelDown,
                     TunnelUp,
                     describe_call_down,
                     describe_tunnel_down,
)

__all__ = ["L2tpConfig", "L2tpEndpoint", "L2tpSnapshot", "TunnelInfo", "CallInfo", "challenge_response",
           "L2tpProtocolError", "TunnelUp", "TunnelDown", "CallUp", "CallDown", "OutgoingCallRequested",
           "IncomingCallRequested", "PppFrame", "describe_call_down",
           "describe_tunnel_down"]
