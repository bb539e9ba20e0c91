"""Physical ports and source addresses: ``interface gigabitEthernet 1/0`` (address, shutdown,
description), ``radius update-source-addr``, ``l2tp source-address``, ``show ip interface
brief`` and ``show interfaces``.

Ports are Linux interfaces named at start (``--port gigabitEthernet1/0=veth-a``); configuring
one in a virtual router moves it into that router (see engine.dataplane.ports)."""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from jcli.config import model as m
from jcli.registry import REGISTRY, CliError, command, renders
from jcli.views import ShowResult, table

G = "config"
KINDS = "{gigabitEthernet|fastEthernet|tenGigabitEthernet}$kind"
KIND_HELP = ["Gigabit Ethernet port", "Fast Ethernet port", "10 Gigabit Ethernet port"]
_PORT_NUMBER = re.compile(r"[0-9]{1,2}/[0-9]{1,2}(/[0-9]{1,2})?")
_PORT_NAME = re.compile(r"(gigabitEthernet|fastEthernet|tenGigabitEthernet)"
                        r"([0-9]{1,2}/[0-9]{1,2}(/[0-9]{1,2})?)", re.IGNORECASE)
_CANONICAL = {k.lower(): k for k in ("gigabitEthernet", "fastEthernet", "tenGigabitEthernet")}


def port_words(name: str) -> str:
    """``gigabitEthernet1/0`` -> ``gigabitEthernet 1/0`` (the configuration's spelling)."""
    i = next((n for n, c in enumerate(name) if c.isdigit()), len(name))
    return f"{name[:i]} {name[i:]}"


def port_sort_key(name: str) -> tuple[str, tuple[int, ...]]:
    kind, _sp, num = port_words(name).partition(" ")
    return kind, tuple(int(x) for x in num.split("/") if x.isdigit())


def canonical_port(text: str) -> str | None:
    """``GigabitEthernet1/0`` or ``gigabitethernet1/0`` -> ``gigabitEthernet1/0``; None when
    it is not a port name."""
    mt = _PORT_NAME.fullmatch(text.replace(" ", ""))
    if mt is None:
        return None
    return _CANONICAL[mt.group(1).lower()] + mt.group(2)


def _port_name(kind: str, port: str) -> str:
    if not _PORT_NUMBER.fullmatch(port):
        raise CliError(f"Invalid interface {kind} {port} (slot/port)")
    name = canonical_port(kind + port)
    assert name is not None
    return name


def _known_ports(ctx: Any) -> dict[str, str]:
    return dict(getattr(ctx.options, "ports", None) or {})


def _owner(ctx: Any, name: str) -> str | None:
    for vr in ctx.config.virtual_routers.values():
        if name in vr.ports:
            return str(vr.name)
    return None


@command(G, f"interface {KINDS} WORD$port",
         ["Select an interface to configure", *KIND_HELP, "Slot/port"])
def interface_port(ctx: Any, kind: str, port: str) -> None:
    name = _port_name(kind, port)
    if name not in _known_ports(ctx):
        raise CliError(f"Interface {port_words(name)} does not exist (ports are named at start "
                       "with --port)")
    owner = _owner(ctx, name)
    if owner is not None and owner != ctx.vr:
        raise CliError(f"Interface {port_words(name)} is in virtual-router {owner}")
    p = ctx.vr_config.ports.get(name)
    if p is None:
        p = ctx.vr_config.ports[name] = m.Port(name)
    ctx.enter("config-if", p)


@command(G, f"no interface {KINDS} WORD$port",
         ["Negate a command or set its defaults", "Delete an interface", *KIND_HELP, "Slot/port"])
def no_interface_port(ctx: Any, kind: str, port: str) -> None:
    name = _port_name(kind, port)
    if ctx.vr_config.ports.pop(name, None) is None:
        raise CliError(f"Interface {port_words(name)} is not configured in this virtual router")


def _port_node(ctx: Any, what: str) -> m.Port:
    if not isinstance(ctx.node, m.Port):
        raise CliError(f"{what} is not supported on loopback interfaces")
    return ctx.node


@command("config-if", "shutdown", ["Disable the interface"])
def shutdown(ctx: Any) -> None:
    _port_node(ctx, "shutdown").shutdown = True


@command("config-if", "no shutdown", ["Negate a command or set its defaults",
                                      "Enable the interface"])
def no_shutdown(ctx: Any) -> None:
    _port_node(ctx, "shutdown").shutdown = False


@command("config-if", "description LINE$text", ["Describe the interface", "Description text"])
def description(ctx: Any, text: str) -> None:
    text = text.strip()
    if not text or len(text) > 80 or not text.isprintable():
        raise CliError("Description must be 1-80 printable characters")
    _port_node(ctx, "description").description = text


@command("config-if", "no description", ["Negate a command or set its defaults",
                                         "Describe the interface"])
def no_description(ctx: Any) -> None:
    _port_node(ctx, "description").description = None


# ------------------------------------------------------------------ source addresses
@command(G, "radius update-source-addr A.B.C.D$address",
         ["RADIUS", "NAS-IP-Address of this virtual router's requests", "IP address"])
def radius_update_source(ctx: Any, address: str) -> None:
    ctx.vr_config.radius_update_source = address


@command(G, "no radius update-source-addr [A.B.C.D$address]",
         ["Negate a command or set its defaults", "RADIUS",
          "NAS-IP-Address of this virtual router's requests", "IP address"])
def no_radius_update_source(ctx: Any, address: str | None) -> None:
    ctx.vr_config.radius_update_source = None


@command(G, "l2tp source-address A.B.C.D$address",
         ["Layer 2 Tunneling Protocol", "Local address of this virtual router's tunnels",
          "IP address"])
def l2tp_source(ctx: Any, address: str) -> None:
    ctx.vr_config.l2tp_source = address


@command(G, "no l2tp source-address [A.B.C.D$address]",
         ["Negate a command or set its defaults", "Layer 2 Tunneling Protocol",
          "Local address of this virtual router's tunnels", "IP address"])
def no_l2tp_source(ctx: Any, address: str | None) -> None:
    ctx.vr_config.l2tp_source = None


# ------------------------------------------------------------------ show
def _status(ctx: Any) -> dict[str, dict[str, Any]]:
    engine = getattr(ctx, "engine", None)
    glue = getattr(engine, "dataplane", None) if engine is not None else None
    if glue is None or not hasattr(glue, "port_status"):
        return {}
    return {row["name"]: row for row in glue.port_status(ctx.vr)}


def _brief_rows(ctx: Any) -> list[dict[str, Any]]:
    vr = ctx.vr_config
    status = _status(ctx)
    rows = []
    for port in sorted(vr.ports.values(), key=lambda p: port_sort_key(p.name)):
        st = status.get(port.name, {})
        admin = not port.shutdown and bool(st)
        rows.append({"interface": port.name, "address": port.address or "unassigned",
                     "status": "up" if admin else ("administratively down"
                                                   if port.shutdown else "down"),
                     "protocol": "up" if admin and st.get("oper_up") else "down"})
    for lo in sorted(vr.loopbacks.values(), key=lambda x: x.number):
        rows.append({"interface": f"loopback{lo.number}", "address": lo.address or "unassigned",
                     "status": "up", "protocol": "up"})
    return rows


def _render_brief(rows: list[dict[str, Any]]) -> list[str]:
    return table(["Interface", "IP-Address", "Status", "Protocol"],
                 [[r["interface"], r["address"], r["status"], r["protocol"]] for r in rows])


@command("*", "show ip interface brief",
         ["Show running system information", "Internet Protocol", "Interface status",
          "One line per interface"])
def show_ip_interface_brief(ctx: Any) -> ShowResult:
    return ShowResult(_brief_rows(ctx), _render_brief)


def _render_port(d: dict[str, Any]) -> list[str]:
    out = [f"{d['name']} is {d['status']}, line protocol is {'up' if d['oper_up'] else 'down'}"]
    if d.get("description"):
        out.append(f"  Description: {d['description']}")
    out.append(f"  Linux interface {d['kernel_name']}, virtual-router {d['vr']}")
    out.append(f"  Internet address is {d['address'] or 'unassigned'}")
    c = d.get("counters", {})
    out.append(f"  In:  {c.get('rx_packets', 0)} packets, {c.get('rx_bytes', 0)} bytes, "
               f"{c.get('rx_errors', 0)} errors, {c.get('rx_dropped', 0)} discards")
    out.append(f"  Out: {c.get('tx_packets', 0)} packets, {c.get('tx_bytes', 0)} bytes, "
               f"{c.get('tx_errors', 0)} errors, {c.get('tx_dropped', 0)} discards")
    return out


@command("*", f"show interfaces {KINDS} WORD$port",
         ["Show running system information", "Interface status and counters", *KIND_HELP,
          "Slot/port"])
def show_interfaces(ctx: Any, kind: str, port: str) -> ShowResult:
    name = _port_name(kind, port)
    cfg = ctx.vr_config.ports.get(name)
    if cfg is None:
        raise CliError(f"Interface {port_words(name)} is not configured in this virtual router")
    st = _status(ctx).get(name, {})
    admin = not cfg.shutdown and bool(st)
    d = {"name": name, "kernel_name": _known_ports(ctx).get(name, "?"), "vr": ctx.vr,
         "description": cfg.description,
         "address": (str(ipaddress.IPv4Interface(f"{cfg.address}/{cfg.mask}"))
                     if cfg.address and cfg.mask else None),
         "status": "up" if admin else ("administratively down" if cfg.shutdown else "down"),
         "oper_up": bool(admin and st.get("oper_up")), "counters": st.get("counters", {})}
    return ShowResult(d, _render_port)


# ------------------------------------------------------------------ written configuration
@renders("config-if", interface_port)
def _write_port_enter(p: m.Loopback | m.Port) -> Iterator[str]:
    if isinstance(p, m.Port):
        yield f"interface {port_words(p.name)}"


@renders("config-if", shutdown)
def _write_shutdown(p: m.Loopback | m.Port) -> Iterator[str]:
    if isinstance(p, m.Port) and p.shutdown:
        yield "shutdown"


@renders("config-if", description)
def _write_description(p: m.Loopback | m.Port) -> Iterator[str]:
    if isinstance(p, m.Port) and p.description is not None:
        yield f"description {p.description}"


@renders("virtual-router", interface_port)
def _write_ports(vr: m.VirtualRouter) -> Iterator[str]:
    for p in sorted(vr.ports.values(), key=lambda x: port_sort_key(x.name)):
        yield from REGISTRY.write("config-if", p)


@renders("virtual-router", radius_update_source)
def _write_radius_update_source(vr: m.VirtualRouter) -> Iterator[str]:
    if vr.radius_update_source is not None:
        yield f"radius update-source-addr {vr.radius_update_source}"


@renders("virtual-router", l2tp_source)
def _write_l2tp_source(vr: m.VirtualRouter) -> Iterator[str]:
    if vr.l2tp_source is not None:
        yield f"l2tp source-address {vr.l2tp_source}"
