"""A-share trading rules: boards, lots, ticks, price limits, protective prices and fees.

Sources: ``shared/spec/xtquant.md`` section 4. Every function is pure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

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


@lru_cache(maxsize=65536)
def board_of(security: Security) -> Board:
    """Classify a code by exchange and prefix (memoised: a hot path of the simulator)."""
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


def instrument_type(security: Security) -> tuple[str, str | None]:
    """(type, subtype) as ``data.security_info`` reports them, from the code's board (the
    same on every backend; xtquant's own type flags are not reliable)."""
    board = board_of(security)
    if board is Board.INDEX:
        return ("index", None)
    if board is Board.FUND:
        return ("etf", "fund")
    if board is Board.BOND:
        return ("bond", "conbond")
    return ("stock", board.value)


def is_tradable(security: Security) -> bool:
    """Indices cannot be traded."""
    return board_of(security) is not Board.INDEX


# --------------------------------------------------------------------------- fund products


class FundKind(str, enum.Enum):
    """Funds whose rules differ from a plain stock ETF (T+1, ±10 %)."""

    GOLD = "gold"  # T+0
    BOND = "bond"  # T+0
    MONEY = "money"  # T+0
    CROSS_BORDER = "cross_border"  # QDII / cross-border, T+0
    GROWTH_BOARD = "growth_board"  # tracks a ChiNext / STAR index: ±20 %


#: Explicit products (xtquant.md 4.3, 4.4). Codes not listed fall back to the SH prefixes
#: below; any other fund is a plain stock ETF.
FUND_PRODUCTS: dict[str, FundKind] = {
    "518880.XSHG": FundKind.GOLD,
    "518800.XSHG": FundKind.GOLD,
    "159934.XSHE": FundKind.GOLD,
    "159937.XSHE": FundKind.GOLD,
    "511010.XSHG": FundKind.BOND,
    "511260.XSHG": FundKind.BOND,
    "159972.XSHE": FundKind.BOND,
    "511880.XSHG": FundKind.MONEY,
    "511990.XSHG": FundKind.MONEY,
    "159001.XSHE": FundKind.MONEY,
    "513100.XSHG": FundKind.CROSS_BORDER,
    "513500.XSHG": FundKind.CROSS_BORDER,
    "159920.XSHE": FundKind.CROSS_BORDER,
    "159941.XSHE": FundKind.CROSS_BORDER,
    "159915.XSHE": FundKind.GROWTH_BOARD,
    "159949.XSHE": FundKind.GROWTH_BOARD,
    "159952.XSHE": FundKind.GROWTH_BOARD,
    "588000.XSHG": FundKind.GROWTH_BOARD,
    "588080.XSHG": FundKind.GROWTH_BOARD,
}

_SH_FUND_KIND_PREFIXES = (
    ("518", FundKind.GOLD),
    ("511", FundKind.BOND),  # bond and money-market ETFs: both T+0
    ("513", FundKind.CROSS_BORDER),
    ("588", FundKind.GROWTH_BOARD),  # STAR ETFs
)

_T0_FUNDS = frozenset({FundKind.GOLD, FundKind.BOND, FundKind.MONEY, FundKind.CROSS_BORDER})


def fund_kind(security: Security) -> FundKind | None:
    """The special kind of a fund (table, then SH prefixes), ``None`` for a plain ETF or a
    security that is not a fund."""
    if board_of(security) is not Board.FUND:
        return None
    kind = FUND_PRODUCTS.get(security.jq)
    if kind is not None or security.exchange is not Exchange.SH:
        return kind
    for prefix, prefix_kind in _SH_FUND_KIND_PREFIXES:
        if security.symbol.startswith(prefix):
            return prefix_kind
    return None


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


#: Main-board ST / *ST stocks: ±5 % before this day, ±10 % from it (xtquant.md 4.3).
ST_LIMIT_CHANGE = date(2025, 7, 7)


def limit_ratio(
    security: Security, *, is_st: bool = False, on: date | None = None
) -> float | None:
    """Daily price-limit ratio, or ``None`` when there is no limit (indices).

    ``is_st`` matters for main-board stocks only (ChiNext/STAR ST stocks keep ±20 %): ±5 %
    on days before :data:`ST_LIMIT_CHANGE`, ±10 % from it; ``on=None`` means today's rule.
    """
    board = board_of(security)
    if board is Board.INDEX:
        return None
    if board in (Board.CHINEXT, Board.STAR, Board.BOND):
        return 0.20
    if board is Board.BSE:
        return 0.30
    if board is Board.FUND and fund_kind(security) is FundKind.GROWTH_BOARD:
        return 0.20
    if is_st and board is Board.MAIN and on is not None and on < ST_LIMIT_CHANGE:
        return 0.05
    return 0.10


def price_limits(
    security: Security, pre_close: float, *, is_st: bool = False, on: date | None = None
) -> tuple[float, float]:
    """(low_limit, high_limit) for a previous close: the exact decimal product
    ``pre_close × (1 ± ratio)`` rounded half-up to the tick (no float error at half ticks)."""
    ratio = limit_ratio(security, is_st=is_st, on=on)
    if ratio is None:
        return (0.0, float("inf"))
    pre = Decimal(repr(float(pre_close)))
    step = Decimal(repr(ratio))
    quantum = Decimal(1).scaleb(-price_decimals(security))
    high = float((pre * (1 + step)).quantize(quantum, rounding=ROUND_HALF_UP))
    low = float((pre * (1 - step)).quantize(quantum, rounding=ROUND_HALF_UP))
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


_CAGED_BOARDS = frozenset({Board.MAIN, Board.CHINEXT, Board.STAR})


def has_price_cage(security: Security) -> bool:
    """Whether continuous-trading orders are limited to the price cage (main board, ChiNext
    and STAR stocks; xtquant.md 4.3)."""
    return board_of(security) in _CAGED_BOARDS


def in_price_cage(price_ticks: int, benchmark_ticks: int, *, is_buy: bool) -> bool:
    """Price-cage test in whole ticks, exact: a buy must be ≤ max(102 % of the benchmark,
    benchmark + 10 ticks), a sell ≥ min(98 %, benchmark − 10 ticks)."""
    if is_buy:
        return price_ticks * 100 <= max(benchmark_ticks * 102, (benchmark_ticks + 10) * 100)
    return price_ticks * 100 >= min(benchmark_ticks * 98, (benchmark_ticks - 10) * 100)


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
    """Whether shares bought today may be sold today: convertible bonds, and gold, bond,
    money-market and cross-border funds (see :func:`fund_kind`); everything else is T+1."""
    return board_of(security) is Board.BOND or fund_kind(security) in _T0_FUNDS
