"""JoinQuant strategy API: scheduling, orders and settings.

Every function finds the running session through the context variable in
:mod:`bullet_trade.jq.binding`. Functions that talk to the broker block the calling strategy
thread until the event loop has answered.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from bullet_trade.jq.binding import current_session
from bullet_trade.jq.objects import LimitOrderStyle, Order, OrderStyle, Trade
from bullet_trade.live.orders import trade_from_record
from bullet_trade.live.planner import IntentKind, OrderIntent
from bullet_trade.live.schedule import JobKind
from bullet_trade.live.trading import cancel, refresh_orders
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus

log = logging.getLogger("bullet_trade.jq")

# --------------------------------------------------------------------------- scheduling


def run_daily(func: Callable[..., Any], time: str = "every_bar", reference_security: Any = None
              ) -> None:
    """Run ``func(context)`` every trading day at ``time`` (see ``live.schedule``)."""
    current_session().registry.add(func, JobKind.DAILY, time)


def run_weekly(func: Callable[..., Any], weekday: int, time: str = "open",
               reference_security: Any = None, force: bool = True) -> None:
    """Run ``func`` on the ``weekday``-th trading day of each week (negative: from the end)."""
    current_session().registry.add(func, JobKind.WEEKLY, time, weekday, force)


def run_monthly(func: Callable[..., Any], monthday: int, time: str = "open",
                reference_security: Any = None, force: bool = True) -> None:
    """Run ``func`` on the ``monthday``-th trading day of each month (negative: from the end)."""
    current_session().registry.add(func, JobKind.MONTHLY, time, monthday, force)


def unschedule_all() -> None:
    """Remove every job registered with ``run_daily``/``run_weekly``/``run_monthly``."""
    current_session().registry.clear()


# --------------------------------------------------------------------------- orders


def _resolve_style(price: Any, style: Any) -> OrderStyle | None:
    if isinstance(price, OrderStyle):  # order(code, 100, LimitOrderStyle(10.0))
        price, style = None, price
    if style is not None:
        if not isinstance(style, OrderStyle):
            raise TypeError(f"style must be MarketOrderStyle or LimitOrderStyle, got {style!r}")
        return style
    if price is not None:
        return LimitOrderStyle(float(price))
    return None


def _place(security: Any, kind: IntentKind, quantity: Any, price: Any, style: Any
           ) -> Order | None:
    if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
        raise TypeError(f"order quantity must be a number, got {quantity!r}")
    if not math.isfinite(quantity):
        raise ValueError(f"order quantity must be finite, got {quantity!r}")
    intent = OrderIntent(parse_security(security), kind, float(quantity),
                         _resolve_style(price, style))
    if kind in (IntentKind.AMOUNT, IntentKind.VALUE) and quantity == 0:
        return None
    session = current_session()
    return session.call(session.submit(intent))


def order(security: str, amount: int, price: Any = None, style: Any = None, *,
          side: str = "long", pindex: int = 0, close_today: bool = False) -> Order | None:
    """Buy (``amount`` > 0) or sell (< 0) shares.

    Returns the ``Order`` (status ``rejected`` with ``reason`` when it could not be sent),
    or ``None`` when there is nothing to trade (zero, below one lot).
    """
    return _place(security, IntentKind.AMOUNT, amount, price, style)


def order_value(security: str, value: float, price: Any = None, style: Any = None, *,
                side: str = "long", pindex: int = 0) -> Order | None:
    """Buy (``value`` > 0) or sell shares worth ``value`` CNY at the current price."""
    return _place(security, IntentKind.VALUE, value, price, style)


def order_target(security: str, amount: int, price: Any = None, style: Any = None, *,
                 side: str = "long", pindex: int = 0) -> Order | None:
    """Trade so that the holding becomes ``amount`` shares (sells limited to closeable)."""
    return _place(security, IntentKind.TARGET, amount, price, style)


def order_target_value(security: str, value: float, price: Any = None, style: Any = None, *,
                       side: str = "long", pindex: int = 0) -> Order | None:
    """Trade so that the holding is worth ``value`` CNY at the current price."""
    return _place(security, IntentKind.TARGET_VALUE, value, price, style)


def cancel_order(order: Order | str) -> Order | None:
    """Cancel an order (``Order`` or broker id). Returns the order if the broker accepted."""
    order_id = order.order_id if isinstance(order, Order) else str(order)
    session = current_session()
    return session.call(cancel(session, order_id))


def _status_matches(order: Order, status: Any) -> bool:
    if status is None:
        return True
    wanted = status if isinstance(status, Iterable) and not isinstance(status, str) else [status]
    return order.status in {OrderStatus.parse(s) for s in wanted}


def get_orders(order_id: str | None = None, security: str | None = None, status: Any = None
               ) -> dict[str, Order]:
    """Today's orders of this strategy, refreshed from the broker, keyed by order id."""
    session = current_session()
    session.call(refresh_orders(session))
    code = parse_security(security).jq if security else None
    return {
        o.order_id: o
        for o in session.book.today()
        if (order_id is None or o.order_id == order_id)
        and (code is None or o.security == code)
        and _status_matches(o, status)
    }


def get_open_orders() -> dict[str, Order]:
    """Today's orders that are not finished yet."""
    return {k: o for k, o in get_orders().items() if o.status.is_open}


def get_trades(order_id: str | None = None, security: str | None = None) -> dict[str, Trade]:
    """Today's fills of this strategy's orders, keyed by trade id."""
    session = current_session()
    records = session.call(session.broker.trades(session.account_key))
    code = parse_security(security).jq if security else None
    trades = (trade_from_record(r) for r in records if session.book.owns(r.order_id))
    return {
        t.trade_id: t
        for t in trades
        if (order_id is None or t.order_id == order_id) and (code is None or t.security == code)
    }


# --------------------------------------------------------------------------- settings


def set_benchmark(security: str) -> None:
    """Recorded only (no benchmark tracking in live)."""
    current_session().settings.benchmark = parse_security(security).jq


def set_option(key: str, value: Any) -> None:
    """Recorded; live trading always uses real prices."""
    current_session().settings.options[str(key)] = value


def set_order_cost(cost: Any, type: str = "stock", ref: str | None = None) -> None:
    """Recorded only: the broker charges its real fees."""
    current_session().settings.order_cost[ref or type] = cost


def set_commission(cost: Any) -> None:
    current_session().settings.order_cost["commission"] = cost


def set_slippage(slippage: Any, type: str | None = None, ref: str | None = None) -> None:
    """Recorded only: live fills happen at market prices."""
    current_session().settings.slippage = slippage


def set_universe(securities: Iterable[str]) -> None:
    current_session().settings.universe = [parse_security(s).jq for s in securities]


def record(**values: float) -> None:
    """Kept in memory and logged at debug level (no chart in live)."""
    session = current_session()
    session.settings.records.append((session.context.current_dt, dict(values)))
    log.debug("record %s", values)
