"""A-share trading rules: boards, lots, ticks, price limits, protective prices and fees.

Sources: ``shared/spec/xtquant.md`` section 4. Every function is pure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bullet_trade.model.codes import Exchange, Security


class Board(str, enum.Enum):
    MAIN = "main"
    CHINEXT = "chinext"
    STAR = "star"
    BSE = "bse"
    FUND = "fund"  # ETFs, LOFs
    BOND = "bond"  # convertible bonds
    INDEX = "index"
    B_SHARE = "b_share"


_SH_FUND_PREFIXES = ("50", "51", "52", "56", "58")
_SZ_FUND_PREFIXES = ("15", "16", "18")
_SH_BOND_PREFIXES = ("110", "111", "113", "118")
_SZ_BOND_PREFIXES = ("123", "127", "128")


def board_of(security: Security) -> Board:
    """Classify a code by exchange and prefix."""
    s = security.symbol
    if security.exchange is Exchange.BJ:
        return Board.INDEX if s.startswith("899") else Board.BSE
    if security.exchange is Exchange.SH:
        return _sh_board(s)
    return _sz_board(s)


def _sh_board(s: str) -> Board:
    if s.startswith("688") or s.startswith("689"):
        return Board.STAR
    if s.startswith(_SH_FUND_PREFIXES):
        return Board.FUND
    if s.startswith(_SH_BOND_PREFIXES):
        return Board.BOND
    if s.startswith("900"):
        return Board.B_SHARE
    if s.startswith("000"):
        return Board.INDEX
    return Board.MAIN


def _sz_board(s: str) -> Board:
    if s.startswith("300") or s.startswith("301"):
        return Board.CHINEXT
    if s.startswith(_SZ_FUND_PREFIXES):
        return Board.FUND
    if s.startswith(_SZ_BOND_PREFIXES):
        return Board.BOND
    if s.startswith("200"):
        return Board.B_SHARE
    if s.startswith("399"):
        return Board.INDEX
    return Board.MAIN


def is_tradable(security: Security) -> bool:
    """Indices cannot be traded."""
    return board_of(security) is not Board.INDEX


# --------------------------------------------------------------------------- lots


@dataclass(frozen=True, slots=True)
class LotRule:
    min_lot: int
    step: int


def lot_rule(security: Security) -> LotRule:
    """Minimum buy quantity and step for a board."""
    board = board_of(security)
    if board is Board.STAR:
        return LotRule(200, 1)
    if board is Board.BSE:
        return LotRule(100, 1)
    if board is Board.BOND:
        return LotRule(10, 10)
    return LotRule(100, 100)


def round_buy_amount(security: Security, raw: int) -> int:
    """Largest valid buy quantity ≤ ``raw``; 0 when below the minimum lot."""
    rule = lot_rule(security)
    if raw < rule.min_lot:
        return 0
    return (raw - rule.min_lot) // rule.step * rule.step + rule.min_lot


def round_sell_amount(security: Security, raw: int, closeable: int) -> int:
    """Valid sell quantity for a request of ``raw`` shares with ``closeable`` sellable.

    Selling everything that is closeable is always allowed (odd lots go together with round
    lots, so selling 150 of 150 sends 150). Otherwise the quantity is rounded down to the step
    and must reach the minimum lot.
    """
    amount = min(raw, closeable)
    if amount <= 0:
        return 0
    if amount == closeable:
        return amount
    rule = lot_rule(security)
    if amount < rule.min_lot:
        return 0
    return (amount - rule.min_lot) // rule.step * rule.step + rule.min_lot


def is_valid_buy_amount(security: Security, amount: int) -> bool:
    return amount > 0 and round_buy_amount(security, amount) == amount


def is_valid_sell_amount(security: Security, amount: int, closeable: int) -> bool:
    return amount > 0 and round_sell_amount(security, amount, closeable) == amount


# --------------------------------------------------------------------------- prices


def tick_size(security: Security) -> float:
    """Minimum price increment: 0.001 for funds, bonds and B shares, else 0.01."""
    if board_of(security) in (Board.FUND, Board.BOND, Board.B_SHARE):
        return 0.001
    return 0.01


def price_decimals(security: Security) -> int:
    return 3 if tick_size(security) < 0.01 else 2


def round_price(security: Security, price: float) -> float:
    """Round half-up to the security's tick."""
    return round_half_up(price, price_decimals(security))


def round_half_up(value: float, decimals: int) -> float:
    quantum = Decimal(1).scaleb(-decimals)
    # float() first: repr of a numpy float64 is "np.float64(...)", which Decimal rejects
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP))


def is_on_tick(security: Security, price: float) -> bool:
    return abs(round_price(security, price) - price) < 1e-9


def limit_ratio(security: Security, *, is_st: bool = False) -> float | None:
    """Daily price-limit ratio, or ``None`` when there is no limit (indices)."""
    board = board_of(security)
    if board is Board.INDEX:
        return None
    if board in (Board.CHINEXT, Board.STAR, Board.BOND):
        return 0.20
    if board is Board.BSE:
        return 0.30
    # main-board ST stocks moved from ±5% to ±10% in July 2025 (xtquant.md 4.3)
    return 0.10


def price_limits(
    security: Security, pre_close: float, *, is_st: bool = False
) -> tuple[float, float]:
    """(low_limit, high_limit) for a previous close, rounded half-up to the tick."""
    ratio = limit_ratio(security, is_st=is_st)
    if ratio is None:
        return (0.0, float("inf"))
    high = round_price(security, pre_close * (1 + ratio))
    low = round_price(security, pre_close * (1 - ratio))
    return (max(low, tick_size(security)), high)


def protect_price(
    security: Security,
    last: float,
    *,
    is_buy: bool,
    low_limit: float,
    high_limit: float,
    percent: float = 0.015,
) -> float:
    """Protective price of a market order: last ± ``percent``, on tick, inside the limits and
    inside the price cage (buy ≤ max(102 %, +10 ticks), sell ≥ min(98 %, -10 ticks))."""
    tick = tick_size(security)
    if is_buy:
        cage = max(last * 1.02, last + 10 * tick)
        raw = min(last * (1 + percent), cage, high_limit)
        return _floor_tick(security, raw)
    cage = min(last * 0.98, last - 10 * tick)
    raw = max(last * (1 - percent), cage, low_limit)
    return _ceil_tick(security, raw)


def _floor_tick(security: Security, price: float) -> float:
    tick = tick_size(security)
    return round_price(security, int(price / tick + 1e-9) * tick)


def _ceil_tick(security: Security, price: float) -> float:
    tick = tick_size(security)
    units = int(price / tick - 1e-9)
    if units * tick < price - 1e-9:
        units += 1
    return round_price(security, units * tick)


# --------------------------------------------------------------------------- fees


@dataclass(frozen=True, slots=True, kw_only=True)
class FeeSchedule:
    """Per-order fees. Rates are fractions of turnover.

    Defaults: commission 0.025 % with a 5 CNY minimum, stamp duty 0.05 % on stock sells,
    transfer fee 0.001 % both sides on stocks; funds pay neither stamp duty nor transfer fee.
    """

    commission_rate: float = 0.00025
    min_commission: float = 5.0
    stamp_duty_rate: float = 0.0005
    transfer_fee_rate: float = 0.00001

    def commission(self, turnover: float) -> float:
        if turnover <= 0:
            return 0.0
        return round(max(turnover * self.commission_rate, self.min_commission), 2)

    def tax(self, security: Security, turnover: float, *, is_buy: bool) -> float:
        """Stamp duty (sells) plus transfer fee, for stocks only."""
        if board_of(security) in (Board.FUND, Board.BOND, Board.INDEX) or turnover <= 0:
            return 0.0
        duty = 0.0 if is_buy else turnover * self.stamp_duty_rate
        return round(duty + turnover * self.transfer_fee_rate, 2)


def is_t0(security: Security) -> bool:
    """Whether shares bought today may be sold today (simplified: convertible bonds only)."""
    return board_of(security) is Board.BOND
