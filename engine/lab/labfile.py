"""Lab file (TOML) parser: LabFile(radius, lac, cpe).

The LAC part is parsed here (LacSpec). RADIUS and CPE specs come from their own modules
(engine.lab.radius_server.RadiusSpec.from_toml, engine.lab.cpe.CpeSpec.from_toml) when those
exist; until then their tables are kept as plain dicts.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAC_FAILURE_MODES = ("none", "refuse-tunnel", "refuse-call", "silent")


class LabFileError(ValueError):
    pass


def parse_addr(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = str(text).rpartition(":")
    if not sep:
        return (str(text), default_port)
    try:
        return (host, int(port))
    except ValueError:
        raise LabFileError(f"bad address {text!r}") from None


@dataclass(frozen=True, slots=True)
class LacFailure:
    mode: str = "none"            # none | refuse-tunnel | refuse-call | silent
    drop: float = 0.0             # share of datagrams dropped in each direction
    seed: int = 0                 # seed for the drop decisions
    result: int = 8               # CDN result code for refuse-call (8 = busy)
    cause: int | None = 17        # Q.931 cause for refuse-call (17 = user busy)
    tunnel_result: int = 4        # StopCCN result code for refuse-tunnel (4 = not authorized)

    @classmethod
    def from_toml(cls, d: Any) -> LacFailure:
        if d is None:
            return cls()
        if isinstance(d, str):
            d = {"mode": d}
        if not isinstance(d, dict):
            raise LabFileError("lac failure must be a string or a table")
        mode = d.get("mode", "none")
        if mode not in LAC_FAILURE_MODES:
            raise LabFileError(f"lac failure mode {mode!r} not one of {LAC_FAILURE_MODES}")
        drop = float(d.get("drop", 0.0))
        if not 0.0 <= drop < 1.0:
            raise LabFileError("lac failure drop must be in [0, 1)")
        cause = d.get("cause", 17)
        return cls(mode, drop, int(d.get("seed", 0)), int(d.get("result", 8)),
                   None if cause is None else int(cause), int(d.get("tunnel-result", 4)))


@dataclass(frozen=True, slots=True)
class LacSpec:
    name: str
    listen: tuple[str, int] = ("127.0.0.2", 1701)
    host_name: str = "lac"
    secret: bytes | None = None
    connect_speed: int = 64000
    hello_interval: float = 60.0
    receive_window: int = 16
    #: numbers this LAC refuses to dial (CDN), on top of the dialer's own decisions
    refuse_numbers: tuple[str, ...] = ()
    failure: LacFailure = field(default_factory=LacFailure)

    @classmethod
    def from_toml(cls, d: dict) -> LacSpec:
        if not isinstance(d, dict):
            raise LabFileError("[[lac]] entry must be a table")
        known = {"name", "listen", "host-name", "secret", "connect-speed", "hello-interval",
                 "receive-window", "refuse-numbers", "failure"}
        unknown = set(d) - known
        if unknown:
            raise LabFileError(f"[[lac]]: unknown keys {sorted(unknown)}")
        name = str(d.get("name", "lac"))
        secret = d.get("secret")
        return cls(name=name,
                   listen=parse_addr(d.get("listen", "127.0.0.2:1701"), 1701),
                   host_name=str(d.get("host-name", name)),
                   secret=secret.encode() if isinstance(secret, str) and secret else None,
                   connect_speed=int(d.get("connect-speed", 64000)),
                   hello_interval=float(d.get("hello-interval", 60.0)),
                   receive_window=int(d.get("receive-window", 16)),
                   refuse_numbers=tuple(str(x) for x in d.get("refuse-numbers", ())),
                   failure=LacFailure.from_toml(d.get("failure")))


def _spec_class(module: str, name: str):
    try:
        mod = __import__(module, fromlist=[name])
        return getattr(mod, name)
    except (ImportError, AttributeError):
        return None


@dataclass(frozen=True, slots=True)
class LabFile:
    radius: tuple = ()        # RadiusSpec when engine.lab.radius_server provides it, else dict
    lac: tuple[LacSpec, ...] = ()
    cpe: tuple = ()           # CpeSpec when engine.lab.cpe provides it, else dict
    path: str | None = None
    subscriber: tuple = ()    # engine.lab.subscribers.SubscriberSpec: dial-in subscribers

    @classmethod
    def from_dict(cls, data: dict, *, path: str | None = None) -> LabFile:
        unknown = set(data) - {"radius", "lac", "cpe", "subscriber"}
        if unknown:
            raise LabFileError(f"unknown top-level tables {sorted(unknown)}")
        lacs = tuple(LacSpec.from_toml(d) for d in data.get("lac", ()))
        names = [lac.name for lac in lacs]
        if len(set(names)) != len(names):
            raise LabFileError("duplicate [[lac]] names")
        radius_cls = _spec_class("engine.lab.radius_server", "RadiusSpec")
        cpe_cls = _spec_class("engine.lab.cpe", "CpeSpec")
        radius = tuple(radius_cls.from_toml(d) if radius_cls else dict(d) for d in data.get("radius", ()))
        cpe = tuple(cpe_cls.from_toml(d) if cpe_cls else dict(d) for d in data.get("cpe", ()))
        from .subscribers import SubscriberSpec
        subs = tuple(SubscriberSpec.from_toml(d) for d in data.get("subscriber", ()))
        for s in subs:
            if s.lac not in names:
                raise LabFileError(f"[[subscriber]] {s.user}: no [[lac]] named {s.lac!r}")
        return cls(radius, lacs, cpe, path, subs)


def load_labfile(path: str | Path) -> LabFile:
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise LabFileError(f"{path}: {e}") from None
    return LabFile.from_dict(data, path=str(path))


def parse_labfile(text: str) -> LabFile:
    try:
        return LabFile.from_dict(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise LabFileError(str(e)) from None
