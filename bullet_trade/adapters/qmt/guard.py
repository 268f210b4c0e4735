"""Availability of the miniQMT trader link and the reconnect policy.

States: ``connected`` (requests allowed), ``disconnected`` (a request fails at once with
``BackendUnavailable``) and ``reconnecting`` (the same, while a new session is being built).
The broker drives transitions; :meth:`QmtGuard.reconnect` retries an attempt with exponential
backoff until it succeeds or is cancelled.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bullet_trade.errors import BackendUnavailable

logger = logging.getLogger(__name__)


class LinkState(str, enum.Enum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnect attempts: ``initial`` × ``factor``ⁿ, capped at ``maximum``."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0

    def delays(self) -> Callable[[], float]:
        state = [self.initial]

        def next_delay() -> float:
            delay = state[0]
            state[0] = min(delay * self.factor, self.maximum)
            return delay

        return next_delay


class QmtGuard:
    """Current link state plus the reconnect loop.

    Args:
        backoff: reconnect delays.
        on_change: called (on the loop) with the new state and a detail text.
    """

    def __init__(self, backoff: Backoff, on_change: Callable[[LinkState, str], None]) -> None:
        self.backoff = backoff
        self.state = LinkState.DISCONNECTED
        self.detail = "not started"
        self.attempts = 0
        self.closed = False
        self._on_change = on_change

    def set(self, state: LinkState, detail: str = "") -> None:
        if state is self.state and detail == self.detail:
            return
        self.state, self.detail = state, detail
        logger.info("miniQMT trader link: %s %s", state.value, detail)
        self._on_change(state, detail)

    def require_ready(self) -> None:
        """Raises ``BackendUnavailable`` unless the link is connected."""
        if self.state is not LinkState.CONNECTED:
            raise BackendUnavailable(
                f"miniQMT trader is {self.state.value}: {self.detail}",
                details={"backend_state": self.state.value},
            )

    async def reconnect(self, attempt: Callable[[], Awaitable[None]]) -> None:
        """Call ``attempt`` until it succeeds, sleeping with backoff in between. Ends early
        once :attr:`closed` is set (cancellation alone can be swallowed by ``wait_for`` on
        Python < 3.12 when an SDK call completes at the same moment)."""
        next_delay = self.backoff.delays()
        while not self.closed:
            self.attempts += 1
            self.set(LinkState.RECONNECTING, f"attempt {self.attempts}")
            try:
                await attempt()
            except Exception as exc:  # any failure of the SDK counts as "still down"
                logger.warning("reconnect attempt %d failed: %s", self.attempts, exc)
                self.set(LinkState.DISCONNECTED, str(exc))
                await asyncio.sleep(next_delay())
                continue
            if not self.closed:
                self.set(LinkState.CONNECTED, "")
            return
