"""Reading the Linux dataplane's devices: the trigger TUN, the session TUNs and the raw ICMP
socket of each VR, read with ``loop.add_reader`` up to ``MAX_BURST`` packets per wake-up and
handed to ``on_trigger``, ``on_session_packet`` and ``on_local_packet`` (see
``engine.dataplane.linux``)."""
from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from .linux_support import MAX_BURST, READ_SIZE, SessionState, VrState

logger = logging.getLogger("engine.dataplane.linux")


class LinuxReaders:
    """The device readers of ``LinuxDataplane`` (mixed into it)."""

    _loop: asyncio.AbstractEventLoop | None
    counters: Counter[str]
    on_trigger: Callable[[str, bytes], None] | None
    on_session_packet: Callable[[str, str, bytes], None] | None
    on_local_packet: Callable[[str, bytes], None] | None

    def _get_loop(self) -> asyncio.AbstractEventLoop | None:
        if self._loop is not None:
            return self._loop
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            logger.info("no asyncio loop: the Linux dataplane's TUN devices are not read")
            return None

    def _ensure_readers(self, st: VrState) -> None:
        """Start reading the VR's trigger TUN and ICMP socket once a loop is known."""
        if st.loop is not None:
            return
        st.loop = self._get_loop()
        if st.loop is not None:
            assert st.trigger_fd is not None and st.icmp is not None
            self._add_reader(st, st.trigger_fd, self._read_trigger, st)
            self._add_reader(st, st.icmp.fileno(), self._read_local, st)

    def _add_reader(self, st: VrState, fd: int, cb: Callable[..., None], *args: Any) -> None:
        assert st.loop is not None
        st.loop.add_reader(fd, cb, *args)
        st.readers.add(fd)

    def _drain(self, fd: int, handle) -> None:
        for _ in range(MAX_BURST):
            try:
                pkt = os.read(fd, READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                logger.debug("read fd %d: %s", fd, exc)
                return
            if not pkt or pkt[0] >> 4 != 4:
                self.counters["non_ipv4"] += 1
                continue
            try:
                handle(pkt)
            except Exception:
                self.counters["callback_errors"] += 1
                logger.exception("dataplane callback failed")

    def _read_trigger(self, st: VrState) -> None:
        def handle(pkt: bytes) -> None:
            self.counters["triggers"] += 1
            if self.on_trigger is not None:
                self.on_trigger(st.name, pkt)
        if st.trigger_fd is not None:
            self._drain(st.trigger_fd, handle)

    def _read_session(self, st: VrState, sess: SessionState) -> None:
        cb = self.on_session_packet
        name, ifname = st.name, sess.ifname
        if cb is None:
            self._drain(sess.fd, lambda pkt: None)
        else:
            self._drain(sess.fd, lambda pkt: cb(name, ifname, pkt))

    def _read_local(self, st: VrState) -> None:
        def handle(pkt: bytes) -> None:
            if self.on_local_packet is not None:
                self.on_local_packet(st.name, pkt)
        if st.icmp is not None:
            self._drain(st.icmp.fileno(), handle)

    def _remove_reader(self, st: VrState, fd: int) -> None:
        if fd in st.readers:
            st.readers.discard(fd)
            assert st.loop is not None
            st.loop.remove_reader(fd)

    def _close_fd(self, st: VrState, fd: int) -> None:
        self._remove_reader(st, fd)
        os.close(fd)
