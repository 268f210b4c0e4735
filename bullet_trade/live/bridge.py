"""The strategy thread and the bridge from it to the event loop.

Strategy callbacks are plain functions that may block (``order`` waits for the broker). They
run one at a time on a single dedicated worker thread, with a copy of the caller's
``contextvars`` context (so the JoinQuant API finds its session), while the event loop stays
free to serve broker events and I/O. Synchronous API calls made from that thread submit a
coroutine to the loop and wait for its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bullet_trade.errors import RequestTimeout

T = TypeVar("T")


class StrategyThread:
    """Runs callbacks sequentially on one worker thread; bridges calls back to ``loop``.

    Must be created on the event loop thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, call_timeout: float) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._timeout = call_timeout
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="bt-strategy"
        )
        self._lock = asyncio.Lock()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the strategy thread in a copy of the current context.

        Calls are serialised: a second ``run`` waits for the first to finish.
        """
        ctx = contextvars.copy_context()
        async with self._lock:
            return await self._loop.run_in_executor(
                self._executor, functools.partial(ctx.run, func, *args)
            )

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the event loop from the strategy thread and return its result.

        Raises:
            RuntimeError: called on the event loop thread itself (it would deadlock).
            RequestTimeout: no result within ``call_timeout`` seconds (the coroutine is
                cancelled).
            Exception: whatever the coroutine raised.
        """
        if threading.get_ident() == self._loop_thread:
            coro.close()
            raise RuntimeError("synchronous strategy API called on the event loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine itself raised a TimeoutError
                raise
            future.cancel()
            raise RequestTimeout(
                f"strategy call did not complete within {self._timeout:g}s"
            ) from None

    def close(self) -> None:
        """Stop accepting callbacks. A callback still running finishes on its own; waiting for
        it here could deadlock, since it may be waiting for this very event loop."""
        self._executor.shutdown(wait=False, cancel_futures=True)
