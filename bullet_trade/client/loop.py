"""An asyncio event loop running in a daemon thread, for the synchronous facades.

The sync classes (``RemoteQmtBroker``, ``RemoteQmtProvider``) own one :class:`LoopThread` and
forward every call to an ``async`` method through :meth:`LoopThread.run`. User callbacks (tick
handlers) are run on a separate single worker thread (:meth:`LoopThread.offload`) so a slow
callback never delays the I/O loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bullet_trade.errors import RequestTimeout

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    """Own an event loop in a daemon thread.

    Args:
        name: thread name (shows up in debuggers and thread dumps).

    The thread starts in the constructor and stops in :meth:`close`, which also cancels any
    task still running on the loop and joins the thread.
    """

    def __init__(self, name: str = "bullet-trade-client") -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._closed = False
        self._callbacks = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"{name}-callbacks"
        )
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and block until it finishes.

        Args:
            coro: the coroutine to run.
            timeout: seconds to wait; ``None`` waits for the coroutine's own timeouts.

        Raises:
            RequestTimeout: ``timeout`` elapsed (the coroutine is cancelled).
            RuntimeError: called from the loop thread itself, or after :meth:`close`.
            Whatever the coroutine raises.
        """
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("LoopThread.run() called from its own loop thread (deadlock)")
        if self._closed:
            coro.close()
            raise RuntimeError("the client loop thread is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RequestTimeout(f"operation did not finish within {timeout}s") from None

    def offload(self, callback: Callable[..., Any]) -> Callable[..., None]:
        """Wrap ``callback`` so calls run on the callback worker thread, in order.

        Exceptions raised by the callback are logged with the traceback.
        """

        def submit(*args: Any) -> None:
            if not self._closed:
                self._callbacks.submit(_logged, callback, *args)

        return submit

    def close(self, timeout: float = 5.0) -> None:
        """Cancel remaining tasks, stop the loop and join the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("client loop thread did not stop within %.1fs", timeout)
        self._callbacks.shutdown(wait=True, cancel_futures=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(self._ready.set)
        try:
            self._loop.run_forever()
        finally:
            self._finish()

    def _finish(self) -> None:
        pending = [t for t in asyncio.all_tasks(self._loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()


def _logged(callback: Callable[..., Any], *args: Any) -> None:
    try:
        callback(*args)
    except Exception:
        log.exception("client callback %r failed", callback)
