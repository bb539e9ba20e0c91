"""Lab dial-in subscribers: ``[[subscriber]]`` entries of a lab file.

    [[subscriber]]
    user = "u{i}@isp.example"     # {i}: 0 .. count-1
    password = "pw{i}"
    lac = "lac1"                  # the [[lac]] that places the incoming calls
    count = 100
    auth = "chap"                 # pap | chap: what the subscriber answers
    lns = "127.0.0.1:1701"        # optional: where to dial in (default: the router of --lab)

Each subscriber is a lab CPE whose PPP takes the address the LNS assigns and answers pings
on it.  They dial in when the lab starts (``RunningLab.dial_in``); a later ``dial_in`` dials
those whose call ended again, and ``RunningLab.ping`` makes a subscriber send pings."""
from __future__ import annotations

import random
from dataclasses import dataclass

from .cpe import Cpe, CpeSpec
from .labfile import LabFileError, parse_addr

MAX_COUNT = 100_000
KNOWN = {"user", "password", "lac", "count", "auth", "lns", "calling-number"}


def _expand(template: str, i: int) -> str:
    """``{i}`` replaced by the index (no other formatting: the template is data)."""
    return template.replace("{i}", str(i))


@dataclass(frozen=True, slots=True)
class SubscriberSpec:
    user: str
    password: str
    lac: str
    count: int = 1
    auth: str = "chap"
    lns: tuple[str, int] | None = None
    calling_number: str = ""

    @classmethod
    def from_toml(cls, d: object) -> SubscriberSpec:
        if not isinstance(d, dict):
            raise LabFileError("[[subscriber]] entry must be a table")
        unknown = set(d) - KNOWN
        if unknown:
            raise LabFileError(f"[[subscriber]]: unknown keys {sorted(unknown)}")
        for key in ("user", "lac"):
            if not isinstance(d.get(key), str) or not d[key]:
                raise LabFileError(f"[[subscriber]]: '{key}' (a string) is required")
        count = d.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_COUNT:
            raise LabFileError(f"[[subscriber]]: count must be 1..{MAX_COUNT}")
        auth = d.get("auth", "chap")
        if auth not in ("pap", "chap"):
            raise LabFileError("[[subscriber]]: auth must be pap or chap")
        if count > 1 and "{i}" not in d["user"]:
            raise LabFileError("[[subscriber]]: count > 1 needs {i} in the user name")
        password = d.get("password", "")
        calling = d.get("calling-number", "")
        if not isinstance(password, str) or not isinstance(calling, str):
            raise LabFileError("[[subscriber]]: password and calling-number are strings")
        lns = d.get("lns")
        if lns is not None and not isinstance(lns, str):
            raise LabFileError("[[subscriber]]: lns must be \"host:port\"")
        return cls(d["user"], password, d["lac"], count, auth,
                   parse_addr(lns, 1701) if lns is not None else None, calling)

    def cpes(self, rng: random.Random) -> list[Cpe]:
        out = []
        for i in range(self.count):
            user = _expand(self.user, i)
            cpe = Cpe(CpeSpec(number=_expand(self.calling_number, i), username=user,
                              password=_expand(self.password, i), accept_auth=(self.auth,),
                              name=user), rng=rng)
            cpe.answer_assigned = True
            out.append(cpe)
        return out
