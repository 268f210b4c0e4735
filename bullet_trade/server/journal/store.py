"""``JournalIdempotencyStore``: the durable :class:`~bullet_trade.server.handlers.idempotency.
IdempotencyStore` (same contract as the in-memory one, plus restarts).

Flow of one placement (scope ``(account_key, idempotency_key)``):

1. An in-process task of the scope is joined; otherwise one is registered at once (no
   ``await`` between the check and the registration, so a scope has at most one task) and
   it *claims* the intent in the journal (``INSERT``, fsynced) **before** the broker is
   called. Claims of different scopes run concurrently and share journal commits.
2. The submission runs in its own task and records the outcome: ``submitted`` (order JSON),
   ``rejected`` (error JSON, replayed to retries), ``unknown`` (unexpected failure → the
   caller gets ``SUBMIT_UNKNOWN``). ``BackendUnavailable`` deletes the intent (nothing reached
   the broker, a retry may submit). A submission cancelled by shutdown records nothing: the
   intent stays ``pending``, as after a crash.
3. A repeat whose intent exists in the journal but not in this process: same fingerprint →
   the recorded outcome; ``pending``/``unknown`` → reconcile first (see :mod:`.reconcile`);
   different fingerprint → ``IDEMPOTENCY_CONFLICT``.
4. :meth:`JournalIdempotencyStore.recorded` (``order_status`` by key, halted retries) only
   reads: it joins a task in flight, replays a settled intent or reconciles an unsettled one,
   and never inserts an intent.

Whenever a reconcile settles an intent (found → ``submitted``, not found → ``rejected`` /
``not_submitted``) the settle hook is told (:meth:`JournalIdempotencyStore.settle_with`), so
the sub-account book binds or releases its reservation wherever the settling happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar, cast

from bullet_trade.errors import (
    BackendUnavailable,
    BulletTradeError,
    SubmitUnknown,
)
from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.records import Order
from bullet_trade.server.journal.codec import (
    error_from_json,
    error_to_json,
    order_from_json,
    order_to_json,
)
from bullet_trade.server.journal.db import (
    PENDING,
    REJECTED,
    SUBMITTED,
    UNKNOWN,
    UNSETTLED_STATES,
    IntentRow,
    Journal,
)
from bullet_trade.server.journal.reconcile import OrderLookup, OrdersSource, reconcile_intent
from bullet_trade.server.submission import Scope, conflict_error, shared_outcome, unknown_error

log = logging.getLogger("bullet_trade.server.orders")

T = TypeVar("T")
#: ``(account_key, idem_key, order)`` after a reconcile settled an intent: the broker's order,
#: or ``None`` when it never reached the broker.
SettleHook = Callable[[str, str, Order | None], Awaitable[None]]


def _china_today() -> date:
    return datetime.now(CHINA_TZ).date()


@dataclass(slots=True)
class _Live:
    fingerprint: str
    #: Set when this task's claim inserted the intent (its outcome is then not a replay).
    claimed: bool = False
    task: asyncio.Task[Any] = field(init=False)


class JournalIdempotencyStore:
    """Exactly-once placements recorded in a :class:`Journal`.

    Args:
        journal: the open journal.
        orders: ``account_key → broker orders`` used to reconcile (set later with :meth:`bind`).
        lookup: ``broker.order`` (reconciling intents of an earlier trading day).
        today: the server's trading day (default: today in China time; see
            :meth:`settle_with`).
    """

    def __init__(
        self,
        journal: Journal,
        orders: OrdersSource | None = None,
        *,
        lookup: OrderLookup | None = None,
        today: Callable[[], date] = _china_today,
    ) -> None:
        self._journal = journal
        self._orders = orders
        self._lookup = lookup
        self._today = today
        self._on_settled: SettleHook | None = None
        self._live: dict[Scope, _Live] = {}
        self._starts = 0  # tasks ever started (recorded() detects one it may have missed)

    def bind(self, orders: OrdersSource, lookup: OrderLookup | None = None) -> None:
        """Give the store the broker's order list and single-order lookup (to reconcile)."""
        self._orders = orders
        self._lookup = lookup

    def settle_with(self, hook: SettleHook, today: Callable[[], date] | None = None) -> None:
        """Call ``hook`` whenever a reconcile settles an intent (the sub-account book), and
        use ``today`` (the server clock) as the current trading day."""
        self._on_settled = hook
        if today is not None:
            self._today = today

    async def run(
        self,
        scope: Scope,
        fingerprint: str,
        submit: Callable[[], Awaitable[T]],
        *,
        sub_account: str | None = None,
        tag: str = "",
    ) -> tuple[T, bool]:
        """Submit at most once per scope (see the module docstring); ``(result, replayed)``."""
        live = self._live.get(scope)
        if live is None:
            row = self._new_row(scope, fingerprint, sub_account, tag)
            live = _Live(fingerprint)
            self._start(scope, live, self._first(live, row, submit))
            return await shared_outcome(scope, live.task), not live.claimed
        if live.fingerprint != fingerprint:
            raise conflict_error(scope[1])
        return await shared_outcome(scope, live.task), True

    def lookup(self, scope: Scope) -> Any | None:
        """The result of a finished in-process submission still held in memory, else None."""
        live = self._live.get(scope)
        task = live.task if live is not None else None
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None
        return task.result()

    async def recorded(self, scope: Scope) -> Any | None:
        """The recorded order of a scope (reconciling an unsettled intent first), or None.

        Read-only: joins the scope's task in flight, replays a settled intent, reconciles an
        unsettled one; never inserts an intent (a deleted one stays deleted)."""
        try:
            return await self._recorded(scope)
        except BulletTradeError:
            return None

    async def _recorded(self, scope: Scope) -> Any:
        while True:
            live = self._live.get(scope)
            if live is not None:
                return await shared_outcome(scope, live.task)
            starts = self._starts
            row = await self._journal.intent(*scope)
            live = self._live.get(scope)
            if live is not None:
                return await shared_outcome(scope, live.task)
            if self._starts != starts:
                continue  # a task started (and ended) meanwhile: the row may be stale
            if row is None:
                return None
            if row.state not in UNSETTLED_STATES:
                return _replay(row)
            # no await since the read: no task of this scope can have changed the row
            live = self._start(scope, _Live(row.fingerprint), self._reconcile(row))
            return await shared_outcome(scope, live.task)

    async def reconcile_all(self) -> int:
        """Reconcile every unsettled intent not running in this process; returns how many
        were settled (startup, or on demand)."""
        rows = await self._journal.intents(states=UNSETTLED_STATES)
        settled = 0
        for row in rows:
            scope = (row.account_key, row.idem_key)
            if scope in self._live:
                continue
            live = self._start(scope, _Live(row.fingerprint), self._reconcile(row))
            try:
                await shared_outcome(scope, live.task)
                settled += 1
            except SubmitUnknown:
                pass  # broker not answering: stays unsettled
            except BulletTradeError:
                settled += 1  # settled as not submitted
        return settled

    async def close(self) -> None:
        """Cancel in-process submissions (their intents stay ``pending``, as after a crash)."""
        tasks = [live.task for live in self._live.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ internals

    def _new_row(
        self, scope: Scope, fingerprint: str, sub_account: str | None, tag: str
    ) -> IntentRow:
        now = self._journal.now()
        return IntentRow(
            account_key=scope[0], idem_key=scope[1], sub_account=sub_account,
            fingerprint=fingerprint, remark_tag=tag, fields=fingerprint, state=PENDING,
            order_id=None, result=None, created_at=now, updated_at=now,
            trading_day=self._today().isoformat(),
        )

    async def _claim(self, row: IntentRow) -> IntentRow | None:
        """Write the intent; a journal that cannot write means nothing is submitted."""
        try:
            return await self._journal.claim_intent(row)
        except Exception as exc:  # I/O boundary: refuse the order rather than risk it
            log.exception("journal: cannot record intent %s/%s", row.account_key, row.idem_key)
            raise BackendUnavailable(
                "the order journal is unavailable; nothing was submitted (订单日志不可用)"
            ) from exc

    async def _first(self, live: _Live, row: IntentRow, submit: Callable[[], Awaitable[T]]) -> T:
        """The task of a scope not running in this process: claim, then submit; or act on
        the intent already journaled (conflict, replay, or reconcile an unsettled one)."""
        existing = await self._claim(row)
        if existing is None:
            live.claimed = True
            return await self._submit((row.account_key, row.idem_key), submit)
        if existing.fingerprint != row.fingerprint:
            raise conflict_error(row.idem_key)
        if existing.state in UNSETTLED_STATES:
            return cast(T, await self._reconcile(existing))
        return cast(T, _replay(existing))

    def _start(self, scope: Scope, live: _Live, coro: Awaitable[Any]) -> _Live:
        """Register ``live`` as ``scope``'s task, running ``coro`` (synchronous: no await)."""
        live.task = asyncio.ensure_future(coro)
        self._live[scope] = live
        self._starts += 1

        def done(finished: asyncio.Task[Any]) -> None:
            if self._live.get(scope) is live:
                del self._live[scope]
            if not finished.cancelled():
                finished.exception()  # retrieved: the callers may be gone

        live.task.add_done_callback(done)
        return live

    async def _submit(self, scope: Scope, submit: Callable[[], Awaitable[T]]) -> T:
        try:
            result = await submit()
        except BackendUnavailable:
            await self._forget(scope)
            raise
        except SubmitUnknown as exc:
            await self._record(scope, UNKNOWN, None, error_to_json(exc))
            raise
        except BulletTradeError as exc:
            await self._record(scope, REJECTED, None, error_to_json(exc))
            raise
        except asyncio.CancelledError:
            raise  # shutdown: the intent stays pending and is reconciled at the next start
        except Exception as exc:  # I/O boundary: the backend failed in an unknown way
            log.exception("submission %s/%s failed unexpectedly", scope[0], scope[1])
            error = unknown_error(scope[1])
            await self._record(scope, UNKNOWN, None, error_to_json(error))
            raise error from exc
        order_id = getattr(result, "order_id", None)
        await self._record(scope, SUBMITTED, order_id, order_to_json(cast(Order, result)))
        return result

    async def _reconcile(self, row: IntentRow) -> Order:
        if self._orders is None:
            raise unknown_error(row.idem_key)
        state, order, error = await reconcile_intent(
            self._orders, row, today=self._today(), lookup=self._lookup
        )
        if state == UNKNOWN:
            raise unknown_error(row.idem_key)
        if order is not None:
            await self._record((row.account_key, row.idem_key), SUBMITTED, order.order_id,
                               order_to_json(order))
            await self._settled(row, order)
            return order
        assert error is not None
        await self._record((row.account_key, row.idem_key), REJECTED, None, error_to_json(error))
        await self._settled(row, None)
        raise error

    async def _settled(self, row: IntentRow, order: Order | None) -> None:
        """Tell the settle hook (sub-account book) how a reconcile settled ``row``."""
        if self._on_settled is None:
            return
        try:
            await self._on_settled(row.account_key, row.idem_key, order)
        except Exception:  # the outcome still goes to the caller; a restart resyncs the book
            log.exception("settle hook failed for %s/%s", row.account_key, row.idem_key)

    async def _record(
        self, scope: Scope, state: str, order_id: str | None, result: str | None
    ) -> None:
        try:
            await self._journal.settle_intent(scope[0], scope[1], state, order_id, result)
        except Exception:  # I/O boundary: the outcome still goes to the caller
            log.exception("journal: recording %s for %s/%s failed", state, scope[0], scope[1])

    async def _forget(self, scope: Scope) -> None:
        try:
            await self._journal.forget_intent(*scope)
        except Exception:  # I/O boundary
            log.exception("journal: forgetting %s/%s failed", scope[0], scope[1])


def _replay(row: IntentRow) -> Any:
    """The recorded outcome of a settled intent: the order, or the recorded error raised."""
    if row.result is None:
        raise unknown_error(row.idem_key)
    error = error_from_json(row.result)
    if error is not None:
        raise error
    return order_from_json(row.result)
