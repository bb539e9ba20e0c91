"""Saving the startup configuration atomically (temp file in the same directory, fsync, rename)."""
from __future__ import annotations

import os
import stat
import tempfile


def atomic_write(path: str, text: str) -> None:
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


SCRIPT_MAX_BYTES = 16 << 20          # a configuration script larger than this is refused
TEMP_PREFIX, TEMP_SUFFIX = ".jcli-", ".tmp"


class ScriptError(OSError):
    """A script file that cannot be used; str() is one line naming the file."""


def read_script(path: str, *, limit: int = SCRIPT_MAX_BYTES) -> list[str]:
    """The lines of a configuration script. Only regular files up to `limit` bytes, strict
    UTF-8; a FIFO or device is never read (opened non-blocking, checked before reading)."""
    if "\x00" in path:
        raise ScriptError(f"Cannot read {path!r}: file name contains a NUL character")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        if os.path.islink(path) and not os.path.exists(path):
            raise ScriptError(f"Cannot read {path}: dangling symbolic link") from None
        raise ScriptError(f"Cannot read {path}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file")
            raise ScriptError(f"Cannot read {path}: {kind}")
        if st.st_size > limit:
            raise ScriptError(f"Cannot read {path}: larger than {limit} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                b = os.read(fd, 1 << 16)
            except OSError as e:
                raise ScriptError(f"Cannot read {path}: {e.strerror or e}") from None
            if not b:
                break
            total += len(b)
            if total > limit:
                raise ScriptError(f"Cannot read {path}: larger than {limit} bytes")
            chunks.append(b)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ScriptError(f"Cannot read {path}: line {line}: not valid UTF-8 "
                          f"(byte 0x{data[e.start]:02x})") from None
    return text.splitlines()


def clean_temp_files(path: str) -> list[str]:
    """Remove the temporary files an interrupted save left next to `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    removed: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            full = os.path.join(directory, name)
            try:
                if stat.S_ISREG(os.lstat(full).st_mode):
                    os.unlink(full)
                    removed.append(full)
            except OSError:
                pass
    return removed
