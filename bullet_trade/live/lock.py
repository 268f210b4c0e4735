"""Single-instance lock per runtime directory.

An OS-level, non-blocking lock on ``<runtime_dir>/.live.lock`` (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows). The operating system releases it when the process dies, so a
crash never leaves a stale lock behind. The holder writes who it is (pid, host, start time,
strategy) to ``.live.lock.json`` so a second instance can say who holds the directory.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

LOCK_NAME = ".live.lock"
INFO_NAME = ".live.lock.json"


class RuntimeDirLocked(RuntimeError):
    """Another live runner holds the runtime directory; the message names the holder."""


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[bytes]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _describe_holder(info_path: Path) -> str:
    try:
        info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "an unknown process (no holder information)"
    return (f"pid {info.get('pid')} on {info.get('host')} running {info.get('strategy')} "
            f"since {info.get('started_at')}")


class RuntimeLock:
    """Exclusive ownership of one runtime directory for the life of a live run.

    Use as a context manager, or call :meth:`acquire` / :meth:`release`.
    """

    def __init__(self, runtime_dir: Path, *, strategy: str) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.strategy = strategy
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock without waiting.

        Raises:
            RuntimeDirLocked: another process (or another runner in this process) holds it.
        """
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.runtime_dir / LOCK_NAME, "a+b")  # noqa: SIM115 - held until release
        if handle.tell() == 0:
            handle.write(b"\0")
            handle.flush()
        if not _try_lock(handle):
            handle.close()
            holder = _describe_holder(self.runtime_dir / INFO_NAME)
            raise RuntimeDirLocked(
                f"runtime directory {self.runtime_dir} is in use by {holder}; stop that "
                "instance or choose another --runtime-dir"
            )
        self._handle = handle
        info = {"pid": os.getpid(), "host": socket.gethostname(), "strategy": self.strategy,
                "started_at": datetime.now().isoformat(timespec="seconds")}
        (self.runtime_dir / INFO_NAME).write_text(json.dumps(info), encoding="utf-8")

    def release(self) -> None:
        """Give the lock up (idempotent) and remove the holder information."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        (self.runtime_dir / INFO_NAME).unlink(missing_ok=True)
        try:
            _unlock(handle)
        finally:
            handle.close()

    def __enter__(self) -> RuntimeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
