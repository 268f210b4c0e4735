"""Where the simulated market stands at a clock time: trading day, minute bar, open or not.

A trading day has 240 one-minute bars, labelled by their END time: bar 0 ends 09:31, bar 119
ends 11:30, bar 120 ends 13:01 and bar 239 ends 15:00.

Clock modes (``SimConfig.clock_mode``):

``always-open`` (default; demos and tests at any hour, weekends included)
    The trading day is the latest trading day on or before the clock's date. The clock's time of
    day is mapped onto a virtual trading minute: ``n = (hour * 60 + minute) % 240`` and the
    market stands at the END of bar ``n`` (so 00:00 → bar 0 ending 09:31, 04:00 → bar 0 again,
    10:00 → bar 120 ending 13:01). The market is always open: orders fill, prices change every
    clock minute. The quote timestamp is the virtual moment (trading day + bar end time).
    Because the mapping wraps every four hours, prices within one day repeat; that is accepted.

``real`` (and ``replay``, whose clock merely runs at another speed)
    The trading day and minute are the real ones. Bars whose end time has passed are visible.
    Before 09:30 the day has no bars yet (the quote shows the previous close); during the lunch
    break and after 15:00 the market stands at bar 119 / 239; on a non-trading day it stands at
    the previous trading day's close. Outside continuous trading orders rest and never fill,
    except in the two call auctions (see :class:`Phase`): orders resting at 09:25 match once
    at the day's open, orders resting at 15:00 once at its close. From 14:57 the market stands
    at bar 236 (the closing auction shows no trades) until 15:00 shows bar 239.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from bullet_trade.model.calendar import TradingCalendar

BARS_PER_DAY = 240
_MORNING_OPEN = 9 * 60 + 30
_MORNING_CLOSE = 11 * 60 + 30
_AFTERNOON_OPEN = 13 * 60
_AFTERNOON_CLOSE = 15 * 60
_AUCTION_OPEN = 9 * 60 + 15
_AUCTION_NO_CANCEL = 9 * 60 + 20
_AUCTION_MATCH = 9 * 60 + 25
_CLOSING_AUCTION = 14 * 60 + 57


class Phase(str, enum.Enum):
    """Trading phase of a day (xtquant.md 4.5)."""

    CLOSED = "closed"  # before 09:15, after 15:00, non-trading days
    CALL_AUCTION = "call_auction"  # 09:15-09:25: limit orders only, match at 09:25
    PRE_OPEN = "pre_open"  # 09:25-09:30: orders accepted, not processed
    CONTINUOUS = "continuous"  # 09:30-11:30, 13:00-14:57
    LUNCH = "lunch"  # 11:30-13:00
    CLOSING_AUCTION = "closing_auction"  # 14:57-15:00: no cancels, match at 15:00

#: Minute of day at which each bar ends (09:31 ... 11:30, 13:01 ... 15:00).
BAR_END_MINUTES: npt.NDArray[np.int64] = np.concatenate(
    [
        np.arange(_MORNING_OPEN + 1, _MORNING_CLOSE + 1),
        np.arange(_AFTERNOON_OPEN + 1, _AFTERNOON_CLOSE + 1),
    ]
).astype(np.int64)

#: The same as nanoseconds since midnight, for building DatetimeIndex values.
BAR_END_NS: npt.NDArray[np.int64] = BAR_END_MINUTES * 60 * 1_000_000_000


def bar_end(day: date, bar: int) -> datetime:
    """End time of bar ``bar`` (0..239) on ``day``."""
    minutes = int(BAR_END_MINUTES[bar])
    return datetime.combine(day, time(minutes // 60, minutes % 60))


@dataclass(frozen=True, slots=True)
class MarketMoment:
    """State of the market clock.

    Attributes:
        day: the trading day the market state belongs to.
        bar: index of the last minute bar that has happened (-1: none yet today).
        trading: continuous trading is on (orders may fill).
        dt: timestamp of quotes (the virtual moment in ``always-open`` mode).
        phase: the trading phase (``CONTINUOUS`` whenever ``trading``).
        cancel_allowed: cancels are refused 09:20-09:25 and 14:57-15:00.
    """

    day: date
    bar: int
    trading: bool
    dt: datetime
    phase: Phase = Phase.CONTINUOUS
    cancel_allowed: bool = True

    @property
    def open_auction_done(self) -> bool:
        """The opening call auction of ``day`` has happened (09:25 passed)."""
        return self.phase not in (Phase.CALL_AUCTION, Phase.CLOSED) or self.bar >= 0

    @property
    def close_auction_done(self) -> bool:
        """The closing call auction of ``day`` has happened (15:00 passed)."""
        return self.phase is Phase.CLOSED and self.bar == BARS_PER_DAY - 1


def always_open_moment(now: datetime, calendar: TradingCalendar) -> MarketMoment:
    """Map any clock time onto an open market (see module docstring)."""
    day = calendar.latest_trading_day(now.date())
    bar = (now.hour * 60 + now.minute) % BARS_PER_DAY
    return MarketMoment(day=day, bar=bar, trading=True, dt=bar_end(day, bar))


def real_moment(now: datetime, calendar: TradingCalendar) -> MarketMoment:
    """The real trading day and minute at ``now`` (see module docstring)."""
    today = now.date()
    if not calendar.is_trading_day(today):
        day = calendar.previous_trading_day(today)
        return MarketMoment(day, BARS_PER_DAY - 1, False, now, Phase.CLOSED)
    midnight = datetime.combine(today, time())
    minutes = (now - midnight) / timedelta(minutes=1)
    if minutes < _MORNING_OPEN:
        return _before_open(today, minutes, now)
    if minutes < _MORNING_CLOSE:
        bar = int(minutes - _MORNING_OPEN) - 1
        return MarketMoment(today, bar, True, now)
    if minutes < _AFTERNOON_OPEN:
        return MarketMoment(today, 119, False, now, Phase.LUNCH)
    if minutes < _CLOSING_AUCTION:
        bar = 120 + int(minutes - _AFTERNOON_OPEN) - 1
        return MarketMoment(today, bar, True, now)
    if minutes < _AFTERNOON_CLOSE:
        return MarketMoment(today, 236, False, now, Phase.CLOSING_AUCTION, cancel_allowed=False)
    return MarketMoment(today, BARS_PER_DAY - 1, False, now, Phase.CLOSED)


def _before_open(today: date, minutes: float, now: datetime) -> MarketMoment:
    if minutes < _AUCTION_OPEN:
        return MarketMoment(today, -1, False, now, Phase.CLOSED)
    if minutes < _AUCTION_MATCH:
        allowed = minutes < _AUCTION_NO_CANCEL
        return MarketMoment(today, -1, False, now, Phase.CALL_AUCTION, cancel_allowed=allowed)
    return MarketMoment(today, -1, False, now, Phase.PRE_OPEN)


def market_moment(mode: str, now: datetime, calendar: TradingCalendar) -> MarketMoment:
    """Dispatch on ``SimConfig.clock_mode`` (``replay`` behaves like ``real``)."""
    if mode == "always-open":
        return always_open_moment(now, calendar)
    return real_moment(now, calendar)
