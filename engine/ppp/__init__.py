"""Userspace PPP (RFC 1661 LCP, RFC 1334 PAP, RFC 1994 CHAP-MD5, RFC 1332/1877 IPCP), sans-IO.

Entry point: :class:`engine.ppp.link.PppLink` with :class:`engine.ppp.link.PppConfig`;
events in :mod:`engine.ppp.events`.
"""
from .events import (
                     AuthenticatedByPeer,
                     AuthFailed,
                     AuthRequest,
                     IpPacket,
                     LinkDown,
                     LinkUp,
                     NetworkDown,
                     NetworkUp,
                     PeerAuthenticated,
)
from .link import PppConfig, PppCounters, PppLink, PppSnapshot

__all__ = ["PppConfig", "PppLink", "PppSnapshot", "PppCounters", "AuthRequest",
           "PeerAuthenticated", "AuthenticatedByPeer", "AuthFailed", "NetworkUp",
           "NetworkDown", "IpPacket", "LinkDown", "LinkUp"]
