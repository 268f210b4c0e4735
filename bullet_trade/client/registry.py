"""The request registry: one future per request id (protocol principle 6).

One registry exists per network link. Responses and error frames resolve the future of their
id; when the link drops, every pending future fails at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class RequestRegistry:
    """Pending requests of one link, keyed by request id (a string)."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._closed_with: Callable[[], BaseException] | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def open(self, request_id: str) -> asyncio.Future[Any]:
        """Register a new request. A registry that already failed all gives a failed future."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed_with is not None:
            future.set_exception(self._closed_with())
            return future
        if request_id in self._pending:
            raise ValueError(f"duplicate request id {request_id!r}")
        self._pending[request_id] = future
        return future

    def resolve(self, request_id: Any, payload: Any) -> bool:
        """Complete a request; False when the id is unknown (late reply after a timeout)."""
        future = self._take(request_id)
        if future is None:
            return False
        future.set_result(payload)
        return True

    def fail(self, request_id: Any, error: BaseException) -> bool:
        """Fail a request with ``error``; False when the id is unknown."""
        future = self._take(request_id)
        if future is None:
            return False
        future.set_exception(error)
        return True

    def fail_all(self, make_error: Callable[[], BaseException]) -> int:
        """Fail every pending request (each gets its own exception) and refuse new ones."""
        self._closed_with = make_error
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(make_error())
        return len(pending)

    def discard(self, request_id: str) -> None:
        """Forget a request whose caller stopped waiting (timeout, cancellation)."""
        self._pending.pop(request_id, None)

    def _take(self, request_id: Any) -> asyncio.Future[Any] | None:
        if not isinstance(request_id, str):
            return None
        future = self._pending.pop(request_id, None)
        if future is None or future.done():
            return None
        return future
