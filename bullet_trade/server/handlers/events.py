"""``broker.events``: replay of the journaled ``events.v1`` stream.

Request ``{since_seq, limit, sub_account_id?}``; response ``{"events": [event frames],
"last_seq": n, "more": bool}``. Events are those with ``seq > since_seq`` in ascending order,
at most ``limit`` (default 1000, at most 10000); ``more`` says whether another page follows.

The replay is filtered exactly like the session's live stream
(:func:`bullet_trade.server.events.scope_for`): under a sub-account (the request's
``sub_account_id``, else the handshake's, else the token's ``sub_accounts``) only its order
and trade events and ``backend`` events; a token bound to accounts sees only theirs. A
``sub_account_id`` that is not configured is ``UNKNOWN_ACCOUNT``; one the token may not act
as is ``FORBIDDEN`` (field ``sub_account_id``).
"""

from __future__ import annotations

from typing import Any

from bullet_trade.errors import Forbidden
from bullet_trade.server.context import Handler, RequestContext
from bullet_trade.server.events import EventHub, EventScope, scope_for
from bullet_trade.server.handlers.accounts import find_sub
from bullet_trade.server.handlers.params import opt_int, opt_str

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


def replay_scope(ctx: RequestContext, payload: dict[str, Any]) -> EventScope:
    """The scope of a replay request (see the module docstring).

    Raises:
        UnknownAccount: ``sub_account_id`` is not configured.
        Forbidden: the token is bound to other sub-accounts.
    """
    text = opt_str(payload, "sub_account_id") or ctx.session.sub_account_id
    grant = ctx.grant
    if text is None:
        return scope_for(grant, None)
    sub = find_sub(ctx, text)
    if grant is not None and grant.sub_accounts is not None and sub.name not in grant.sub_accounts:
        raise Forbidden(
            f"token {grant.name!r} may not act as sub-account {sub.name!r} (无权使用该子账户)",
            field="sub_account_id",
        )
    ctx.log_fields["sub_account_id"] = sub.name
    return scope_for(grant, sub.name)


def events_handler(hub: EventHub) -> Handler:
    """The ``broker.events`` handler bound to ``hub``."""

    async def events(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Journaled events after ``since_seq`` the session may see (BadRequest for a bad
        number)."""
        since = opt_int(payload, "since_seq", minimum=0, maximum=2**62) or 0
        limit = opt_int(payload, "limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
        scope = replay_scope(ctx, payload)
        rows = await hub.replay(since, limit + 1, scope)
        ctx.log_fields["since_seq"] = since
        return {
            "events": [row.to_wire() for row in rows[:limit]],
            "last_seq": hub.last_seq,
            "more": len(rows) > limit,
        }

    return events
