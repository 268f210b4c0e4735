"""Checks of a new order against the market rules and the account.

Two kinds of refusal, as at a real broker:

* **Synchronous** (:func:`check_order`): what the broker's own front end catches before the
  order leaves it (lots, ticks, limits, cash, position, suspension). ``place_order`` raises
  :class:`~bullet_trade.errors.OrderRejected` with a machine readable ``reason`` and records
  nothing.
* **Asynchronous** (:func:`late_rejection`): what only the exchange refuses, after the broker
  accepted the order. ``place_order`` records the order with status 57 (``rejected``),
  ``reason`` set and ``status_msg`` explaining it, emits ``OrderUpdated`` and returns it;
  nothing is frozen.

Synchronous reasons, checked in this order:

=========================  ====================================================================
``not_tradable``           the code is an index
``suspended``              trading in the security is suspended
``insufficient_position``  a sell of more shares than are closeable now (T+1, frozen excluded)
``bad_lot``                quantity breaks the lot rules (``rules.round_buy_amount`` /
                           ``rules.round_sell_amount`` would change it)
``bad_tick``               the price is not a multiple of the tick
``price_outside_limit``    the price is outside today's [low_limit, high_limit]
``insufficient_cash``      available cash < amount × price + estimated fees
=========================  ====================================================================

Asynchronous reasons (status 57):

=========================  ====================================================================
``market_closed``          a market order outside continuous trading (``real`` clock mode):
                           the exchange takes market orders only in continuous trading
``outside_price_cage``     SH stock, continuous trading, limit price outside the price cage
                           around the last price (SSE rejects it). SZ accepts such orders (the
                           real SZSE holds them until the price comes back, unverified; the
                           simulator lets them match at the last price like any marketable
                           order)
=========================  ====================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from bullet_trade.adapters.sim.market import DayState
from bullet_trade.adapters.sim.session import MarketMoment
from bullet_trade.adapters.sim.state import AccountState
from bullet_trade.errors import OrderRejected
from bullet_trade.model.codes import Exchange
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import PlaceOrder
from bullet_trade.model.rules import (
    FeeSchedule,
    has_price_cage,
    in_price_cage,
    is_on_tick,
    is_tradable,
    is_valid_buy_amount,
    price_decimals,
    protect_price,
    round_sell_amount,
    tick_size,
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """What a valid order needs: its working price and the cash to freeze (buys)."""

    price: float
    frozen_cash: float


def _price(ticks: int, tick: float, decimals: int) -> float:
    return round(ticks * tick, decimals)


def check_order(
    command: PlaceOrder,
    account: AccountState,
    state: DayState,
    moment: MarketMoment,
    fees: FeeSchedule,
) -> Accepted:
    """Validate ``command``; returns the working price and the cash to freeze.

    Raises:
        OrderRejected: see the module docstring for the reasons, checked in that order.
    """
    security = command.security
    if not is_tradable(security):
        raise OrderRejected(f"{security} is an index and cannot be traded", reason="not_tradable")
    if state.paused:
        raise OrderRejected(f"{security} is suspended", reason="suspended")
    _check_amount(command, account)
    price = _check_price(command, state)
    if command.side is Side.SELL:
        return Accepted(price=price, frozen_cash=0.0)
    turnover = command.amount * price
    need = round(
        turnover + fees.commission(turnover) + fees.tax(security, turnover, is_buy=True), 2
    )
    if need > account.cash + 1e-9:
        raise OrderRejected(
            f"insufficient cash: need {need:.2f}, available {account.cash:.2f}",
            reason="insufficient_cash",
        )
    return Accepted(price=price, frozen_cash=need)


def _check_amount(command: PlaceOrder, account: AccountState) -> None:
    security, amount = command.security, command.amount
    if command.side is Side.BUY:
        if not is_valid_buy_amount(security, amount):
            raise OrderRejected(f"{amount} is not a valid buy quantity", reason="bad_lot")
        return
    position = account.positions.get(security)
    closeable = position.available if position is not None else 0
    if amount > closeable:
        raise OrderRejected(
            f"insufficient position: selling {amount}, closeable {closeable}",
            reason="insufficient_position",
        )
    if round_sell_amount(security, amount, closeable) != amount:
        raise OrderRejected(f"{amount} is not a valid sell quantity", reason="bad_lot")


def _check_price(command: PlaceOrder, state: DayState) -> float:
    """The limit price (checked) or the protective price of a market order."""
    security = command.security
    tick, decimals = tick_size(security), price_decimals(security)
    low = _price(state.low_limit, tick, decimals)
    high = _price(state.high_limit, tick, decimals)
    price = command.price
    if price is None:
        last = _price(state.last, tick, decimals)
        is_buy = command.side is Side.BUY
        return protect_price(security, last, is_buy=is_buy, low_limit=low, high_limit=high)
    if not is_on_tick(security, price):
        raise OrderRejected(f"price {price} is not a multiple of {tick}", reason="bad_tick")
    if not low - 1e-9 <= price <= high + 1e-9:
        raise OrderRejected(
            f"price {price} is outside today's limits [{low}, {high}]",
            reason="price_outside_limit",
        )
    return round(price, decimals)


def late_rejection(
    command: PlaceOrder, price: float, state: DayState, moment: MarketMoment
) -> tuple[str, str] | None:
    """``(reason, message)`` when the exchange refuses an order the broker accepted, else
    ``None`` (see the module docstring)."""
    if command.order_type is OrderType.MARKET and not moment.trading:
        return "market_closed", "market orders are accepted only in continuous trading"
    security = command.security
    if not moment.trading or command.order_type is not OrderType.LIMIT:
        return None
    if security.exchange is not Exchange.SH or not has_price_cage(security):
        return None
    ticks = round(price / tick_size(security))
    if not in_price_cage(ticks, state.last, is_buy=command.side is Side.BUY):
        return "outside_price_cage", f"price {price} is outside the price cage"
    return None

