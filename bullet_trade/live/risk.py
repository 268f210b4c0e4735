"""Optional local pre-trade risk control (off by default).

Each limit is independent and off while it is ``None``. When set, the planner refuses an
order that breaks it *before* it reaches the broker: the strategy gets an ``Order`` with status
``rejected`` and a ``reason`` starting with ``risk control:``, and the runner logs a warning.
Nothing is skipped silently.

Limits (environment variables read by the CLI in brackets):

* ``max_order_value`` (``RISK_MAX_ORDER_VALUE``): amount × order price of one order, CNY,
  buys and sells alike (the order price is the limit price, or the protective price of a
  market order, so the check is conservative);
* ``max_daily_orders`` (``RISK_MAX_DAILY_ORDERS``): orders this strategy may send per trading
  day; orders whose outcome is unknown count, locally refused ones do not. Today's orders are
  recovered from the broker after a restart, so the count survives restarts;
* ``max_position_ratio`` (``RISK_MAX_POSITION_RATIO``): for buys, the resulting position
  (held shares at the last price plus the new shares at the order price) as a fraction of the
  portfolio's total value, in ``(0, 1]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bullet_trade.model.enums import Side
from bullet_trade.model.records import PlaceOrder


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Pre-trade limits; ``None`` disables a limit (all disabled by default).

    Raises:
        ValueError: a limit is not a positive finite number, or the ratio exceeds 1.
    """

    max_order_value: float | None = None
    max_daily_orders: int | None = None
    max_position_ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_order_value", "max_daily_orders", "max_position_ratio"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"risk limit {name} must be a positive number, got {value!r}")
        if self.max_position_ratio is not None and self.max_position_ratio > 1:
            raise ValueError(
                f"max_position_ratio is a fraction in (0, 1], got {self.max_position_ratio!r}"
            )

    @property
    def enabled(self) -> bool:
        return any(
            v is not None
            for v in (self.max_order_value, self.max_daily_orders, self.max_position_ratio)
        )


@dataclass(frozen=True, slots=True)
class RiskCheck:
    """The limits plus what the check needs to know about the account right now.

    Attributes:
        limits: the configured limits.
        orders_today: orders already sent today (see the module docstring).
        total_value: the portfolio's total value (only needed for ``max_position_ratio``).
    """

    limits: RiskLimits
    orders_today: int = 0
    total_value: float = 0.0

    def refusal(self, command: PlaceOrder, *, held: int, last_price: float) -> str | None:
        """Why ``command`` must not be sent, or ``None`` when every enabled limit allows it.

        Args:
            command: the planned order (``price`` is the limit or protective price).
            held: shares of the security held now.
            last_price: current price of the security.
        """
        limits = self.limits
        price = command.price or last_price
        value = command.amount * price
        if limits.max_order_value is not None and value > limits.max_order_value:
            return (f"order value {value:,.2f} exceeds the maximum {limits.max_order_value:,.2f}"
                    " (RISK_MAX_ORDER_VALUE)")
        if limits.max_daily_orders is not None and self.orders_today >= limits.max_daily_orders:
            return (f"{self.orders_today} orders already sent today, the daily maximum is "
                    f"{limits.max_daily_orders} (RISK_MAX_DAILY_ORDERS)")
        if limits.max_position_ratio is not None and command.side is Side.BUY:
            return self._ratio_refusal(limits.max_position_ratio, held * last_price + value)
        return None

    def _ratio_refusal(self, maximum: float, position_value: float) -> str | None:
        if not (math.isfinite(self.total_value) and self.total_value > 0):
            return "the portfolio's total value is unknown (RISK_MAX_POSITION_RATIO)"
        ratio = position_value / self.total_value
        if ratio <= maximum:
            return None
        return (f"the position would be {ratio:.1%} of the total value {self.total_value:,.2f},"
                f" the maximum is {maximum:.1%} (RISK_MAX_POSITION_RATIO)")
