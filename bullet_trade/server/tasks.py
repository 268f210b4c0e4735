"""The one way the server starts background tasks.

Every task gets a name, a strong reference (a task nobody references can be garbage
collected mid-flight) and a done-callback that logs an unexpected failure with its traceback,
so no exception is ever lost silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger("bullet_trade.server")

T = TypeVar("T")


def spawn(
    coro: Coroutine[Any, Any, T],
    *,
    name: str,
    registry: set[asyncio.Task[Any]] | None = None,
) -> asyncio.Task[T]:
    """Start ``coro`` as a named task on the running loop.

    Args:
        coro: the coroutine to run.
        name: task name (shows up in logs and debuggers).
        registry: optional set that holds the task while it runs; it is removed when done.

    Returns:
        The task. Cancellation is not logged; any other exception is.
    """
    task = asyncio.get_running_loop().create_task(coro, name=name)
    if registry is not None:
        registry.add(task)
        task.add_done_callback(registry.discard)
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        logger.error("task %s failed", task.get_name(), exc_info=exc)


async def wait_tasks(tasks: set[asyncio.Task[Any]], timeout: float) -> set[asyncio.Task[Any]]:
    """Wait up to ``timeout`` seconds for ``tasks``; returns those still pending."""
    if not tasks:
        return set()
    _, pending = await asyncio.wait(set(tasks), timeout=timeout)
    return pending


async def cancel_tasks(tasks: set[asyncio.Task[Any]], timeout: float) -> set[asyncio.Task[Any]]:
    """Cancel ``tasks`` and wait up to ``timeout`` seconds for them to finish.

    Returns the tasks that ignored the cancellation within the timeout.
    """
    for task in tasks:
        task.cancel()
    return await wait_tasks(tasks, timeout)


def withdraw_cancel(task: asyncio.Task[Any]) -> None:
    """Withdraw one cancellation request of ``task`` that its own code has handled
    (``Task.uncancel`` on Python 3.11+, so ``cancelling()`` stays exact; no-op on 3.10)."""
    uncancel = getattr(task, "uncancel", None)
    cancelling = getattr(task, "cancelling", None)
    if uncancel is not None and cancelling is not None and cancelling() > 0:
        uncancel()


async def bounded(coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
    """Await ``coro`` for at most ``timeout`` seconds (``None``: no limit).

    Unlike ``asyncio.wait_for`` on Python 3.10/3.11, a cancellation of the caller that races
    with the completion of ``coro`` is never swallowed: the caller always sees it.

    Raises:
        asyncio.TimeoutError: ``coro`` did not finish in time (it is cancelled).
    """
    if timeout is None:
        return await coro
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except BaseException:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task})
        raise asyncio.TimeoutError
    return task.result()
