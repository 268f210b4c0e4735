"""Idle detection for a session's read loop: one timer per session, not one per read.

The read loop calls :meth:`IdleWatchdog.touch` after every read (a float store). A single
timer checks, when it is due, whether ``idle`` seconds passed since the last read:

* not yet: it re-arms itself for the remaining time;
* yes, but ``busy()`` says the client is waiting for a reply the server is still computing
  (and the output is not backed up): the client is not idle, the window starts again;
* yes: it marks itself :attr:`~IdleWatchdog.fired` and cancels the watched task; the read
  loop catches that ``CancelledError``, calls :meth:`IdleWatchdog.absorb` (which withdraws
  the cancellation) and closes the session as idle.

A cancellation from elsewhere (server shutdown) is never taken for idleness: ``absorb``
returns False unless the watchdog fired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bullet_trade.server.tasks import withdraw_cancel


def idle_timeout(configured: float | None, keepalive: int) -> float | None:
    """``None`` in the config means 3 × keepalive; 0 disables (returns ``None``)."""
    value = 3.0 * keepalive if configured is None else configured
    return value if value > 0 else None


class IdleWatchdog:
    """Cancels the task that called :meth:`start` after ``idle`` silent seconds.

    Args:
        idle: seconds without a read (``None``: never fires).
        busy: True while a silent client is legitimately waiting for replies.
    """

    __slots__ = ("_busy", "_handle", "_idle", "_last", "_loop", "_task", "fired")

    def __init__(self, idle: float | None, busy: Callable[[], bool]) -> None:
        self._idle = idle
        self._busy = busy
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._last = self._loop.time()
        self.fired = False

    def start(self) -> None:
        """Watch the current task from now on."""
        self._task = asyncio.current_task()
        self._last = self._loop.time()
        if self._idle is not None and self._task is not None:
            self._handle = self._loop.call_at(self._last + self._idle, self._check)

    def touch(self) -> None:
        """The peer sent something: the idle window restarts."""
        self._last = self._loop.time()

    def stop(self) -> None:
        """Disarm (idempotent)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def absorb(self) -> bool:
        """After a ``CancelledError``: True (and the cancellation withdrawn) when it was the
        watchdog's own; False when the caller must re-raise it."""
        if not self.fired or self._task is None:
            return False
        withdraw_cancel(self._task)
        return True

    def _check(self) -> None:
        self._handle = None
        task, idle = self._task, self._idle
        if task is None or idle is None or task.done():
            return
        now = self._loop.time()
        due = self._last + idle
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        if self._busy():
            self._last = now
            self._handle = self._loop.call_at(now + idle, self._check)
            return
        self.fired = True
        task.cancel()
