"""Operators: accounts (`username`, `enable secret`, `aaa authentication login`), the sessions
logged in (`show users`, `clear line`) and the log (`show logging`)."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from jcli.auth import SECRET_MAX, hash_secret, is_hash
from jcli.config import model as m
from jcli.registry import CliError, command, renders
from jcli.views import ShowResult, table

USER_MAX = 32
_USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*\Z", re.ASCII)
_SECRET_HELP = ["Secret (clear text), or 5 followed by a stored hash", "Stored hash (after 5)"]


def _secret(a: str, b: str | None) -> str:
    """`secret WORD` (clear, hashed here) or `secret 5 HASH` (a hash as rendered)."""
    if b is not None:
        if a != "5" or not is_hash(b):
            raise CliError("Invalid secret: expected 'secret WORD' or 'secret 5 <hash>'")
        return b
    if len(a) > SECRET_MAX:
        raise CliError(f"Secret too long (at most {SECRET_MAX} characters)")
    return hash_secret(a)


def user_names(ctx: Any) -> list[str]:
    return sorted(ctx.config.operators.users)


@command("config", "username WORD$name [privilege <0-15>$privilege] secret WORD$a [WORD$b]",
         ["Add or change a login account", "User name", "Privilege level of the account",
          "0-15 (15: logs in to privileged exec)", "Set the account's secret", *_SECRET_HELP])
def username(ctx: Any, name: str, privilege: int | None, a: str, b: str | None) -> None:
    from jcli.config.model import Operator
    if len(name) > USER_MAX or not _USER_RE.match(name):
        raise CliError(f"Invalid user name (letters, digits, '_', '.', '@', '-'; at most {USER_MAX})")
    ops = ctx.config.operators
    old = ops.users.get(name)
    priv = privilege if privilege is not None else (old.privilege if old is not None else 1)
    ops.users[name] = Operator(name, _secret(a, b), priv)


@command("config", "no username WORD$name", ["Negate a command or set its defaults",
                                               "Remove a login account", "User name"],
         complete={"name": user_names})
def no_username(ctx: Any, name: str) -> None:
    if ctx.config.operators.users.pop(name, None) is None:
        raise CliError(f'User "{name}" does not exist')


@command("config", "enable secret WORD$a [WORD$b]",
         ["Set the password for privileged exec", "Set the secret", *_SECRET_HELP])
def enable_secret(ctx: Any, a: str, b: str | None) -> None:
    ctx.config.operators.enable_secret = _secret(a, b)


@command("config", "no enable secret", ["Negate a command or set its defaults",
                                         "Password for privileged exec", "Remove the secret"])
def no_enable_secret(ctx: Any) -> None:
    ctx.config.operators.enable_secret = None


_LOGIN_HELP = ["Authentication, authorization and accounting", "Authentication",
               "Operator logins (telnet, SSH)", "The default method list"]


@command("config", "aaa authentication login default {local$first | radius$first | "
                   "radius$first local$second}",
         [*_LOGIN_HELP, "Local accounts (username)", "RADIUS servers of the default virtual router",
          "RADIUS servers of the default virtual router", "Local accounts when RADIUS is unreachable"])
def aaa_login(ctx: Any, first: str, second: str | None) -> None:
    ctx.config.operators.login_methods = (first,) + ((second,) if second else ())


@command("config", "no aaa authentication login default",
         ["Negate a command or set its defaults", *_LOGIN_HELP])
def no_aaa_login(ctx: Any) -> None:
    ctx.config.operators.login_methods = ("local",)


# ------------------------------------------------------------------------- sessions
def _idle(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def render_users(d: dict[str, Any]) -> list[str]:
    rows = [[("*" if u["self"] else " ") + str(u["line"]), u["type"], u["user"], u["from"],
             _idle(u["idle"]), u["mode"]] for u in d["users"]]
    return table(["Line", "Type", "User", "From", "Idle", "Mode"], rows)


def _sessions(ctx: Any) -> list[Any]:
    svc = getattr(ctx, "service", None)
    if svc is None:
        return []
    return list(svc.sessions.values())


@command("*", "show users", ["Show running system information", "Operators logged in"])
def show_users(ctx: Any) -> ShowResult:
    now = time.monotonic()
    users = []
    sessions = _sessions(ctx)
    if not sessions:
        users.append({"line": 0, "type": "con", "user": "console", "from": "local",
                      "idle": 0, "mode": "user" if ctx.mode == "user" else "privileged",
                      "self": True})
    for s in sessions:
        users.append({"line": s.line, "type": s.kind, "user": s.user, "from": s.source,
                      "idle": round(now - s.last_active, 1),
                      "mode": "user" if s.ctx.mode == "user" else "privileged",
                      "self": s.ctx is ctx})
    return ShowResult({"users": users}, render_users)


@command("exec", "clear line <0-999>$line", ["Reset functions", "End an operator's session",
                                             "Line number (show users)"])
def clear_line(ctx: Any, line: int) -> None:
    svc = getattr(ctx, "service", None)
    s = svc.sessions.get(line) if svc is not None else None
    if s is None:
        raise CliError(f"Line {line} is not in use")
    if s.ctx is ctx:
        raise CliError("Cannot clear the line you are using (use exit)")
    s.close("cleared by " + str(getattr(ctx, "user", None) or "an operator"))
    ctx.write(f"Line {line} cleared")


def render_logging(d: dict[str, Any]) -> list[str]:
    return [f"Log buffer ({d['count']} of at most {d['capacity']} lines):", *d["lines"]]


@command("*", "show logging", ["Show running system information", "The event log"])
def show_logging(ctx: Any) -> ShowResult:
    from jcli.service.logbuf import LOG_BUFFER
    lines = list(LOG_BUFFER.lines)
    return ShowResult({"count": len(lines), "capacity": LOG_BUFFER.lines.maxlen, "lines": lines},
                      render_logging)


# ------------------------------------------------------------------ written configuration
@renders("chassis", enable_secret)
def _write_enable_secret(cfg: m.RouterConfig) -> Iterator[str]:
    if cfg.operators.enable_secret is not None:
        yield f"enable secret 5 {cfg.operators.enable_secret}"


@renders("chassis", username)
def _write_usernames(cfg: m.RouterConfig) -> Iterator[str]:
    for u in cfg.operators.users.values():
        priv = f" privilege {u.privilege}" if u.privilege != 1 else ""
        yield f"username {u.name}{priv} secret 5 {u.secret}"


@renders("chassis", aaa_login)
def _write_login_methods(cfg: m.RouterConfig) -> Iterator[str]:
    if cfg.operators.login_methods != ("local",):
        yield "aaa authentication login default " + " ".join(cfg.operators.login_methods)
