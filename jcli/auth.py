"""Operator accounts: salted secret hashes, login checks (local or RADIUS), failed-login delay.

A secret is stored and rendered only as ``$scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>``
(``username NAME secret 5 $scrypt$...`` in the configuration); the rendered form parses back.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import os
import re
from typing import Any

log = logging.getLogger("jcli.auth")

PREFIX = "$scrypt$"
_N, _R, _P = 1 << 14, 8, 1
_HASH_RE = re.compile(r"\$scrypt\$(\d{1,7})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/=]{8,64})\$([A-Za-z0-9+/]{43}=)\Z")
FAIL_DELAY = 1.5                 # seconds before a refused login is answered
SECRET_MAX = 128


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    dk = hashlib.scrypt(secret.encode("utf-8", "surrogateescape"), salt=salt, n=_N, r=_R, p=_P,
                        dklen=32)
    return f"{PREFIX}{_N}${_R}${_P}${_b64(salt)}${_b64(dk)}"


def is_hash(text: str) -> bool:
    """Whether ``text`` is a well-formed hash this module can check (safe parameters only)."""
    m = _HASH_RE.match(text)
    if m is None:
        return False
    n, r, p = (int(x) for x in m.groups()[:3])
    return 2 <= n <= 1 << 16 and n & (n - 1) == 0 and 1 <= r <= 16 and 1 <= p <= 4


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time check of ``secret`` against a stored hash; False for anything malformed."""
    if stored is None or not is_hash(stored):
        return False
    m = _HASH_RE.match(stored)
    assert m is not None
    n, r, p = (int(x) for x in m.groups()[:3])
    try:
        salt = base64.b64decode(m.group(4), validate=True)
        want = base64.b64decode(m.group(5), validate=True)
        if len(want) != 32 or len(salt) < 8:
            return False
        got = hashlib.scrypt(secret.encode("utf-8", "surrogateescape"), salt=salt, n=n, r=r, p=p,
                             dklen=32)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(got, want)


class LoginResult:
    __slots__ = ("user", "privilege")

    def __init__(self, user: str, privilege: int) -> None:
        self.user = user
        self.privilege = privilege


class Authenticator:
    """Checks operator logins against the shared configuration (``aaa authentication login``)
    and the engine's RADIUS clients of the default virtual router."""

    def __init__(self, config: Any, engine: Any = None) -> None:
        self.config = config
        self.engine = engine
        self.failures = 0
        self.successes = 0

    @property
    def ops(self) -> Any:
        return self.config.operators

    def has_accounts(self) -> bool:
        return bool(self.ops.users) or self.ops.login_methods[0] == "radius"

    def _local(self, user: str, password: str) -> LoginResult | None:
        acct = self.ops.users.get(user)
        # hash even for an unknown user: the answer takes as long either way
        ok = verify_secret(password, acct.secret if acct is not None else _dummy())
        if acct is None or not ok:
            return None
        return LoginResult(user, acct.privilege)

    async def _radius(self, user: str, password: str) -> LoginResult | None | str:
        """LoginResult, None (rejected) or "unreachable"."""
        radius = getattr(getattr(self.engine, "engine", self.engine), "radius", None)
        if radius is None:
            return "unreachable"
        from engine.aaa.requests import pap_request
        from engine.aaa.types import RadiusReply
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()

        def done(ev: Any) -> None:
            if not fut.done():
                fut.set_result(ev)
        spec = pap_request(user, password, nas_ip=getattr(radius, "nas_ip", None))
        try:
            if not radius.ask("default", spec, done):
                return "unreachable"
        except Exception:                       # pragma: no cover - engine not started
            log.warning("RADIUS login request could not be sent", exc_info=True)
            return "unreachable"
        ev = await fut
        if not isinstance(ev, RadiusReply):
            return "unreachable"
        if ev.code != "accept":
            return None
        priv = 1
        acct = self.ops.users.get(user)
        if acct is not None:
            priv = acct.privilege
        return LoginResult(user, priv)

    async def login(self, user: str, password: str, source: str) -> LoginResult | None:
        """Check a login; a refusal is counted, logged and answered after FAIL_DELAY."""
        result: LoginResult | None = None
        if len(user) <= 64 and len(password) <= SECRET_MAX and user.isprintable() and user:
            methods = self.ops.login_methods
            for i, method in enumerate(methods):
                if method == "local":
                    result = self._local(user, password)
                    break
                r = await self._radius(user, password)
                if r == "unreachable" and i + 1 < len(methods):
                    log.warning("login: RADIUS unreachable, falling back to %s", methods[i + 1])
                    continue
                result = r if isinstance(r, LoginResult) else None
                break
        if result is None:
            self.failures += 1
            log.warning("login refused for %r from %s (%d refused so far)", user[:64], source,
                        self.failures)
            await asyncio.sleep(FAIL_DELAY)
            return None
        self.successes += 1
        log.info("login: %s from %s (privilege %d)", result.user, source, result.privilege)
        return result

    async def check_enable(self, password: str) -> bool:
        ok = verify_secret(password, self.ops.enable_secret)
        if not ok:
            self.failures += 1
            log.warning("enable refused (%d refused so far)", self.failures)
            await asyncio.sleep(FAIL_DELAY)
        return ok


@functools.lru_cache(maxsize=1)
def _dummy() -> str:
    return hash_secret("\x00unused\x00", salt=b"0123456789abcdef")
