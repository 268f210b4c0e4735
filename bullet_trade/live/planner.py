"""Turn a strategy's order intent into a broker command, applying A-share rules.

Pure functions: given the intent, the current quote and the holding, :func:`plan_order`
returns a :class:`Planned` command, a :class:`Skipped` no-op (JoinQuant returns ``None``) or
a :class:`Refused` order (never sent; the strategy sees status ``rejected`` with the reason).

Rules:

* paused or no usable price → refused;
* buys are rounded down to the board's lot (STAR: 200 then steps of 1; main board 100s);
* sells are limited to the *closeable* quantity (T+1), with no fallback to the total when
  nothing is closeable; selling everything closeable may include the odd lot;
* limit prices are rounded to the tick and clamped into ``[low_limit, high_limit]``;
* market orders carry a protective price from :func:`bullet_trade.model.rules.protect_price`;
* with a :class:`~bullet_trade.live.risk.RiskCheck`, an order breaking an enabled local risk
  limit is refused with a ``risk control: ...`` reason (see :mod:`bullet_trade.live.risk`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from bullet_trade.jq.objects import LimitOrderStyle, MarketOrderStyle, OrderStyle
from bullet_trade.live.risk import RiskCheck
from bullet_trade.model import rules
from bullet_trade.model.codes import Security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import PlaceOrder, Quote

_SHARE_EPS = 1e-6


class IntentKind(str, enum.Enum):
    AMOUNT = "amount"  # order(): signed share count
    VALUE = "value"  # order_value(): signed cash value
    TARGET = "target"  # order_target(): target share count
    TARGET_VALUE = "target_value"  # order_target_value(): target cash value


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the strategy asked for."""

    security: Security
    kind: IntentKind
    quantity: float
    style: OrderStyle | None = None


@dataclass(frozen=True, slots=True)
class Holding:
    """The part of a position the planner needs."""

    total: int = 0
    closeable: int = 0


@dataclass(frozen=True, slots=True)
class Planned:
    command: PlaceOrder


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to do (zero delta, below one lot)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The order cannot be sent; ``side``/``amount`` describe what was asked."""

    side: Side
    amount: int
    reason: str


PlanResult = Planned | Skipped | Refused


def _usable(price: float) -> bool:
    return math.isfinite(price) and price > 0


def _shares_for_value(value: float, price: float) -> int:
    # Tolerate float noise: 5000 / 5.0 must be 1000, not 999.
    return math.floor(abs(value) / price + _SHARE_EPS) * (1 if value >= 0 else -1)


def _reference_price(intent: OrderIntent, quote: Quote) -> float:
    if isinstance(intent.style, LimitOrderStyle) and _usable(intent.style.limit_price):
        return intent.style.limit_price
    return quote.last_price


def share_delta(intent: OrderIntent, holding: Holding, price: float) -> int:
    """Signed number of shares to trade (positive buys) before lot rounding."""
    if intent.kind is IntentKind.AMOUNT:
        return int(intent.quantity)
    if intent.kind is IntentKind.VALUE:
        return _shares_for_value(intent.quantity, price)
    if intent.kind is IntentKind.TARGET:
        return int(max(intent.quantity, 0)) - holding.total
    return _shares_for_value(max(intent.quantity, 0.0), price) - holding.total


def _limits(security: Security, quote: Quote) -> tuple[float, float]:
    low = quote.low_limit if _usable(quote.low_limit) else rules.tick_size(security)
    high = quote.high_limit if _usable(quote.high_limit) else math.inf
    return low, high


def order_price(security: Security, side: Side, style: OrderStyle | None, quote: Quote) -> float:
    """Limit price (limit orders) or protective price (market orders), on tick and in limits."""
    low, high = _limits(security, quote)
    explicit = style.limit_price if isinstance(style, (LimitOrderStyle, MarketOrderStyle)) else None
    if explicit is not None:
        return min(max(rules.round_price(security, explicit), low), high)
    percent = 0.015
    if isinstance(style, MarketOrderStyle):
        chosen = style.buy_price_percent if side is Side.BUY else style.sell_price_percent
        percent = abs(chosen) if chosen is not None else percent
    return rules.protect_price(
        security, quote.last_price, is_buy=side is Side.BUY, low_limit=low, high_limit=high,
        percent=percent,
    )


def _amount(security: Security, delta: int, holding: Holding) -> int | Refused:
    if delta > 0:
        return rules.round_buy_amount(security, delta)
    if holding.closeable <= 0:
        reason = "no closeable shares (bought today, T+1)" if holding.total > 0 else "no position"
        return Refused(Side.SELL, -delta, reason)
    return rules.round_sell_amount(security, -delta, holding.closeable)


def plan_order(
    intent: OrderIntent, quote: Quote, holding: Holding, *, strategy_name: str = "bullet-trade",
    remark: str = "", risk: RiskCheck | None = None,
) -> PlanResult:
    """Plan one order (see the module docstring for the rules); ``risk`` adds the local
    pre-trade check as the last step."""
    security = intent.security
    guess_side = Side.BUY if intent.quantity >= 0 else Side.SELL
    if not rules.is_tradable(security):
        return Refused(guess_side, 0, f"{security.jq} is an index and cannot be traded")
    if quote.paused:
        return Refused(guess_side, 0, f"{security.jq} is paused")
    if not _usable(quote.last_price):
        return Refused(guess_side, 0, f"no price for {security.jq}")
    if isinstance(intent.style, LimitOrderStyle) and not _usable(intent.style.limit_price):
        return Refused(guess_side, 0, f"invalid limit price {intent.style.limit_price!r}")
    delta = share_delta(intent, holding, _reference_price(intent, quote))
    if delta == 0:
        return Skipped("nothing to trade")
    amount = _amount(security, delta, holding)
    if isinstance(amount, Refused):
        return amount
    if amount <= 0:
        return Skipped(f"{abs(delta)} shares is below one lot of {security.jq}")
    side = Side.BUY if delta > 0 else Side.SELL
    is_limit = isinstance(intent.style, LimitOrderStyle)
    command = PlaceOrder(
        security=security, side=side, amount=amount,
        order_type=OrderType.LIMIT if is_limit else OrderType.MARKET,
        price=order_price(security, side, intent.style, quote),
        remark=remark, strategy_name=strategy_name,
    )
    refusal = None if risk is None else risk.refusal(
        command, held=holding.total, last_price=quote.last_price)
    if refusal is not None:
        return Refused(side, amount, f"risk control: {refusal}")
    return Planned(command)
