"""Logging set-up for the command-line entry points.

The console shows what an operator reads (start-up, orders, warnings); the whole log goes to
``<log_dir>/<filename>``. The per-request access log is high volume, so it goes only to its
own file ``<log_dir>/access.log`` through :class:`AccessLogFile`: lines are written without
building a ``LogRecord`` (the server calls :meth:`AccessLogFile.write` directly), flushed at
most every :data:`FLUSH_EVERY` lines or :data:`FLUSH_SECONDS` seconds and at shutdown, and
rotated by size. Lines still logged through the ``bullet_trade.server.access`` logger land in
the same file.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
import time
from pathlib import Path
from typing import TextIO

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ACCESS_LOGGER = "bullet_trade.server.access"
FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
_MAX_BYTES = 5_000_000
_BACKUPS = 5


class AccessLogFile:
    """Append-only, size-rotated access log with batched flushes.

    Lines may be lost only if the process dies between flushes (at most ``FLUSH_EVERY``
    lines or ``FLUSH_SECONDS``); the audit log and the order journal, not this file, are the
    durable records. Thread-safe.
    """

    def __init__(self, path: Path, max_bytes: int = _MAX_BYTES, backups: int = _BACKUPS) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._lock = threading.Lock()
        self._stream: TextIO | None = self._open()
        self._size = path.stat().st_size
        self._pending = 0
        self._last_flush = time.monotonic()
        self._stamp_second = -1
        self._stamp = ""

    def _open(self) -> TextIO:
        return self._path.open("a", encoding="utf-8")

    def write(self, message: str) -> None:
        """Append one line, prefixed with the local time (second resolution + ms)."""
        now = time.time()
        line = f"{self._timestamp(now)}.{int(now * 1000) % 1000:03d} {message}\n"
        with self._lock:
            if self._stream is None:
                return
            self._stream.write(line)
            self._size += len(line)
            self._pending += 1
            if self._size >= self._max_bytes > 0:
                self._rotate()
            elif self._pending >= FLUSH_EVERY or now - self._last_flush >= FLUSH_SECONDS:
                self._flush()

    def _timestamp(self, now: float) -> str:
        second = int(now)
        if second != self._stamp_second:
            self._stamp_second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
        return self._stamp

    def _flush(self) -> None:
        assert self._stream is not None
        self._stream.flush()
        self._pending = 0
        self._last_flush = time.time()

    def _rotate(self) -> None:
        assert self._stream is not None
        self._stream.close()
        for index in range(self._backups - 1, 0, -1):
            older = self._path.with_name(f"{self._path.name}.{index}")
            if older.exists():
                older.replace(self._path.with_name(f"{self._path.name}.{index + 1}"))
        if self._backups > 0:
            self._path.replace(self._path.with_name(f"{self._path.name}.1"))
        self._stream = self._open()
        self._size = 0
        self._pending = 0

    def close(self) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.flush()
                self._stream.close()
                self._stream = None


class _AccessHandler(logging.Handler):
    """Routes records of the access logger into an :class:`AccessLogFile`."""

    def __init__(self, target: AccessLogFile) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        self.target.write(record.getMessage())

    def close(self) -> None:
        self.target.close()
        super().close()


def setup_logging(
    log_dir: Path | None, *, level: str = "INFO", filename: str = "app.log"
) -> AccessLogFile | None:
    """Console plus (when ``log_dir`` is given) a rotating file ``<log_dir>/<filename>`` and
    the access log ``<log_dir>/access.log`` (access lines are not shown on the console).

    Returns:
        The access log file (pass ``.write`` to the server as its access sink), or ``None``.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    root.addHandler(console)
    if log_dir is None:
        return None
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / filename, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(file_handler)
    return _setup_access_log(log_dir)


def _setup_access_log(log_dir: Path) -> AccessLogFile:
    access = logging.getLogger(ACCESS_LOGGER)
    for handler in list(access.handlers):
        access.removeHandler(handler)
        handler.close()
    target = AccessLogFile(log_dir / "access.log")
    access.addHandler(_AccessHandler(target))
    access.propagate = False
    return target
