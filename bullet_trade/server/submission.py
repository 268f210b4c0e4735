"""What every idempotency store shares: the scope of a key, the two errors it raises and how
callers await the one submission of a scope. A leaf module (depends only on ``errors``) so
both the in-memory store and the durable journal use it without import cycles."""

from __future__ import annotations

import asyncio
from typing import Any

from bullet_trade.errors import IdempotencyConflict, SubmitUnknown

#: ``(account_key, idempotency_key)``
Scope = tuple[str, str]


def unknown_error(key: str) -> SubmitUnknown:
    """The request with ``key`` may or may not have reached the broker."""
    return SubmitUnknown(
        f"the outcome of the request with idempotency_key {key!r} is unknown; it is being "
        "reconciled: query broker.order_status by idempotency_key, never re-send blindly",
        details={"idempotency_key": key},
    )


def conflict_error(key: str) -> IdempotencyConflict:
    """``key`` was already used for a request with other fields."""
    return IdempotencyConflict(
        f"idempotency_key {key!r} was already used for a different request "
        f"(idempotency_key 冲突: {key})",
        field="idempotency_key",
    )


async def shared_outcome(scope: Scope, task: asyncio.Task[Any]) -> Any:
    """Await the one submission task of ``scope`` without letting a caller's cancellation
    cancel it; a cancelled submission (shutdown) is an unknown outcome."""
    if task.cancelled():
        raise unknown_error(scope[1])
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():  # the submission itself was cancelled, not this request
            raise unknown_error(scope[1]) from None
        raise
