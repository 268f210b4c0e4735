"""``broker.events``: replay of the journaled ``events.v1`` stream.

Request ``{since_seq, limit}``; response ``{"events": [event frames], "last_seq": n,
"more": bool}``. Events are those with ``seq > since_seq`` in ascending order, at most
``limit`` (default 1000, at most 10000); ``more`` says whether another page follows.
"""

from __future__ import annotations

from typing import Any

from bullet_trade.server.context import Handler, RequestContext
from bullet_trade.server.events import EventHub
from bullet_trade.server.handlers.params import opt_int

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


def events_handler(hub: EventHub) -> Handler:
    """The ``broker.events`` handler bound to ``hub``."""

    async def events(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Journaled events after ``since_seq`` (BadRequest for a bad number)."""
        since = opt_int(payload, "since_seq", minimum=0, maximum=2**62) or 0
        limit = opt_int(payload, "limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
        rows = await hub.replay(since, limit + 1)
        ctx.log_fields["since_seq"] = since
        return {
            "events": [row.to_wire() for row in rows[:limit]],
            "last_seq": hub.last_seq,
            "more": len(rows) > limit,
        }

    return events
