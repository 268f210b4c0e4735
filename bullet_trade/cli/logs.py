"""Logging set-up for the command-line entry points.

The console shows what an operator reads (start-up, orders, warnings); the whole log goes to
``<log_dir>/<filename>``. The per-request access log (logger ``bullet_trade.server.access``)
is high volume, so it goes only to its own file ``<log_dir>/access.log`` through a cheap
handler: no ``stat`` calls per record and a flush at most every :data:`FLUSH_EVERY` records
or :data:`FLUSH_SECONDS` seconds (and at shutdown), instead of one flush per line.
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
ACCESS_LOGGER = "bullet_trade.server.access"
FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
_MAX_BYTES = 5_000_000
_BACKUPS = 5


class BatchedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Rotating file handler for high-volume logs.

    Rollover is decided from the stream position (no ``stat`` per record) and writes are
    flushed in batches. Records are lost only if the process dies between flushes (at most
    ``FLUSH_EVERY`` records or ``FLUSH_SECONDS``); the audit log and the order journal,
    not this file, are the durable records.
    """

    def __init__(self, filename: Path, max_bytes: int = _MAX_BYTES, backups: int = _BACKUPS):
        super().__init__(filename, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._pending = 0
        self._last_flush = time.monotonic()
        self._size = filename.stat().st_size if filename.exists() else 0

    def shouldRollover(self, record: logging.LogRecord) -> int:
        """Size is tracked from the messages written (``tell()`` on a text stream is slow:
        it flushes and rebuilds the decoder state); the estimate adds room for the prefix."""
        if self.maxBytes <= 0:
            return 0
        self._size += len(record.getMessage()) + 32
        return int(self._size >= self.maxBytes)

    def doRollover(self) -> None:
        super().doRollover()
        self._size = 0

    def flush(self) -> None:
        """Called by ``emit`` after every record: only really flush in batches."""
        self._pending += 1
        now = time.monotonic()
        if self._pending >= FLUSH_EVERY or now - self._last_flush >= FLUSH_SECONDS:
            self.flush_now()

    def flush_now(self) -> None:
        self._pending = 0
        self._last_flush = time.monotonic()
        super().flush()

    def close(self) -> None:
        self.flush_now()
        super().close()


def setup_logging(log_dir: Path | None, *, level: str = "INFO", filename: str = "app.log") -> None:
    """Console plus (when ``log_dir`` is given) a rotating file ``<log_dir>/<filename>`` and
    the access log in ``<log_dir>/access.log`` (access lines are not shown on the console)."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(_FORMAT, "%H:%M:%S"))
    root.addHandler(console)
    if log_dir is None:
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / filename, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(file_handler)
    _setup_access_log(log_dir)


def _setup_access_log(log_dir: Path) -> None:
    access = logging.getLogger(ACCESS_LOGGER)
    for handler in list(access.handlers):
        access.removeHandler(handler)
        handler.close()
    handler = BatchedRotatingFileHandler(log_dir / "access.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    access.addHandler(handler)
    access.propagate = False
