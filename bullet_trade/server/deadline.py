"""Per-request deadlines without ``asyncio.wait_for``.

``asyncio.wait_for`` (Python 3.10/3.11) wraps the awaited coroutine in a second task and
waits on it with futures and a timer. A request already runs in a task of its own, so the
server arms one timer instead (:meth:`Deadline.arm`): when it fires it cancels the request's
task and marks the deadline ``expired``; the code awaiting the handler sees the
``CancelledError``, recognises its own deadline and turns it into a timeout reply.

Contract:

* :meth:`Deadline.disarm` must be called once the awaited work is over (``finally``); it
  cancels the timer and, when the deadline had fired, withdraws the cancellation it
  requested (``Task.uncancel`` on 3.11+), so the task's ``cancelling()`` count stays exact;
* a cancellation from anywhere else (the session closing) is never mistaken for a timeout:
  ``expired`` is only set by the timer;
* when the timer fires, the task is suspended in the handler (timers run on the loop between
  task steps), so the handler always sees the cancellation at an ``await``, as with
  ``wait_for``. A handler that swallows it and returns a value gets that value sent, as with
  ``wait_for``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bullet_trade.server.tasks import withdraw_cancel


class Deadline:
    """One armed timer that cancels ``task`` after ``timeout`` seconds.

    Attributes:
        expired: the timer fired (and requested the cancellation of ``task``).
    """

    __slots__ = ("_handle", "_task", "_withdrawn", "expired")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self._handle: asyncio.TimerHandle | None = None
        self._withdrawn = False
        self.expired = False

    @classmethod
    def arm(cls, timeout: float) -> Deadline:
        """A deadline for the current task, ``timeout`` seconds from now.

        Raises:
            RuntimeError: called outside a task.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("Deadline.arm must be called from inside a task")
        deadline = cls(task)
        deadline._handle = task.get_loop().call_later(timeout, deadline._fire)
        return deadline

    def _fire(self) -> None:
        self._handle = None
        if not self._task.done():
            self.expired = True
            self._task.cancel()

    def disarm(self) -> bool:
        """Stop the timer; returns ``expired``. Idempotent."""
        handle = self._handle
        if handle is not None:
            self._handle = None
            handle.cancel()
        elif self.expired and not self._withdrawn:
            self._withdrawn = True
            withdraw_cancel(self._task)
        return self.expired
