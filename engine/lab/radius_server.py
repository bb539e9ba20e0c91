"""Lab RADIUS server: the home server (dial-out Access-Request -> tunnel definitions)
and the LNS server (CPE PAP/CHAP -> Framed attributes), built on the project's RADIUS
codec (engine.aaa.codec, pyrad dictionary).

Lab file table (TOML, lab.md)::

    [[radius]]
    name = "home"
    listen = "127.0.0.1:18121"          # port 0 = any free port (see .address)
    secret = "home-secret"
    failure = { mode = "delay", delay = 2.0 }   # or top-level  mode = ... / delay = ...
    [radius.users."10.10.1.1@L2TP-dial-out.de.dt"]   # no password: accepted as is
    reply = { "Service-Type" = "Outbound-User", "Tunnel-Type:1" = "L2TP", ... }
    [radius.users.cpe1]
    password = "cpe1-pass"
    reply = { "Framed-Route" = ["10.10.1.0/24 0.0.0.0 1", "10.10.2.0/24 0.0.0.0 1"] }

Failure modes: "reject" (every Access-Request rejected), "silent" (nothing answered),
"wrong-secret" (replies signed with another secret), "delay" (answers after ``delay`` s),
"unsigned" (Access replies without a Message-Authenticator, as servers before the
CVE-2024-3596 fixes sent them).
Unknown users and wrong passwords get an Access-Reject (with the Reply-Message of the
user's reply when it has one); Accounting-Requests get an
Accounting-Response (except in silent mode).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import socket
from dataclasses import dataclass, field

from engine.aaa import codec
from engine.aaa.codec import MalformedPacket

log = logging.getLogger(__name__)

FAILURE_MODES = ("reject", "silent", "wrong-secret", "delay", "unsigned")


@dataclass(frozen=True, slots=True)
class RadiusUser:
    name: str
    password: str | None = field(default=None, repr=False)
    reply: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class RadiusSpec:
    name: str
    host: str
    port: int
    secret: bytes = field(repr=False)
    users: tuple[RadiusUser, ...] = ()
    mode: str | None = None          # None or one of FAILURE_MODES
    delay: float = 0.0

    @property
    def listen(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_toml(cls, d: dict) -> RadiusSpec:
        """Build from one ``[[radius]]`` table; raises ValueError on bad content."""
        if not isinstance(d, dict):
            raise ValueError("[[radius]] entry must be a table")
        name = str(d.get("name", "radius"))
        listen = str(d.get("listen", "127.0.0.1:1812"))
        host, sep, port = listen.rpartition(":")
        if not sep or not host:
            raise ValueError(f"radius {name}: listen must be host:port, got {listen!r}")
        try:
            port_n = int(port)
        except ValueError:
            raise ValueError(f"radius {name}: bad port in {listen!r}") from None
        if not 0 <= port_n <= 65535:
            raise ValueError(f"radius {name}: port out of range in {listen!r}")
        secret = d.get("secret")
        if not secret:
            raise ValueError(f"radius {name}: secret is required")
        secret_b = secret.encode() if isinstance(secret, str) else bytes(secret)
        failure = d.get("failure", {})
        if isinstance(failure, str):
            failure = {"mode": failure}
        mode = failure.get("mode", d.get("mode"))
        delay = float(failure.get("delay", d.get("delay", 0.0)))
        if mode is not None and mode not in FAILURE_MODES:
            raise ValueError(f"radius {name}: failure mode {mode!r} not in {FAILURE_MODES}")
        if mode == "delay" and delay <= 0:
            raise ValueError(f"radius {name}: mode 'delay' needs delay > 0")
        users = []
        for uname, u in (d.get("users") or {}).items():
            u = u or {}
            pw = u.get("password")
            reply_items: list[tuple[str, object]] = []
            for aname, value in (u.get("reply") or {}).items():
                base, _ = codec.split_name(aname)
                try:
                    codec.DICTIONARY.get(base)
                except KeyError:
                    raise ValueError(f"radius {name}: user {uname}: unknown attribute "
                                     f"{aname!r}") from None
                values = value if isinstance(value, list) else [value]
                for v in values:
                    try:  # validate the value now rather than at answer time
                        codec.encode_attribute(aname, v, secret=b"x",
                                               authenticator=b"\x00" * 16,
                                               rng=random.Random(0))
                    except Exception as exc:
                        raise ValueError(f"radius {name}: user {uname}: {aname} = {v!r}: "
                                         f"{exc}") from None
                    reply_items.append((aname, v))
            users.append(RadiusUser(str(uname), None if pw is None else str(pw),
                                    tuple(reply_items)))
        return cls(name, host, port_n, secret_b, tuple(users), mode, delay)


class RadiusServerCore:
    """Request -> reply logic, no I/O.  ``handle(data)`` returns the reply bytes or
    None (dropped / silent)."""

    def __init__(self, spec: RadiusSpec, *, rng=None):
        self.spec = spec
        self.users = {u.name: u for u in spec.users}
        self.rng = rng or random.SystemRandom()
        self.counters = {"access_requests": 0, "accepts": 0, "rejects": 0,
                         "accounting_requests": 0, "dropped": 0, "malformed": 0,
                         "bad_authenticator": 0}
        self.received: list[dict] = []   # decoded attributes of the last requests
        self._reply_secret = spec.secret + (b"-wrong" if spec.mode == "wrong-secret" else b"")
        self._replies: dict[str, tuple] = {}     # user -> (reply, encoded plain attributes)

    def handle(self, data: bytes) -> bytes | None:
        secret = self.spec.secret
        try:
            code, ident, length, auth = codec.parse_header(data)
            data = data[:length]
            if code == codec.ACCESS_REQUEST:
                ma = codec.verify_request_message_authenticator(data, secret)
                if ma is False:
                    self.counters["bad_authenticator"] += 1
                    return None
                attrs = codec.decode_attributes(data[20:], secret=secret, authenticator=auth)
            elif code == codec.ACCOUNTING_REQUEST:
                if not codec.verify_accounting_request(data, secret):
                    self.counters["bad_authenticator"] += 1
                    return None
                attrs = codec.decode_attributes(data[20:])
            else:
                self.counters["dropped"] += 1
                return None
        except MalformedPacket as exc:
            self.counters["malformed"] += 1
            log.info("radius %s: malformed request: %s", self.spec.name, exc)
            return None
        adict = codec.attributes_dict(attrs)
        if len(self.received) >= 64:
            del self.received[:32]
        self.received.append(adict)
        if self.spec.mode == "silent":
            self.counters["dropped"] += 1
            return None
        if code == codec.ACCOUNTING_REQUEST:
            self.counters["accounting_requests"] += 1
            return codec.build_response(codec.ACCOUNTING_RESPONSE, ident, auth, b"",
                                        self._reply_secret)
        self.counters["access_requests"] += 1
        ok, user, message = self._authenticate(adict, auth)
        if ok and self.spec.mode != "reject":
            self.counters["accepts"] += 1
            rattrs = self._encode_reply(user, auth)
            rcode = codec.ACCESS_ACCEPT
        else:
            self.counters["rejects"] += 1
            told = [v for a, v in user.reply if a == "Reply-Message"] if user else []
            rattrs = codec.encode_attribute("Reply-Message",
                                            str(told[0]) if told else message or "rejected")
            rcode = codec.ACCESS_REJECT
        return codec.build_response(rcode, ident, auth, rattrs, self._reply_secret,
                                    with_message_authenticator=self.spec.mode != "unsigned")

    def _encode_reply(self, user, auth: bytes) -> bytes:
        """The user's reply attributes: the plain ones encoded once per user, the encrypted
        ones (Tunnel-Password: salt and Request Authenticator) for every reply."""
        cached = self._replies.get(user.name)
        if cached is None or cached[0] is not user.reply:
            parts: list = []
            for name, value in user.reply:
                if codec.DICTIONARY.get(codec.split_name(name)[0]).encrypt:
                    parts.append((name, value))
                else:
                    parts.append(codec.encode_attribute(name, value))
            cached = (user.reply, parts)
            self._replies[user.name] = cached
        return b"".join(
            p if isinstance(p, bytes) else codec.encode_attribute(
                p[0], p[1], secret=self._reply_secret, authenticator=auth, rng=self.rng)
            for p in cached[1])

    def _authenticate(self, a: dict, auth: bytes):
        name = (a.get("User-Name") or (None,))[0]
        user = self.users.get(name) if isinstance(name, str) else None
        if user is None:
            return False, None, "unknown user"
        if user.password is None:
            return True, user, ""
        pw = user.password.encode()
        if "User-Password" in a:
            return hmac.compare_digest(a["User-Password"][0], pw), user, "bad password"
        if "CHAP-Password" in a:
            cp = a["CHAP-Password"][0]
            if len(cp) != 17:
                return False, user, "bad CHAP-Password"
            challenge = a.get("CHAP-Challenge", (auth,))[0]
            expect = hashlib.md5(cp[:1] + pw + challenge).digest()
            return hmac.compare_digest(expect, cp[1:]), user, "bad password"
        return False, user, "no password"


class LabRadiusServer:
    """One lab server on a non-blocking UDP socket driven by loop.add_reader."""

    def __init__(self, spec: RadiusSpec, *, rng=None, loop=None):
        self.spec = spec
        self.core = RadiusServerCore(spec, rng=rng)
        self._loop = loop or asyncio.get_running_loop()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        except OSError:
            pass
        try:
            self._sock.bind((spec.host, spec.port))
        except OSError:
            self._sock.close()
            raise
        self.address: tuple[str, int] = self._sock.getsockname()
        self._handles: set[asyncio.TimerHandle] = set()
        self._closed = False
        self._loop.add_reader(self._sock.fileno(), self._on_readable)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def counters(self) -> dict:
        return self.core.counters

    def _on_readable(self) -> None:
        for _ in range(256):
            try:
                data, addr = self._sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            reply = self.core.handle(data)
            if reply is None:
                continue
            if self.spec.mode == "delay":
                h = self._loop.call_later(self.spec.delay, self._send_later, reply, addr)
                self._handles.add(h)
            else:
                self._send(reply, addr)

    def _send_later(self, reply, addr) -> None:
        self._handles = {h for h in self._handles if not h.cancelled() and h.when() >
                         self._loop.time()}
        self._send(reply, addr)

    def _send(self, reply: bytes, addr) -> None:
        if self._closed:
            return
        try:
            self._sock.sendto(reply, addr)
        except OSError as exc:
            log.info("radius %s: sendto %s failed: %s", self.spec.name, addr, exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for h in self._handles:
            h.cancel()
        self._handles.clear()
        try:
            self._loop.remove_reader(self._sock.fileno())
        except Exception:
            pass
        self._sock.close()


async def start_radius_servers(specs, *, rng=None) -> list[LabRadiusServer]:
    """Start one LabRadiusServer per spec in the running loop; each has .close()."""
    servers = []
    try:
        for spec in specs:
            servers.append(LabRadiusServer(spec, rng=rng))
            log.info("lab RADIUS %s listening on %s:%d", spec.name, *servers[-1].address)
    except Exception:
        for s in servers:
            s.close()
        raise
    return servers
