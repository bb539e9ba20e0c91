"""Value types shared by the RADIUS codec, the tunnel-attribute interpreter and the
client: the decode error and the events a request ends with.  Imports nothing of
``engine.aaa``, so every other module of the package may import it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# {attribute name or 'Name:tag': (values...)}; values are int, str, bytes
AttrValue = int | str | bytes
Attributes = dict[str, tuple[AttrValue, ...]]


class SaltSource(Protocol):
    """Where RFC 2868 salts come from (a random.Random, or a scripted sequence in tests)."""

    def randrange(self, stop: int, /) -> int: ...


class MalformedPacket(ValueError):
    """A received packet or attribute that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class RadiusReply:
    request_id: int
    code: str                  # "accept" | "reject" | "challenge" | "accounting-response"
    attributes: Attributes = field(default_factory=dict)   # Tunnel-Password decrypted
    request_authenticator: bytes = b""
    server: tuple[str, int] = ("", 0)
    rtt: float = 0.0           # seconds since the last (re)transmission


# RadiusTimeout.reason values
REASON_TIMEOUT = "timeout"            # no server answered
REASON_NO_SERVER = "no-server"        # no server of the kind configured
REASON_INVALID = "invalid-reply"      # servers answered, but no answer was valid

TIMEOUT_REASONS = (REASON_TIMEOUT, REASON_NO_SERVER, REASON_INVALID)


@dataclass(frozen=True, slots=True)
class RadiusTimeout:
    """The request ended without a valid reply; ``reason`` is one of TIMEOUT_REASONS."""
    request_id: int
    reason: str = REASON_TIMEOUT


RadiusEvent = RadiusReply | RadiusTimeout
