"""Exactly-once submission by idempotency key: the contract, and the in-memory store.

The server uses the durable :class:`~bullet_trade.server.journal.JournalIdempotencyStore`;
:class:`MemoryIdempotencyStore` serves tables built without a journal (unit tests) and cancels.

Contract of :class:`IdempotencyStore` (what a SQLite journal must also honour):

* Scope is ``(account_key, key)``. The first request of a scope runs ``submit`` once; its
  outcome is recorded, success or failure, together with a fingerprint of the order fields.
* A repeat with the same fingerprint gets the recorded outcome (the same result, or the same
  exception) without running ``submit`` again; a repeat that arrives while the first is still
  running awaits it.
* A repeat with a different fingerprint raises ``IdempotencyConflict``.
* The submission runs in its own task: when the request that started it is cancelled (request
  timeout, client gone) the submission still completes and is recorded, so a retry learns the
  real outcome instead of submitting twice.
* Outcomes recorded: the result; any ``BulletTradeError`` except ``BackendUnavailable`` (the
  backend refused before anything reached the broker, so a retry may submit); an unexpected
  exception or a cancelled submission is recorded as ``SubmitUnknown``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bullet_trade.errors import (
    BackendUnavailable,
    BulletTradeError,
)
from bullet_trade.server.submission import Scope, conflict_error, shared_outcome, unknown_error

log = logging.getLogger("bullet_trade.server.orders")

T = TypeVar("T")

DEFAULT_TTL = 24 * 3600.0


class IdempotencyStore(Protocol):
    """What the order handlers need from an idempotency journal."""

    async def run(
        self,
        scope: Scope,
        fingerprint: str,
        submit: Callable[[], Awaitable[T]],
        *,
        sub_account: str | None = None,
        tag: str = "",
    ) -> tuple[T, bool]:
        """Run ``submit`` at most once per scope; returns ``(result, replayed)``.

        ``sub_account`` and ``tag`` (the broker-remark tag) are recorded by durable stores.
        """
        ...

    async def recorded(self, scope: Scope) -> Any | None:
        """The recorded successful result of a scope (durable stores reconcile an unsettled
        one first), or ``None``."""
        ...


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    task: asyncio.Task[Any]
    created: float




class MemoryIdempotencyStore:
    """In-process implementation of :class:`IdempotencyStore`.

    Args:
        ttl: seconds an entry is kept after it was created (default 24 h: a trading day).
        clock: monotonic time source (tests).
    """

    def __init__(
        self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[Scope, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def run(
        self,
        scope: Scope,
        fingerprint: str,
        submit: Callable[[], Awaitable[T]],
        *,
        sub_account: str | None = None,
        tag: str = "",
    ) -> tuple[T, bool]:
        self._prune()
        entry = self._entries.get(scope)
        if entry is not None:
            if entry.fingerprint != fingerprint:
                raise conflict_error(scope[1])
            return await shared_outcome(scope, entry.task), True
        task: asyncio.Task[T] = asyncio.create_task(
            self._guarded(scope, submit), name=f"submit:{scope[0]}:{scope[1]}"
        )
        task.add_done_callback(_retrieve)
        self._entries[scope] = _Entry(fingerprint, task, self._clock())
        return await shared_outcome(scope, task), False

    def lookup(self, scope: Scope) -> Any | None:
        entry = self._entries.get(scope)
        if entry is None or not entry.task.done() or entry.task.cancelled():
            return None
        if entry.task.exception() is not None:
            return None
        return entry.task.result()

    async def recorded(self, scope: Scope) -> Any | None:
        return self.lookup(scope)

    async def _guarded(self, scope: Scope, submit: Callable[[], Awaitable[T]]) -> T:
        try:
            return await submit()
        except BackendUnavailable:
            entry = self._entries.get(scope)
            if entry is not None and entry.task is asyncio.current_task():
                del self._entries[scope]
            raise
        except BulletTradeError:
            raise
        except Exception as exc:  # I/O boundary: the backend failed in an unknown way
            log.exception("submission %s/%s failed unexpectedly", scope[0], scope[1])
            raise unknown_error(scope[1]) from exc

    def _prune(self) -> None:
        deadline = self._clock() - self._ttl
        for scope in list(self._entries):
            entry = self._entries[scope]
            if entry.created > deadline:
                break  # insertion order: the rest is newer
            if entry.task.done():
                del self._entries[scope]


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a finished submission's exception as retrieved (its callers may be gone)."""
    if not task.cancelled():
        task.exception()
