"""Lab CPE: the remote site's router, a PPP peer built on ``engine.ppp.PppLink``.

Lab file table (TOML ``[[cpe]]``, read by ``CpeSpec.from_toml``)::

    [[cpe]]
    number = "5551001"            # called number the LAC dials (required)
    username = "cpe1"             # what the CPE presents to the LNS
    password = "cpe1-pass"
    expect-username = "lns"       # what the CPE requires from the LNS (absent: no check)
    expect-password = "lns-pass"
    address = "10.10.1.1"         # or addresses = ["10.10.1.1", "10.10.1.2"]; the first is
                                  # offered in IPCP, all answer ICMP echo
    auth = ["chap"]               # protocols the CPE demands from the LNS, by preference
                                  # (default ["chap"] when expect-username is set, else [])
    accept-auth = ["chap", "pap"] # protocols the CPE accepts to authenticate itself
    mode = "wrong-password"       # failure mode, optional:
        # "wrong-password": presents password + "-wrong"
        # "refuse-auth":    refuses to authenticate itself (Configure-Reject Auth-Protocol)
        # "bad-address":    offers/insists on ``bad-address`` (default 10.99.9.9) in IPCP
        # "silent":         never answers anything
    bad-address = "10.99.9.9"
    keepalive = 0                 # LCP echo interval of the CPE, seconds (0 = off)
    name = "site-a"               # optional label
    terminate-text = "bye"        # optional: hang up (LCP Terminate-Request with this text)
                                  # as soon as IPCP is up

Interface used by the lab LAC (all sans-IO, ``now`` in seconds)::

    dialer = CpeDialer(specs, rng)           # specs: iterable of CpeSpec
    cpe = dialer.dial(called_number)         # Cpe, or None = no such number (no answer)
    cpe.start(now=...)                       # the call is connected: start PPP (LCP)
    cpe.receive_frame(frame, now=...)        # PPP frame from the L2TP session (FF03 optional)
    cpe.frames_to_send() -> list[bytes]      # PPP frames for the L2TP session
    cpe.get_timer() -> float | None ; cpe.handle_timer(now=...)
    cpe.next_event()                         # engine.ppp events (AuthRequest and IpPacket
                                             # are handled inside and not passed on)
    cpe.up                                   # True while IPCP is open
    cpe.down                                 # True once the PPP link is finished (LinkDown):
                                             # the LAC should then clear the call (CDN)
    cpe.close(now=...)                       # LCP Terminate (the call is being cleared)
    cpe.lower_down(now=...)                  # the call went away (alias: hangup)

A ``Cpe`` also fits the lab LAC's DialedParty protocol directly (``connect_speed``,
``hangup(now=)``, ``closed``; the first frame received starts PPP if ``start`` was not called).
``build_dialer(specs, rng=None)`` returns a ``CpeDialer`` (SystemRandom by default).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from engine import icmp
from engine.ppp import AuthRequest, IpPacket, LinkDown, NetworkUp, PppConfig, PppLink
from engine.ppp.chap import chap_md5

log = logging.getLogger(__name__)

MODES = ("wrong-password", "refuse-auth", "bad-address", "silent")
_PROTOCOLS = ("chap", "pap")


def _protocols(value, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    out = tuple(str(v).lower() for v in value)
    for p in out:
        if p not in _PROTOCOLS:
            raise ValueError("cpe %s: unknown protocol %r (chap, pap)" % (field, p))
    return out


@dataclass(frozen=True, slots=True)
class CpeSpec:
    number: str
    username: str = ""
    password: str = ""
    expect_username: str | None = None
    expect_password: str | None = None
    addresses: tuple[str, ...] = ()
    auth: tuple[str, ...] = ()
    accept_auth: tuple[str, ...] = ("chap", "pap")
    mode: str | None = None
    bad_address: str = "10.99.9.9"
    keepalive: float = 0.0
    name: str = ""
    #: once IPCP is up, hang up with an LCP Terminate-Request carrying this text
    terminate_text: str | None = None

    @classmethod
    def from_toml(cls, d: dict) -> CpeSpec:
        known = {"number", "username", "password", "expect-username", "expect-password",
                 "address", "addresses", "auth", "accept-auth", "mode", "bad-address",
                 "keepalive", "name", "terminate-text"}
        unknown = set(d) - known
        if unknown:
            raise ValueError("cpe: unknown keys %s" % ", ".join(sorted(unknown)))
        if "number" not in d:
            raise ValueError("cpe: 'number' is required")
        addrs: list[str] = []
        if "address" in d:
            addrs.append(str(d["address"]))
        if "addresses" in d:
            v = d["addresses"]
            addrs.extend([v] if isinstance(v, str) else [str(x) for x in v])
        for a in addrs:
            icmp.socket.inet_aton(a)        # raises OSError on a bad address
        exp_user = d.get("expect-username")
        auth = _protocols(d["auth"], "auth") if "auth" in d else (
            ("chap",) if exp_user is not None else ())
        mode = d.get("mode")
        if mode is not None and mode not in MODES:
            raise ValueError("cpe mode %r: one of %s" % (mode, ", ".join(MODES)))
        return cls(
            number=str(d["number"]), username=str(d.get("username", "")),
            password=str(d.get("password", "")),
            expect_username=None if exp_user is None else str(exp_user),
            expect_password=(None if d.get("expect-password") is None
                             else str(d["expect-password"])),
            addresses=tuple(addrs), auth=auth,
            accept_auth=_protocols(d.get("accept-auth", ["chap", "pap"]), "accept-auth"),
            mode=mode, bad_address=str(d.get("bad-address", "10.99.9.9")),
            keepalive=float(d.get("keepalive", 0.0)), name=str(d.get("name", "")),
            terminate_text=(None if d.get("terminate-text") is None
                            else str(d["terminate-text"])))

    def ppp_config(self) -> PppConfig:
        mode = self.mode
        local_ip = self.addresses[0] if self.addresses else None
        if mode == "bad-address":
            local_ip = self.bad_address
        return PppConfig(
            auth_protocols_required=self.auth,
            auth_protocols_allowed=None if mode == "refuse-auth" else self.accept_auth,
            username=self.username,
            password=self.password + "-wrong" if mode == "wrong-password" else self.password,
            hostname=self.username or "cpe",
            keepalive_interval=self.keepalive,
            local_ip=local_ip, peer_ip=None, accept_peer_ip=True,
            accept_local_nak=False)


class Cpe:
    """One call's CPE.  See the module docstring for the interface."""

    def __init__(self, spec: CpeSpec, *, rng) -> None:
        self.spec = spec
        self.link = PppLink(spec.ppp_config(), rng=rng, role_name="cpe")
        self.silent = spec.mode == "silent"
        self._addresses = frozenset(spec.addresses + (
            (spec.bad_address,) if spec.mode == "bad-address" else ()))
        self.pings_answered = 0
        self.pings_sent = 0                 # echo requests of ``ping`` and the replies to them
        self.ping_replies = 0
        self._ping_ident = 0x5C00 | (id(self) & 0xFF)
        self.answer_assigned = False        # dial-in subscriber: answer on the assigned address
        self.down = False
        self.started = False
        self._events: list = []

    connect_speed = 64000

    @property
    def up(self) -> bool:
        return self.link.network_up

    @property
    def closed(self) -> bool:
        return self.down

    def start(self, *, now: float) -> None:
        if self.started:
            return
        self.started = True
        if not self.silent:
            self.link.open(now=now)

    def hangup(self, *, now: float) -> None:
        self.lower_down(now=now)

    def close(self, *, now: float) -> None:
        self.link.close("call cleared", now=now)
        self._drain()

    def lower_down(self, *, now: float) -> None:
        self.link.lower_down(now=now)
        self._drain()

    def receive_frame(self, frame: bytes, *, now: float) -> None:
        if self.silent:
            return
        if not self.started:
            self.start(now=now)
        self.link.receive_frame(frame, now=now)
        self._drain(now)

    def frames_to_send(self) -> list[bytes]:
        return self.link.frames_to_send()

    def get_timer(self) -> float | None:
        return None if self.silent else self.link.get_timer()

    def handle_timer(self, *, now: float) -> None:
        if not self.silent:
            self.link.handle_timer(now=now)
            self._drain(now)

    def next_event(self):
        return self._events.pop(0) if self._events else None

    def ping(self, dst: str) -> bool:
        """Send one ICMP echo request from our address to ``dst`` over the link (replies are
        counted in ``ping_replies``); False when the link has no address or is down."""
        src = self.link.local_ip
        if not self.up or not src:
            return False
        pkt = icmp.build_echo_request(str(src), dst, self._ping_ident, self.pings_sent & 0xFFFF,
                                      b"lab subscriber ping")
        if not self.link.send_ip(pkt):
            return False
        self.pings_sent += 1
        return True

    def _drain(self, now: float | None = None) -> None:
        link = self.link
        while (ev := link.next_event()) is not None:
            if isinstance(ev, AuthRequest):
                link.auth_result(ev.request_id, self._check(ev), now=now)
            elif isinstance(ev, IpPacket):
                echo = icmp.parse_echo(ev.packet)
                if echo is not None and echo.type == 0 and echo.ident == self._ping_ident \
                        and echo.dst == str(link.local_ip):
                    self.ping_replies += 1
                    continue
                # a subscriber answers on the address the LNS assigned it
                mine = self._addresses
                if not mine and self.answer_assigned and link.local_ip:
                    mine = frozenset((link.local_ip,))
                reply = icmp.echo_reply_for(ev.packet, addresses=mine)
                if reply is not None and link.send_ip(reply):
                    self.pings_answered += 1
            else:
                if isinstance(ev, LinkDown):
                    self.down = True
                elif isinstance(ev, NetworkUp) and self.spec.terminate_text is not None \
                        and now is not None:
                    link.close(self.spec.terminate_text, now=now)
                self._events.append(ev)

    def _check(self, ev: AuthRequest) -> bool:
        spec = self.spec
        if spec.expect_username is not None and ev.username != spec.expect_username:
            return False
        secret = spec.expect_password or ""
        if ev.protocol == "pap":
            return ev.password == secret
        if ev.chap_id is None or ev.chap_challenge is None:   # a CHAP request always has both
            return False
        return ev.chap_response == chap_md5(ev.chap_id, secret.encode(), ev.chap_challenge)


class CpeDialer:
    """Maps called numbers to CPE specs; ``dial`` makes a fresh ``Cpe`` per call."""

    def __init__(self, specs, rng) -> None:
        self.specs = {s.number: s for s in specs}
        self.rng = rng

    def dial(self, called_number: str) -> Cpe | None:
        spec = self.specs.get(called_number)
        if spec is None:
            return None
        return Cpe(spec, rng=self.rng)


def build_dialer(specs, rng=None) -> CpeDialer:
    import random
    return CpeDialer(specs, rng if rng is not None else random.SystemRandom())
