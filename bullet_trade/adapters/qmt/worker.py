"""One serialising worker thread for xtdata (which is not thread-safe), with per-call timeouts.

Every call is queued to the one worker thread and awaited from the event loop with its own
timeout, so the loop never blocks and xtdata is never entered by two threads at once. A call
that overruns its timeout fails with ``BackendUnavailable``. If it was still queued it is
dropped. If it was *running* (a call hung inside the SDK), the worker is marked **stuck**: the
calls queued behind it fail at once, and every new call fails fast with ``BackendUnavailable``
naming the hung call, until that call finally returns; then service resumes by itself.

Trade-off: we never start a second thread to call xtdata while a hung call may still be inside
it, because the client's state is not safe for concurrent use (corrupt data or a crash are
worse than a refusal). So while one call is hung, *market data* requests are refused quickly
instead of being served; everything else the server does (pings, trading through xttrader,
which has its own thread) is unaffected. Nothing ever waits for the hung call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
import time
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
    started: float = 0.0


class XtWorker:
    """Runs blocking SDK calls one at a time on a dedicated thread (see module docstring).

    Args:
        name: thread name (logs).
        timeout: default seconds a call may take.
    """

    def __init__(self, name: str = "xtdata", timeout: float = 10.0) -> None:
        self._name = name
        self._timeout = timeout
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: _Job | None = None
        self._stuck: _Job | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if not job.future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._running, job.started = job, time.monotonic()
            error: BaseException | None = None
            try:
                result = job.call()
            except BaseException as exc:  # handed to the awaiting caller below
                error = exc
            self._finished(job)
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)

    def _finished(self, job: _Job) -> None:
        """``job`` returned: the worker is free again (before its future completes, so
        :meth:`wait_hung` returning means calls are accepted)."""
        with self._lock:
            self._running = None
            if self._stuck is job:
                self._stuck = None
                logger.warning("xtdata.%s returned after %.1fs; xtdata calls resume",
                               job.name, time.monotonic() - job.started)

    async def call(self, fn: Any, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the worker; its result or exception comes back.

        Raises:
            BackendUnavailable: the worker is closed, an earlier call is hung inside the SDK,
                or this call did not finish within ``timeout`` (default: the worker's).
        """
        name = getattr(fn, "__name__", repr(fn))
        with self._lock:
            if self._closed:
                raise BackendUnavailable("the xtdata worker is stopped")
            if self._stuck is not None:
                raise self._busy_error(name, self._stuck)
            job = _Job(name, functools.partial(fn, *args, **kwargs))
            self._queue.put(job)
        limit = self._timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job.future), limit)
        except asyncio.TimeoutError:
            self._note_timeout(job)
            raise BackendUnavailable(
                f"xtdata.{name} did not answer within {limit:g}s", details={"call": name}
            ) from None

    @staticmethod
    def _busy_error(name: str, stuck: _Job) -> BackendUnavailable:
        waited = time.monotonic() - stuck.started
        return BackendUnavailable(
            f"xtdata.{name} refused: xtdata.{stuck.name} has been hung inside the SDK for "
            f"{waited:.0f}s and xtdata must not be used concurrently; check that miniQMT is "
            "responding (market data resumes by itself once the call returns)",
            details={"call": name, "hung_call": stuck.name},
        )

    def _note_timeout(self, job: _Job) -> None:
        """After a timeout: if ``job`` is the running call, mark the worker stuck and fail
        the calls queued behind it instead of letting each wait out its own timeout."""
        with self._lock:
            if self._running is not job or job.future.done() or self._stuck is not None:
                return
            self._stuck = job
            logger.error("xtdata.%s hung inside the SDK; refusing xtdata calls until it "
                         "returns", job.name)
            error = self._busy_error("(queued)", job)
            while True:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:  # close() raced us: keep its stop marker
                    self._queue.put(None)
                    break
                if queued.future.set_running_or_notify_cancel():
                    queued.future.set_exception(error)

    async def wait_hung(self, timeout: float) -> None:
        """Wait until the call hung inside the SDK, if any, has returned (its outcome is
        ignored: its caller already got ``BackendUnavailable``).

        Raises:
            asyncio.TimeoutError: still hung after ``timeout`` seconds.
        """
        stuck = self._stuck
        if stuck is not None:
            await asyncio.wait_for(asyncio.wait([asyncio.wrap_future(stuck.future)]), timeout)

    @property
    def wedged(self) -> int:
        """1 while a call is hung inside the SDK (calls then fail fast), else 0."""
        return 0 if self._stuck is None else 1

    @property
    def usable(self) -> bool:
        """False while a call is hung inside the SDK, and after :meth:`close`."""
        return not self._closed and self._stuck is None

    def close(self) -> None:
        """Stop accepting calls; the thread ends after its current call. It is joined unless
        a call is hung in it (it is a daemon and ends when that call returns)."""
        with self._lock:
            self._closed = True
            stuck = self._stuck is not None
        self._queue.put(None)
        if not stuck:
            self._thread.join(timeout=5)
