"""Group commit for the journal: many queued operations, one transaction, one fsync.

Contract of :class:`GroupCommit`:

* :meth:`GroupCommit.run` queues an operation ``func(db)`` and returns its result once the
  transaction that ran it has committed (``synchronous=FULL``: fsynced). Queuing never
  blocks the event loop; the SQL runs on the journal's single worker thread.
* At most one batch is in flight. Operations queued while it commits form the next batch:
  one ``BEGIN IMMEDIATE`` … ``COMMIT`` for all of them, executed in the order they were
  queued (so outcomes and events keep their order and ``seq`` stays strictly increasing).
* Each operation runs inside its own ``SAVEPOINT``: when ``func`` raises, only its own
  changes are rolled back and only its caller gets the exception; the others of the batch
  still commit.
* A write failure — ``COMMIT`` fails, or an operation's error aborted the whole transaction
  — fails every operation of the batch with that error (none of it is acknowledged), and
  the operations queued after it are not merged into it: they run in a later transaction.
* An operation whose caller was cancelled before its batch started is skipped.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]

#: Most operations merged into one transaction (bounds the latency of the first of them).
MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class _Failed:
    """The exception one operation raised (its savepoint was rolled back)."""

    error: BaseException


@dataclass(slots=True)
class _Queued:
    func: Operation
    future: asyncio.Future[Any]


class GroupCommit:
    """Batches journal operations into shared transactions on ``executor``'s one thread.

    Args:
        executor: the journal's single-thread executor.
        connection: returns the open connection (raises when the journal is closed); called
            on the worker thread.
    """

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        connection: Callable[[], sqlite3.Connection],
    ) -> None:
        self._executor = executor
        self._connection = connection
        self._queue: list[_Queued] = []
        self._in_flight: asyncio.Future[list[Any]] | None = None
        #: Transactions committed (tests count them).
        self.commits = 0

    async def run(self, func: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``func(db)`` in the next transaction; its result once that has committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(func, future))
        if self._in_flight is None:
            self._launch()
        return await future

    async def drain(self) -> None:
        """Wait until every operation queued so far has committed or failed."""
        while self._in_flight is not None:
            await asyncio.wait([self._in_flight])

    def _launch(self) -> None:
        """Start the next batch on the worker thread (event loop; never blocks)."""
        batch: list[_Queued] = []
        while self._queue and not batch:
            batch = [q for q in self._queue[:MAX_BATCH] if not q.future.done()]
            del self._queue[:MAX_BATCH]
        if batch:
            funcs = [q.func for q in batch]
            in_flight = asyncio.wrap_future(self._executor.submit(self._execute, funcs))
            self._in_flight = in_flight
            in_flight.add_done_callback(lambda done: self._finish(batch, done))

    def _finish(self, batch: list[_Queued], done: asyncio.Future[list[Any]]) -> None:
        """Hand each operation its outcome, then start the batch queued meanwhile."""
        self._in_flight = None
        error = done.exception()
        outcomes: list[Any] = [_Failed(error)] * len(batch) if error else done.result()
        if error is None:
            self.commits += 1
        for queued, outcome in zip(batch, outcomes, strict=True):
            if queued.future.done():
                continue  # its caller was cancelled; the operation ran (or failed) anyway
            if isinstance(outcome, _Failed):
                queued.future.set_exception(outcome.error)
            else:
                queued.future.set_result(outcome)
        if self._queue:
            self._launch()

    def _execute(self, funcs: list[Operation]) -> list[Any]:
        """Worker thread: run ``funcs`` in one transaction. Raises when it did not commit."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [_run_one(db, func) for func in funcs]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                    db.execute("ROLLBACK")
            raise
        return outcomes


def _run_one(db: sqlite3.Connection, func: Operation) -> Any:
    """Run ``func`` inside a savepoint; its exception is returned as :class:`_Failed` unless
    it also ended the transaction (then it is raised: the whole batch fails)."""
    db.execute("SAVEPOINT op")
    try:
        result = func(db)
    except Exception as exc:
        if not db.in_transaction:
            raise  # SQLite rolled the whole transaction back (I/O error, disk full, ...)
        db.execute("ROLLBACK TO op")
        db.execute("RELEASE op")
        return _Failed(exc)
    db.execute("RELEASE op")
    return result
