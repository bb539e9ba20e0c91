"""The dial-out verdict a test expects from a RADIUS reply."""
from __future__ import annotations

from engine.aaa.tunnel_attrs import DialoutDenial, DialoutGrant, parse_dialout_reply
from engine.aaa.types import RadiusEvent


def denied(reply: RadiusEvent | None) -> DialoutDenial:
    verdict = parse_dialout_reply(reply)
    assert isinstance(verdict, DialoutDenial), verdict
    return verdict


def granted(reply: RadiusEvent | None) -> DialoutGrant:
    verdict = parse_dialout_reply(reply)
    assert isinstance(verdict, DialoutGrant), verdict
    return verdict
