"""Configurations of the independent peers the interop tests run against, and their rendering.

Every file here is a template: ``@NAME@`` placeholders are filled in by :func:`render`, so each
test runs its own FreeRADIUS, xl2tpd or l2tpns in its own directory and on its own ports.

* ``freeradius/radiusd.conf``, ``freeradius/users``: FreeRADIUS 3 on loopback, secret
  ``testing123`` (:func:`freeradius_files`).
* ``xl2tpd.conf``: xl2tpd 1.3 on loopback (:func:`xl2tpd_conf`).
* ``l2tpns-startup-config``: l2tpns 2.4 inside a test's network namespace.
* ``validate_pcap.py``: the wire validator (tshark), also usable from the command line.
"""
from __future__ import annotations

import re
from pathlib import Path

DIR = Path(__file__).resolve().parent
FREERADIUS_DIR = DIR / "freeradius"
VALIDATE_PCAP = DIR / "validate_pcap.py"
RADIUS_SECRET = "testing123"

_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def render(name: str, **values: object) -> str:
    """The template ``name`` (relative to this directory) with every ``@KEY@`` replaced by
    ``values[key.lower()]``; a placeholder left without a value is an error."""
    text = (DIR / name).read_text()
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)
                      if m.group(1).lower() not in values})
    if missing:
        raise KeyError(f"{name}: no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1).lower()]), text)


def freeradius_files(directory: Path, *, auth_port: int, acct_port: int, extra_users: str = "",
                     threads: int | None = None, max_requests: int = 16384,
                     cleanup_delay: int = 5) -> Path:
    """Write ``radiusd.conf`` and ``users`` (``extra_users`` first) into ``directory``, with
    logs and run files there too; returns ``directory`` (the ``-d`` argument of freeradius).
    ``threads`` fixes the thread pool (default: 2 started, up to 4)."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = render("freeradius/radiusd.conf", raddb_dir=directory, log_dir=directory,
                  run_dir=directory, auth_port=auth_port, acct_port=acct_port,
                  threads=threads or 2, max_threads=threads or 4,
                  max_requests=max_requests, cleanup_delay=cleanup_delay)
    (directory / "radiusd.conf").write_text(conf)
    (directory / "users").write_text(extra_users + render("freeradius/users"))
    return directory


def xl2tpd_conf(directory: Path, *, port: int, lac_target: tuple[str, int]) -> str:
    return render("xl2tpd.conf", dir=directory, port=port,
                  lac_target=f"{lac_target[0]}:{lac_target[1]}")


def l2tpns_startup_config(directory: Path) -> str:
    return render("l2tpns-startup-config", dir=directory)
