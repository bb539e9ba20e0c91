"""Errors raised by the L2TP codec and state machines (RFC 2661 §4.4.2)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .message import Header

# StopCCN result codes (RFC 2661 §4.4.2)
STOPCCN_GENERAL_CLEAR = 1
STOPCCN_GENERAL_ERROR = 2
STOPCCN_ALREADY_EXISTS = 3
STOPCCN_NOT_AUTHORIZED = 4
STOPCCN_BAD_VERSION = 5
STOPCCN_SHUTTING_DOWN = 6
STOPCCN_FSM_ERROR = 7

STOPCCN_RESULT_NAMES = {
    STOPCCN_GENERAL_CLEAR: "general request to clear control connection",
    STOPCCN_GENERAL_ERROR: "general error",
    STOPCCN_ALREADY_EXISTS: "control channel already exists",
    STOPCCN_NOT_AUTHORIZED: "requester not authorized",
    STOPCCN_BAD_VERSION: "protocol version not supported",
    STOPCCN_SHUTTING_DOWN: "requester is being shut down",
    STOPCCN_FSM_ERROR: "finite state machine error",
}

# CDN result codes (RFC 2661 §4.4.2)
CDN_LOST_CARRIER = 1
CDN_GENERAL_ERROR = 2
CDN_ADMIN = 3
CDN_TEMP_NO_FACILITIES = 4
CDN_PERM_NO_FACILITIES = 5
CDN_INVALID_DESTINATION = 6
CDN_NO_CARRIER = 7
CDN_BUSY = 8
CDN_NO_DIAL_TONE = 9
CDN_TIMEOUT = 10
CDN_NO_FRAMING = 11

# General error codes (RFC 2661 §4.4.2)
ERR_NONE = 0
ERR_NO_CONTROL_CONNECTION = 1
ERR_BAD_LENGTH = 2
ERR_BAD_VALUE = 3
ERR_NO_RESOURCES = 4
ERR_BAD_SESSION_ID = 5
ERR_VENDOR = 6
ERR_TRY_ANOTHER = 7
ERR_UNKNOWN_MANDATORY_AVP = 8


class L2tpProtocolError(Exception):
    """Malformed or unacceptable input from the wire.

    Carries the Result Code / Error Code to put in the StopCCN or CDN that answers it.
    ``header`` is set by the decoder when the message header itself was valid, so the
    caller can still acknowledge the message and address the answer.
    """

    def __init__(self, message: str, *, result: int = STOPCCN_GENERAL_ERROR,
                 error: int = ERR_BAD_LENGTH, fatal: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.result = result
        self.error = error
        #: True when the whole message must be rejected with StopCCN/CDN (e.g. an unknown
        #: mandatory AVP); False for plain malformed input that is counted and dropped.
        self.fatal = fatal
        self.header: Header | None = None
        self.msg_type: int | None = None
        #: AVPs decoded before a missing-mandatory-AVP check failed (to address the CDN)
        self.avps: tuple[Any, ...] = ()
