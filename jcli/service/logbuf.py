"""The event log: one line per event (time, level, facility, text) to a stream or file, and the
last lines kept for `show logging`. SIGHUP reopens the file (log rotation)."""
from __future__ import annotations

import collections
import logging
import sys
import time
from typing import IO

LOG_LINES = 1000


def facility(name: str) -> str:
    """`engine.aio.engine` -> `engine`, `jcli.service.server` -> `service`."""
    parts = name.split(".")
    return parts[-2] if len(parts) > 2 else parts[-1]


class LogBuffer(logging.Handler):
    def __init__(self, capacity: int = LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(format_record(record))
        except Exception:                 # pragma: no cover - never let logging raise
            self.handleError(record)


def one_line(text: str) -> str:
    return " ".join(text.split())[:1000]


def format_record(record: logging.LogRecord) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record.created))
    text = one_line(record.getMessage())
    if record.exc_info and record.exc_info[1] is not None:
        e = record.exc_info[1]
        text += f" ({type(e).__name__}: {one_line(str(e))})"
    return f"{stamp} {record.levelname} {facility(record.name)}: {text}"


class LineHandler(logging.Handler):
    """One line per record to stderr or to a file that SIGHUP reopens."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__(logging.INFO)
        self.path = path
        self.stream: IO[str] = sys.stderr
        if path:
            self.stream = open(path, "a", encoding="utf-8", errors="replace")

    def reopen(self) -> None:
        if not self.path:
            return
        try:
            new = open(self.path, "a", encoding="utf-8", errors="replace")
        except OSError as e:
            logging.getLogger("jcli.service.log").error("cannot reopen %s: %s", self.path, e)
            return
        old, self.stream = self.stream, new
        old.close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(format_record(record) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


LOG_BUFFER = LogBuffer()
