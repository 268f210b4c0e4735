"""Data actions other than history: quotes, trading days, security info, subscriptions."""

from __future__ import annotations

from typing import Any

from bullet_trade.model.codes import parse_security
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers.history import require_data
from bullet_trade.server.handlers.params import (
    opt_date,
    opt_int,
    pick,
    req_security,
    str_list,
)
from bullet_trade.wire.envelopes import dict_envelope, list_envelope

MAX_TRADE_DAYS = 100_000
SECURITY_ALIASES = ("security", "stock", "stockcode")


async def snapshot(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``{sid, last_price, dt}`` (also answers ``data.current_tick``)."""
    security = req_security(payload, *SECURITY_ALIASES)
    quote = await require_data(ctx).quote(security)
    return quote.snapshot_wire()


async def live_current(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``{last_price, high_limit, low_limit, paused, ...}`` (JoinQuant current data)."""
    security = req_security(payload, *SECURITY_ALIASES)
    quote = await require_data(ctx).quote(security)
    return quote.live_current_wire()


async def trade_days(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"dtype":"list","values":["YYYY-MM-DD", ...]}``, ascending.

    ``count`` NaN counts as absent (v1 T17); ``count`` takes the last days up to ``end``.
    """
    start = opt_date(payload, "start", "start_date")
    end = opt_date(payload, "end", "end_date")
    count = opt_int(payload, "count", maximum=MAX_TRADE_DAYS, nan_is_absent=True)
    days = await require_data(ctx).trade_days(start=start, end=end, count=count)
    return list_envelope([day.isoformat() for day in days])


async def security_info(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Flattened dict envelope of the instrument description (``date`` is ignored)."""
    security = req_security(payload, "security")
    info = await require_data(ctx).security_info(security)
    return dict_envelope(info.to_wire())


# --------------------------------------------------------------------------- subscriptions


def _symbols(payload: dict[str, Any]) -> list[str] | None:
    """Symbols of a (un)subscribe request, validated and uppercased; ``None`` when absent.

    ``securities`` wins over ``symbols``. A plain string is one symbol (W-P6). Blank entries
    are dropped (as v1 did); anything else must be a valid code (field ``securities[i]``).
    """
    name, value = pick(payload, "securities", "symbols")
    if value is None:
        return None
    out: list[str] = []
    for field, text in str_list(value, name):
        symbol = text.strip().upper()
        if symbol:
            parse_security(symbol, field=field)
            out.append(symbol)
    return list(dict.fromkeys(out))


async def subscribe(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Add tick subscriptions for this session; ``{"count": <session's symbols>}``.

    Raises:
        BadRequest: ``securities`` missing or a bad code; past the per-session limit.
    """
    require_data(ctx)
    symbols = _symbols(payload)
    if symbols is None:
        symbols = []
    return {"count": await ctx.session.subscribe(symbols)}


def _unsubscribed(count: int, removed: int) -> dict[str, Any]:
    return {"count": 0} if count == 0 and removed == 0 else {"count": count, "removed": removed}


async def unsubscribe(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Remove the given symbols (all when ``securities`` is missing or null).

    Works when the data service is disabled (answers ``{"count": 0}``).
    """
    if ctx.state.data is None:
        return {"count": 0}
    count, removed = await ctx.session.unsubscribe(_symbols(payload))
    return _unsubscribed(count, removed)


async def unsubscribe_all(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Remove every symbol of this session: ``{"count": 0, "removed": k}`` or ``{"count": 0}``."""
    if ctx.state.data is None:
        return {"count": 0}
    count, removed = await ctx.session.unsubscribe(None)
    return _unsubscribed(count, removed)
