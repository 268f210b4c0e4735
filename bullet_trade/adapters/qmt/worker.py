"""One serialising worker thread for xtdata (which is not thread-safe), with per-call timeouts.

Every call is queued to the worker and awaited from the event loop with its own timeout, so
the loop never blocks. A call that overruns its timeout fails with ``BackendUnavailable``.
If it was still queued it is simply dropped; if it was *running* (a hung SDK call), the worker
thread is written off and a fresh one takes over the queue, so a hung call never blocks
unrelated requests. The written-off thread ends once its call returns. At most
``max_wedged`` written-off threads may be alive; beyond that calls fail fast, because the SDK is
evidently unresponsive. Trade-off: while a written-off call is still inside the SDK, the new
worker may call it concurrently; that is preferred to a server that stops answering.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from bullet_trade.errors import BackendUnavailable

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Job:
    name: str
    call: functools.partial[Any]
    future: Future[Any] = field(default_factory=Future)
    thread: threading.Thread | None = None


class XtWorker:
    """Runs blocking SDK calls one at a time on a dedicated thread.

    Args:
        name: thread name prefix (logs).
        timeout: default seconds a call may take.
        max_wedged: hung threads tolerated before calls fail fast.
    """

    def __init__(self, name: str = "xtdata", timeout: float = 10.0, max_wedged: int = 2) -> None:
        self._name = name
        self._timeout = timeout
        self._max_wedged = max_wedged
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._generation = 0
        self._wedged: list[threading.Thread] = []
        self._closed = False
        self._thread = self._spawn()

    def _spawn(self) -> threading.Thread:
        thread = threading.Thread(
            target=self._run, args=(self._generation,), name=f"{self._name}-{self._generation}",
            daemon=True,
        )
        thread.start()
        return thread

    def _run(self, generation: int) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                self._queue.put(None)  # let a sibling (if any) see the stop marker too
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            job.thread = threading.current_thread()
            try:
                job.future.set_result(job.call())
            except BaseException as exc:  # handed to the awaiting caller
                job.future.set_exception(exc)
            if generation != self._generation:
                logger.warning("xtdata call %s finally returned; retiring its thread", job.name)
                return

    async def call(self, fn: Any, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the worker; its result or exception comes back.

        Raises:
            BackendUnavailable: the worker is closed, too many calls are hung, or this call
                did not finish within ``timeout`` (default: the worker's).
        """
        name = getattr(fn, "__name__", repr(fn))
        with self._lock:
            self._wedged = [t for t in self._wedged if t.is_alive()]
            if self._closed:
                raise BackendUnavailable("the xtdata worker is stopped")
            if len(self._wedged) >= self._max_wedged:
                raise BackendUnavailable(
                    f"xtdata is not responding ({len(self._wedged)} calls hung); "
                    "check that miniQMT is running"
                )
        job = _Job(name, functools.partial(fn, *args, **kwargs))
        self._queue.put(job)
        limit = self._timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job.future), limit)
        except asyncio.TimeoutError:
            self._write_off(job)
            raise BackendUnavailable(
                f"xtdata.{name} did not answer within {limit:g}s", details={"call": name}
            ) from None

    def _write_off(self, job: _Job) -> None:
        """After a timeout: replace the worker thread if this job is the one stuck on it."""
        with self._lock:
            if job.thread is None or job.thread is not self._thread or job.future.done():
                return
            logger.error("xtdata.%s hung; starting a fresh worker thread", job.name)
            self._wedged.append(self._thread)
            self._generation += 1
            self._thread = self._spawn()

    @property
    def wedged(self) -> int:
        """Worker threads written off because a call hung in them."""
        return len(self._wedged)

    @property
    def usable(self) -> bool:
        """False once too many threads hung (calls then fail fast) or after close()."""
        return not self._closed and len(self._wedged) < self._max_wedged

    def close(self) -> None:
        """Stop accepting calls; the threads end after their current call (not joined if
        hung, they are daemons)."""
        with self._lock:
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=2)
