"""Why a session ended, as a value: RFC 2866 §5.10 Acct-Terminate-Cause.

The place that ends a session names its cause; accounting sends it as is (no reason text is
parsed to find it).
"""
from __future__ import annotations

import enum


class TerminateCause(enum.IntEnum):
    USER_REQUEST = 1          # the user (peer) ended the session: LCP Terminate-Request
    LOST_CARRIER = 2          # the call went away under PPP: CDN, keepalive loss
    LOST_SERVICE = 3          # service can no longer be provided: the tunnel went down
    IDLE_TIMEOUT = 4          # ip inactivity-timer / RADIUS Idle-Timeout
    SESSION_TIMEOUT = 5       # RADIUS Session-Timeout
    ADMIN_RESET = 6           # clear command
    ADMIN_REBOOT = 7          # the router is shutting down
    PORT_ERROR = 8
    NAS_ERROR = 9
    NAS_REQUEST = 10          # the NAS ended the session for a reason not listed
    NAS_REBOOT = 11
    PORT_UNNEEDED = 12
    PORT_PREEMPTED = 13
    PORT_SUSPENDED = 14
    SERVICE_UNAVAILABLE = 15
    CALLBACK = 16
    USER_ERROR = 17           # the peer's input was in error (e.g. a refused re-address)
    HOST_REQUEST = 18

    @property
    def text(self) -> str:
        """The RFC 2866 name in lower case with dashes (``idle-timeout``)."""
        return self.name.lower().replace("_", "-")
