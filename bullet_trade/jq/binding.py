"""Where the JoinQuant API finds the running engine: a context variable, not a module global.

The runner sets :data:`CURRENT_SESSION` in its task; strategy callbacks run in a worker thread
with a copy of that context, so every ``order``/``get_price`` call made by the strategy sees the
session that is running it (several runners in one process do not interfere).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession

CURRENT_SESSION: ContextVar[LiveSession] = ContextVar("bullet_trade_live_session")


def current_session() -> LiveSession:
    """The session running the calling strategy code.

    Raises:
        RuntimeError: called outside a running strategy.
    """
    try:
        return CURRENT_SESSION.get()
    except LookupError:
        raise RuntimeError(
            "the JoinQuant API can only be used by a strategy run by bullet-trade live"
        ) from None
