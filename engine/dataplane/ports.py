"""Physical ports of the Linux dataplane: Linux interfaces named to the router at start.

Theory of operation
-------------------
A port (``gigabitEthernet1/0``) is a Linux interface (``veth-a``, ``eth2``) of the namespace the
router was started in.  It stays there, untouched, until an ``interface`` of a virtual router
configures it; then ``attach`` moves it into that VR's namespace (``ip link set ... netns``),
sets its address and its administrative state.  ``release`` (interface removed, VR removed,
router exit) moves it back to the namespace it came from and restores the addresses and the
up/down state it had there (moving an interface between namespaces flushes its addresses).

Crash safety: before an interface is moved, its record (kernel name, VR namespace, the
addresses and state to restore) is written to ``/run/jcli/<prefix>ports.json``; the record goes
when the interface is back.  ``reconcile`` (called by ``LinuxDataplane.reconcile_stale`` before
stale namespaces are deleted — deleting a namespace would destroy a veth end in it) gives back
every recorded interface still in a namespace.  A router gives ports back to the namespace it
runs in, which is the one it took them from when it was started in the same place.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from . import netns_helpers as nsh
from .base import DataplaneConfigError, DataplaneError
from .linux_support import LOCK_DIR

logger = logging.getLogger(__name__)

_KNAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@:-]{0,14}")
COUNTERS = ("rx_packets", "rx_bytes", "rx_errors", "rx_dropped", "tx_packets", "tx_bytes",
            "tx_errors", "tx_dropped")


def records_path(prefix: str) -> str:
    return os.path.join(LOCK_DIR, prefix + "ports.json")


def _ip(args: list[str], ns: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", *(["-n", ns] if ns else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def _ip_json(args: list[str], ns: str | None = None) -> list[dict[str, Any]]:
    proc = _ip(["-j", *args], ns)
    if proc.returncode != 0:
        return []
    try:
        data = json.loads(proc.stdout or "[]")
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def link_info(kname: str, ns: str | None = None) -> dict[str, Any] | None:
    """``ip -s -j link show`` of ``kname`` in ``ns`` (None: the router's namespace)."""
    data = _ip_json(["-s", "link", "show", "dev", kname], ns)
    return data[0] if data and isinstance(data[0], dict) else None


def ipv4_addresses(kname: str, ns: str | None = None) -> list[str]:
    out = []
    for entry in _ip_json(["-4", "addr", "show", "dev", kname], ns):
        for a in entry.get("addr_info", []) if isinstance(entry, dict) else []:
            if isinstance(a, dict) and a.get("family") == "inet":
                out.append(f"{a.get('local')}/{a.get('prefixlen')}")
    return out


@dataclass(slots=True)
class PortState:
    """One port as the dataplane holds it."""
    name: str                                   # gigabitEthernet1/0
    kname: str                                  # the Linux interface
    vr: str | None = None                       # the VR it is in, None: at home
    address: ipaddress.IPv4Interface | None = None
    up: bool = False                            # administrative state asked for
    counters: dict[str, int] = field(default_factory=dict)

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "kernel_name": self.kname, "vr": self.vr,
                "address": str(self.address) if self.address else None,
                "admin_up": self.up}


class LinuxPorts:
    """Moves port interfaces between the router's namespace and the VR namespaces."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.path = records_path(prefix)
        self.ports: dict[str, PortState] = {}

    # -- records ------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        if not data:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            return
        os.makedirs(LOCK_DIR, exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, self.path)

    # -- moves --------------------------------------------------------------------------
    def attach(self, vr: str, ns: str, name: str, kname: str,
               address: ipaddress.IPv4Interface | None, up: bool) -> None:
        """Port ``name`` (Linux ``kname``) into ``vr`` (namespace ``ns``) with ``address``
        and the administrative state ``up``; moved first when it is elsewhere."""
        if not _KNAME.fullmatch(kname):
            raise DataplaneConfigError(vr, name, f"bad Linux interface name {kname!r}")
        st = self.ports.get(name)
        if st is not None and st.vr is not None and st.vr != vr:
            self.release(name)
            st = None
        if st is None or st.vr is None:
            if link_info(kname) is None:
                raise DataplaneConfigError(vr, name, f"Linux interface {kname} not found in "
                                           "the router's namespace")
            info = link_info(kname) or {}
            record = {"kname": kname, "ns": ns, "up": "UP" in info.get("flags", []),
                      "addresses": ipv4_addresses(kname), "mtu": info.get("mtu")}
            data = self._load()
            data[name] = record
            self._save(data)
            proc = _ip(["link", "set", "dev", kname, "netns", ns])
            if proc.returncode != 0:
                data.pop(name, None)
                self._save(data)
                raise DataplaneError(vr, name, f"cannot move {kname}: {proc.stderr.strip()}")
            st = self.ports[name] = PortState(name, kname, vr)
        self._configure(st, ns, address, up)

    def _configure(self, st: PortState, ns: str, address: ipaddress.IPv4Interface | None,
                   up: bool) -> None:
        assert st.vr is not None
        if st.address != address:
            if st.address is not None:
                _ip(["addr", "del", str(st.address), "dev", st.kname], ns)
                st.address = None
            if address is not None:
                proc = _ip(["addr", "replace", str(address), "dev", st.kname], ns)
                if proc.returncode != 0:
                    raise DataplaneError(st.vr, st.name, f"address {address}: "
                                         f"{proc.stderr.strip()}")
                st.address = address
        proc = _ip(["link", "set", "dev", st.kname, "up" if up else "down"], ns)
        if proc.returncode != 0:
            raise DataplaneError(st.vr, st.name, proc.stderr.strip())
        st.up = up

    def release(self, name: str) -> None:
        """Give port ``name`` back to the router's namespace, as it was found."""
        st = self.ports.pop(name, None)
        data = self._load()
        record = data.get(name)
        if record is None:
            return
        self._give_back(name, record)
        data.pop(name, None)
        self._save(data)
        if st is not None:
            st.vr = None

    def release_vr(self, vr: str) -> list[str]:
        names = [n for n, st in self.ports.items() if st.vr == vr]
        for n in names:
            self.release(n)
        return names

    def close(self) -> None:
        for n in list(self.ports):
            self.release(n)

    def reconcile(self) -> list[str]:
        """Give back the ports a crashed run left in its namespaces; returns their names."""
        data = self._load()
        done = []
        for name, record in list(data.items()):
            if name not in self.ports:
                self._give_back(name, record)
                data.pop(name)
                done.append(name)
        self._save(data)
        return done

    @staticmethod
    def _give_back(name: str, record: dict[str, Any]) -> None:
        kname, ns = str(record.get("kname", "")), str(record.get("ns", ""))
        if not _KNAME.fullmatch(kname) or not ns or ns not in nsh.list_namespaces():
            return
        if link_info(kname, ns) is None:
            logger.warning("port %s: %s is no longer in %s", name, kname, ns)
            return
        _ip(["addr", "flush", "dev", kname], ns)
        proc = _ip(["link", "set", "dev", kname, "netns", str(os.getpid())], ns)
        if proc.returncode != 0:
            logger.warning("port %s: cannot give %s back: %s", name, kname, proc.stderr.strip())
            return
        for addr in record.get("addresses", []):
            _ip(["addr", "add", str(addr), "dev", kname])
        mtu = record.get("mtu")
        if isinstance(mtu, int):
            _ip(["link", "set", "dev", kname, "mtu", str(mtu)])
        _ip(["link", "set", "dev", kname, "up" if record.get("up") else "down"])

    # -- status -------------------------------------------------------------------------
    def oper_up(self, name: str, ns: str) -> bool:
        st = self.ports.get(name)
        if st is None:
            return False
        info = link_info(st.kname, ns) or {}
        return bool(st.up and info.get("operstate") in ("UP", "UNKNOWN")
                    and "LOWER_UP" in info.get("flags", []))

    def counters(self, name: str, ns: str) -> dict[str, int]:
        st = self.ports.get(name)
        info = link_info(st.kname, ns) if st is not None else None
        stats = (info or {}).get("stats64", {})
        out: dict[str, int] = {}
        for direction in ("rx", "tx"):
            d = stats.get(direction, {}) if isinstance(stats, dict) else {}
            for key in ("packets", "bytes", "errors", "dropped"):
                value = d.get(key, 0) if isinstance(d, dict) else 0
                out[f"{direction}_{key}"] = value if isinstance(value, int) else 0
        return out


class LinuxPortOps:
    """The port operations of ``LinuxDataplane`` (mixed into it): the port's connected
    network resolves next-hop routes while the port has an address and is up."""

    prefix: str
    ports: LinuxPorts
    _vrs: dict[str, Any]

    def _vr(self, vr: str) -> Any: ...                       # provided by LinuxDataplane
    def _kernel_routes(self, st: Any, routes: list[Any], *, add: bool) -> None: ...

    def set_port(self, vr: str, name: str, kname: str,
                 address: ipaddress.IPv4Interface | None, up: bool) -> None:
        """Configure port ``name`` (Linux ``kname``) in ``vr``: moved in, addressed, up/down."""
        st = self._vr(vr)
        old = self.ports.ports.get(name)
        if old is not None and old.vr is not None and old.vr != vr:
            self.remove_port(name)
        before = self._port_network(name)
        try:
            self.ports.attach(vr, st.ns, name, kname, address, up)
        finally:
            port = self.ports.ports.get(name)
            if port is not None:
                try:
                    st.ports[name] = st.nl.link_index(kname)
                except OSError:
                    st.ports.pop(name, None)
            self._port_connected(st, name, before, self._port_network(name))

    def remove_port(self, name: str) -> None:
        port = self.ports.ports.get(name)
        if port is None or port.vr is None:
            return
        st = self._vrs.get(port.vr)
        before = self._port_network(name)
        self.ports.release(name)
        if st is not None:
            st.ports.pop(name, None)
            self._port_connected(st, name, before, None)

    def _port_network(self, name: str) -> ipaddress.IPv4Network | None:
        port = self.ports.ports.get(name)
        if port is None or port.address is None or not port.up:
            return None
        return port.address.network

    def _port_connected(self, st: Any, name: str, before: ipaddress.IPv4Network | None,
                        after: ipaddress.IPv4Network | None) -> None:
        if before == after:
            return
        if before is not None:
            lost, moved = st.nexthops.connected_down(name, before)
            try:
                self._kernel_routes(st, lost, add=False)
            except DataplaneError as exc:       # the kernel withdrew them with the link
                logger.debug("%s", exc)
            self._kernel_routes(st, [r for r, _via in moved], add=True)
        if after is not None:
            up = st.nexthops.connected_up(name, after)
            self._kernel_routes(st, [r for r, _via in up], add=True)

    def port_status(self, vr: str) -> list[dict[str, Any]]:
        """The ports configured in ``vr``: name, Linux name, address, admin/oper state and the
        kernel's counters."""
        st = self._vr(vr)
        out = []
        for name, port in sorted(self.ports.ports.items()):
            if port.vr != vr:
                continue
            row = port.status()
            row["oper_up"] = self.ports.oper_up(name, st.ns)
            row["counters"] = self.ports.counters(name, st.ns)
            out.append(row)
        return out
