"""Ex-dividend events of the simulated exchange and the price adjustment they imply.

Events are deterministic per ``(seed, code, year)``: they are drawn from the year's generator
(see :mod:`.stretch`) before the price paths, so a year's event never depends on other years.

* Stocks: about one event a year (chance :data:`STOCK_EVENT_CHANCE`): a cash dividend per share
  (a 0.3 %–4 % yield on the year's anchor price) and, sometimes, bonus shares per 10.
* Funds: rare (chance :data:`FUND_EVENT_CHANCE` a year), cash only. Indices and bonds: none.

Amounts are integers: cash in mills (0.001 CNY) per share, bonus shares per 10 shares. On the
ex-date the previous close is replaced by the reference price
``(pre_close - cash) / (1 + bonus / 10)`` rounded half up to the tick (:func:`adjusted_pre`);
price limits are computed from it, while the raw close series shows the gap.

Adjustment (``fq``) uses each event's ``ratio`` = adjusted previous close / raw previous close
(≤ 1): back adjustment (``post``) multiplies day ``t`` by the product of ``1 / ratio`` over the
events up to ``t``; front adjustment (``pre``) multiplies it by the product of ``ratio`` over
the events after ``t`` up to the market's current day, so the current day's prices are raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from bullet_trade.model.codes import Security
from bullet_trade.model.records import DividendEvent
from bullet_trade.model.rules import Board, board_of

STOCK_EVENT_CHANCE = 0.9
FUND_EVENT_CHANCE = 0.08
_BONUS_CHANCE = 0.15
_BONUS_CHOICES = (2, 3, 4, 5, 10)
MILLS_PER_CNY = 1000


@dataclass(frozen=True, slots=True)
class EventDraw:
    """A year's event before its path exists: trading-day offset of the ex-date in the year,
    cash per share (mills, pre-tax), bonus shares per 10 shares."""

    offset: int
    cash: int
    bonus: int


@dataclass(frozen=True, slots=True)
class ExEvent:
    """An ex-dividend event on the simulated calendar.

    Attributes:
        index: trading-day index of the ex-date.
        cash: cash dividend per share in mills (0.001 CNY), pre-tax.
        bonus: bonus shares per 10 shares held.
        ratio: adjusted previous close / raw previous close of the ex-date (≤ 1).
    """

    index: int
    cash: int
    bonus: int
    ratio: float

    def cash_for(self, shares: int) -> float:
        """Cash credited to a holder of ``shares`` shares (CNY, rounded to the cent)."""
        return round(shares * self.cash / MILLS_PER_CNY, 2)

    def bonus_for(self, shares: int) -> int:
        """Bonus shares credited to a holder of ``shares`` shares (fractions dropped)."""
        return shares * self.bonus // 10


def has_events(security: Security) -> bool:
    """Whether ``security`` can have ex-dividend events (stocks and funds)."""
    return board_of(security) not in (Board.INDEX, Board.BOND)


def draw_event(
    u: npt.NDArray[np.float64], security: Security, anchor: int, days: int, mills_per_tick: int
) -> EventDraw | None:
    """The year's event of ``security`` (or ``None``) from five uniform draws ``u``.

    ``anchor`` is the year's anchor price in ticks; the ex-date falls between the first quarter
    and the middle of the year's ``days`` trading days (so never near the year's end).
    """
    if not has_events(security) or days < 8:
        return None
    fund = board_of(security) is Board.FUND
    if u[0] >= (FUND_EVENT_CHANCE if fund else STOCK_EVENT_CHANCE):
        return None
    offset = days // 4 + int(u[1] * (days // 4))
    yield_ = 0.003 + u[2] * (0.027 if fund else 0.037)
    cash = max(1, round(yield_ * anchor * mills_per_tick))
    bonus = 0
    if not fund and u[3] < _BONUS_CHANCE:
        bonus = _BONUS_CHOICES[int(u[4] * len(_BONUS_CHOICES))]
    return EventDraw(offset, cash, bonus)


def adjusted_pre(
    prev: npt.NDArray[np.int64],
    cash: int | npt.NDArray[np.int64],
    bonus: int | npt.NDArray[np.int64],
    mills_per_tick: int,
) -> npt.NDArray[np.int64]:
    """Reference previous close (ticks) of an ex-date: ``(prev - cash) / (1 + bonus/10)``
    rounded half up to the tick, at least one tick (element-wise)."""
    num = (prev * mills_per_tick - cash) * 10
    den = (10 + bonus) * mills_per_tick
    return np.asarray(np.maximum((2 * num + den) // (2 * den), 1), dtype=np.int64)


def factors(
    events: list[ExEvent], indices: npt.NDArray[np.int64], today: int, fq: str | None
) -> npt.NDArray[np.float64] | None:
    """Price factor per day in ``indices`` for ``fq`` (``None`` when prices stay raw).

    ``events`` must hold every event up to ``today`` (``post``) or every event after the first
    of ``indices`` up to ``today`` (``pre``), sorted by index.
    """
    if fq not in ("pre", "post") or not events:
        return None
    at = np.array([e.index for e in events], dtype=np.int64)
    cum = np.concatenate(([1.0], np.cumprod([1.0 / e.ratio for e in events])))
    k = np.searchsorted(at, indices, side="right")
    out = cum[k]
    if fq == "pre":
        out = out / cum[int(np.searchsorted(at, today, side="right"))]
    if np.all(out == 1.0):
        return None
    return np.asarray(out, dtype=np.float64)


def as_event(security: Security, day: date, event: ExEvent) -> DividendEvent:
    """The event as a :class:`DividendEvent` (cash per 10 shares for stocks, per 1 for funds)."""
    fund = board_of(security) is Board.FUND
    per_base = 1 if fund else 10
    return DividendEvent(
        security=security,
        ex_date=day,
        security_type="fund" if fund else "stock",
        scale_factor=round(1.0 + event.bonus / 10.0, 4),
        bonus_pre_tax=round(event.cash * per_base / MILLS_PER_CNY, 4),
        per_base=per_base,
    )
