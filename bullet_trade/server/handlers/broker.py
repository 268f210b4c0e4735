"""Broker queries: ``broker.account``, ``broker.positions``, ``broker.orders``, ``broker.trades``.

Under a virtual sub-account each query answers the sub-account's own view (see
:mod:`bullet_trade.server.subaccounts.views`) and rows carry ``sub_account_id``.

Responses keep the v1 shapes: the account is a flattened dict envelope, the others are bare
lists of rows (``to_wire`` of the model records, JoinQuant codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security
from bullet_trade.model.enums import OrderStatus
from bullet_trade.model.records import Order, Trade
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers.accounts import Route, require_broker, resolve_route, tag_sub
from bullet_trade.server.handlers.params import opt_id, pick, prefixed, req_security
from bullet_trade.server.subaccounts import views
from bullet_trade.server.subaccounts.book import SubAccountBook
from bullet_trade.wire.envelopes import dict_envelope


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Filters of ``broker.orders`` / ``broker.trades``; ``None`` matches everything."""

    order_id: str | None = None
    security: Security | None = None
    status: OrderStatus | None = None

    def match_order(self, order: Order) -> bool:
        return (
            self.order_id in (None, order.order_id)
            and self.security in (None, order.security)
            and self.status in (None, order.status)
        )

    def match_trade(self, trade: Trade) -> bool:
        return self.order_id in (None, trade.order_id) and self.security in (None, trade.security)


def parse_filters(payload: dict[str, Any]) -> RowFilter:
    """Filters at the top level of the payload, or nested under ``filters`` (v1 accepts both).

    Nested fields are named ``filters.<name>`` in errors. ``security`` may be a JoinQuant or
    QMT code (normalised before matching); ``status`` accepts our vocabulary and the v1
    spellings (``cancelled``, ``partly_filled``...).

    Raises:
        BadRequest: ``filters`` is not an object, or a filter value is invalid.
    """
    nested = payload.get("filters")
    if nested is not None and not isinstance(nested, dict):
        raise BadRequest(f"filters must be an object, got {type(nested).__name__}", field="filters")
    source, prefix = (prefixed("filters", nested), "filters.") if nested else (payload, "")
    security_name, security_value = pick(source, prefix + "security")
    security = None if security_value is None else req_security(source, security_name)
    return RowFilter(
        order_id=opt_id(source, prefix + "order_id"),
        security=security,
        status=_status(source, prefix + "status"),
    )


def _status(source: dict[str, Any], name: str) -> OrderStatus | None:
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, got {type(value).__name__}", field=name)
    try:
        return OrderStatus.parse(value)
    except ValueError:
        known = ", ".join(s.value for s in OrderStatus)
        raise BadRequest(f"{name} {value!r} is not an order status ({known})", field=name) from None


class BrokerQueries:
    """The four query actions; under a sub-account they answer its own view
    (:mod:`bullet_trade.server.subaccounts.views`) and tag rows with ``sub_account_id``.

    Args:
        book: orders attributed to sub-accounts.
    """

    def __init__(self, book: SubAccountBook) -> None:
        self._book = book

    async def account(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Cash, totals and positions as a flattened dict envelope."""
        route = resolve_route(ctx, payload)
        snapshot = await require_broker(ctx).account(route.account_key)
        if route.sub is None:
            return dict_envelope(snapshot.to_wire())
        return dict_envelope(views.account_wire(self._book, route.sub, snapshot, _today(ctx)))

    async def positions(
        self, ctx: RequestContext, payload: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Bare list of position rows."""
        route = resolve_route(ctx, payload)
        rows = await require_broker(ctx).positions(route.account_key)
        if route.sub is not None:
            rows = views.positions(self._book, route.sub, rows, _today(ctx))
        return tag_sub([p.to_wire() for p in rows], route)

    async def orders(self, ctx: RequestContext, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Bare list of today's order rows, filtered by ``order_id`` / ``security`` /
        ``status`` (and, under a sub-account, to its own orders)."""
        route = resolve_route(ctx, payload)
        row_filter = parse_filters(payload)
        rows = await require_broker(ctx).orders(route.account_key)
        mine = self._owned(route)
        return tag_sub(
            [o.to_wire() for o in rows
             if row_filter.match_order(o) and (mine is None or o.order_id in mine)],
            route,
        )

    async def trades(self, ctx: RequestContext, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Bare list of today's fills, filtered by ``order_id`` / ``security`` (a ``status``
        filter is validated but does not apply to fills); under a sub-account, the fills of
        its own orders."""
        route = resolve_route(ctx, payload)
        row_filter = parse_filters(payload)
        rows = await require_broker(ctx).trades(route.account_key)
        mine = self._owned(route)
        return tag_sub(
            [t.to_wire() for t in rows
             if row_filter.match_trade(t) and (mine is None or t.order_id in mine)],
            route,
        )

    def _owned(self, route: Route) -> set[str] | None:
        return None if route.sub is None else views.order_ids(self._book, route.sub)


def _today(ctx: RequestContext) -> str:
    return ctx.state.clock.now().date().isoformat()
