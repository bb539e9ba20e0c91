"""Network-namespace helpers: enter a namespace in a helper thread, TUN devices, lab namespaces.

Entering a namespace: ``setns(2)`` with ``CLONE_NEWNET`` changes only the calling thread, so
``run_in_netns`` starts a short-lived thread, enters the namespace there, runs the function and
lets the thread end.  File descriptors created in that thread (sockets, ``/dev/net/tun``) stay
bound to that namespace and are used from any thread afterwards.  The main thread never changes
namespace.

Namespaces are named files under ``/run/netns`` created and deleted with ``ip netns`` (so they
are visible to ``ip -n NAME ...``).

Lab peers: ``make_lab_namespace(name, (router_if, lab_if), lns_addr, lab_addr, router_ns)``
creates namespace ``name`` joined to the existing namespace ``router_ns`` by a veth pair;
``router_if`` (in ``router_ns``) gets ``lns_addr``, ``lab_if`` (in ``name``) gets ``lab_addr``,
both up, ``lo`` up in ``name``.  ``delete_namespace(name)`` removes it (the veth pair goes with
it).  ``lab_namespace(...)`` is the same as a context manager.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import ipaddress
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def netns_path(name: str) -> str:
    return os.path.join(NETNS_RUN_DIR, name)


def list_namespaces() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def create_namespace(name: str) -> None:
    """Create a named network namespace (``ip netns add``) and bring its ``lo`` up."""
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")


def delete_namespace(name: str) -> None:
    """Delete a named namespace; no error when it does not exist."""
    if os.path.exists(netns_path(name)):
        # veth pairs are deleted first so that their peer ends in other namespaces are gone
        # when this returns (the kernel dismantles a namespace asynchronously)
        links = _ip("-n", name, "-o", "link", "show", "type", "veth", check=False).stdout
        for line in links.splitlines():
            ifname = line.split(":")[1].strip().split("@")[0]
            _ip("-n", name, "link", "del", ifname, check=False)
        _ip("netns", "del", name, check=False)
        if os.path.exists(netns_path(name)):  # stale mount point of a crashed run
            with contextlib.suppress(OSError):
                _libc.umount2(netns_path(name).encode(), 2)  # MNT_DETACH
                os.unlink(netns_path(name))


def run_in_netns(name: str, fn: Callable[..., T], *args) -> T:
    """Run ``fn(*args)`` in a helper thread that has entered namespace ``name``."""
    result: list = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(netns_path(name), os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            result.append(fn(*args))
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def socket_in_netns(name: str, family: int = socket.AF_INET, type: int = socket.SOCK_DGRAM,
                    proto: int = 0) -> socket.socket:
    """A socket created inside namespace ``name`` (close-on-exec)."""
    return run_in_netns(name, socket.socket, family, type | socket.SOCK_CLOEXEC, proto)


def _open_tun(ifname: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", ifname.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


def open_tun_in_netns(name: str, ifname: str) -> int:
    """Create TUN device ``ifname`` (IFF_TUN|IFF_NO_PI) in namespace ``name``; returns its
    non-blocking fd.  The device disappears when the fd is closed."""
    return run_in_netns(name, _open_tun, ifname)


def _write_sysctls(values: dict[str, str]) -> None:
    for key, value in values.items():
        path = "/proc/sys/" + key.replace(".", "/")
        with contextlib.suppress(FileNotFoundError), open(path, "w") as f:
            f.write(value)


def set_sysctls(name: str, values: dict[str, str]) -> None:
    """Write ``net.*`` sysctls as seen from inside namespace ``name``."""
    run_in_netns(name, _write_sysctls, values)


def make_lab_namespace(name: str, veth_pair_names: tuple[str, str],
                       lns_addr: ipaddress.IPv4Interface | str,
                       lab_addr: ipaddress.IPv4Interface | str, router_vr_ns: str) -> None:
    """Create lab namespace ``name`` joined to ``router_vr_ns`` by a veth pair (see module doc)."""
    router_if, lab_if = veth_pair_names
    create_namespace(name)
    try:
        _ip("link", "add", router_if, "netns", router_vr_ns, "type", "veth",
            "peer", "name", lab_if, "netns", name)
        _ip("-n", router_vr_ns, "addr", "add", str(lns_addr), "dev", router_if)
        _ip("-n", name, "addr", "add", str(lab_addr), "dev", lab_if)
        _ip("-n", router_vr_ns, "link", "set", router_if, "up")
        _ip("-n", name, "link", "set", lab_if, "up")
    except BaseException:
        delete_namespace(name)
        raise


@contextlib.contextmanager
def lab_namespace(name: str, veth_pair_names: tuple[str, str],
                  lns_addr: ipaddress.IPv4Interface | str,
                  lab_addr: ipaddress.IPv4Interface | str, router_vr_ns: str) -> Iterator[str]:
    make_lab_namespace(name, veth_pair_names, lns_addr, lab_addr, router_vr_ns)
    try:
        yield name
    finally:
        delete_namespace(name)
