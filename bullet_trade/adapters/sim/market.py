"""The simulated market: one object shared by the data adapter and the broker, so fills happen
at exactly the prices the data shows.

It combines the clock (mapped to a :class:`~.session.MarketMoment`), the trading calendar, the
deterministic :class:`~.prices.PriceModel` and the set of suspended codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bullet_trade.adapters.sim import book as book_mod
from bullet_trade.adapters.sim.intraday import BarArrays
from bullet_trade.adapters.sim.prices import PriceModel
from bullet_trade.adapters.sim.session import BARS_PER_DAY, MarketMoment, market_moment
from bullet_trade.adapters.sim.ticks import TICK_SECONDS, TICKS_PER_BAR, TickArrays
from bullet_trade.adapters.sim.universe import ORIGIN, display_name, is_st
from bullet_trade.config import SimConfig
from bullet_trade.errors import BackendUnavailable
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import Clock
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import Quote
from bullet_trade.model.rules import price_decimals, tick_size

BOOK_LEVELS = book_mod.BOOK_LEVELS


@dataclass(frozen=True, slots=True)
class DayState:
    """One security on the market's current trading day, prices in ticks.

    ``bars`` holds the minute bars that have happened today (``None`` before the first one or
    while suspended). ``ticks`` holds the 3-second ticks that have happened in the minute being
    formed (``None`` at a whole minute, outside continuous trading or while suspended); when
    present, ``last`` is the latest tick's price.
    """

    index: int
    pre_close: int
    low_limit: int
    high_limit: int
    bars: BarArrays | None
    last: int
    paused: bool
    ticks: TickArrays | None = None

    @property
    def volume_now(self) -> int:
        """Volume traded in the latest interval: the latest tick's, else the latest bar's."""
        if self.ticks is not None:
            return int(self.ticks.volume[-1])
        return int(self.bars.volume[-1]) if self.bars is not None else 0

    @property
    def slot(self) -> int:
        """Number of the latest interval of the day (bar × 20 + ticks), for volume caps."""
        bar = len(self.bars.close) if self.bars is not None else 0
        return bar * TICKS_PER_BAR + (len(self.ticks.price) if self.ticks is not None else 0)


class SimMarket:
    """Prices and market state at the clock's current moment.

    Args:
        config: simulator settings (seed, clock mode, initially suspended codes).
        clock: source of time.
        calendar: trading calendar (a default XSHG calendar when omitted).
    """

    def __init__(
        self, config: SimConfig, clock: Clock, calendar: TradingCalendar | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.calendar = calendar or TradingCalendar(today=lambda: clock.now().date())
        self.prices = PriceModel(config.seed, self.calendar)
        self._suspended: set[Security] = {parse_security(c) for c in config.suspended}

    # ------------------------------------------------------------------ state

    def moment(self) -> MarketMoment:
        """Where the market stands now.

        Raises:
            BackendUnavailable: the clock is before the first simulated day.
        """
        moment = market_moment(self.config.clock_mode, self.clock.now(), self.calendar)
        if moment.day < ORIGIN:
            raise BackendUnavailable(f"the simulated market starts on {ORIGIN}")
        return moment

    def suspend(self, security: Security) -> None:
        """Suspend trading in ``security`` (fault injection / tests)."""
        self._suspended.add(security)

    def resume(self, security: Security) -> None:
        self._suspended.discard(security)

    def is_suspended(self, security: Security) -> bool:
        return security in self._suspended

    def day_state(self, security: Security, moment: MarketMoment | None = None) -> DayState:
        """Today's state of ``security`` at ``moment`` (default: now)."""
        moment = moment or self.moment()
        index = self.prices.day_index(moment.day)
        if index is None:  # the moment's day is always a trading day on the same calendar
            raise BackendUnavailable(f"{moment.day} is not a simulated trading day")
        pre = self.prices.pre_close(security, index)
        low, high = self.prices.limits(security, index, pre)
        paused = self.is_suspended(security) or self.prices.is_suspended(security, index)
        bars: BarArrays | None = None
        last = pre
        if not paused and moment.bar >= 0:
            day = self.prices.minute_bars(security, index)
            bars = _head(day, moment.bar + 1)
            last = int(bars.close[-1])
        elif not paused and (moment.trading or moment.open_auction_done):
            last = int(self.prices.minute_bars(security, index).open[0])
        ticks = None if paused else self._forming(security, index, moment)
        if ticks is not None:
            last = int(ticks.price[-1])
        return DayState(index, pre, low, high, bars, last, paused, ticks)

    def _forming(self, security: Security, index: int, moment: MarketMoment) -> TickArrays | None:
        """The ticks so far of the minute being formed (continuous trading, 3 s or more into
        the minute), else ``None``."""
        done = min(self.clock.now().second // TICK_SECONDS, TICKS_PER_BAR - 1)
        if not moment.trading or done == 0 or moment.bar + 1 >= BARS_PER_DAY:
            return None
        ticks = self.prices.ticks(security, index, moment.bar + 1)
        return TickArrays(ticks.price[:done], ticks.volume[:done])

    def quote(self, security: Security) -> Quote:
        """Quote at the current moment: last price, limits, today's open/high/low so far."""
        moment = self.moment()
        state = self.day_state(security, moment)
        price = _pricer(security)
        if state.bars is not None:
            agg = state.bars.aggregate()
            day_open, high, low = int(agg.open), int(agg.high), int(agg.low)
            volume, money = int(agg.volume), int(agg.money) / 100.0
        else:
            day_open = high = low = state.last
            volume, money = 0, 0.0
        if state.ticks is not None:
            high = max(high, int(state.ticks.price.max()))
            low = min(low, int(state.ticks.price.min()))
            volume += int(state.ticks.volume.sum())
            money += float((state.ticks.volume * state.ticks.price).sum()) * self.prices.tick(
                security
            )
        bids, asks = self.book(security, state)
        return Quote(
            security=security,
            last_price=price(state.last),
            dt=moment.dt.replace(microsecond=0),
            high_limit=price(state.high_limit),
            low_limit=price(state.low_limit),
            pre_close=price(state.pre_close),
            day_open=price(day_open),
            high=price(high),
            low=price(low),
            volume=volume,
            money=round(money, 2),
            paused=state.paused,
            name=display_name(security),
            is_st=is_st(security),
            bids=tuple((price(t), v) for t, v in bids),
            asks=tuple((price(t), v) for t, v in asks),
        )

    def book(
        self, security: Security, state: DayState
    ) -> tuple[list[book_mod.Level], list[book_mod.Level]]:
        """(bids, asks) in ticks (see :mod:`.book`); empty while paused. Volumes come from the
        latest ticks: those of the minute being formed so far, after the latest whole
        minute's (the first minute's before the first bar)."""
        if state.paused:
            return [], []
        bar = len(state.bars.close) - 1 if state.bars is not None else 0
        recent = self.prices.ticks(security, state.index, bar).volume
        if state.ticks is not None:
            recent = np.concatenate((recent, state.ticks.volume))
        bid_volumes, ask_volumes = book_mod.depth_volumes(recent)
        limits = (state.low_limit, state.high_limit)
        return (book_mod.levels(state.last, limits, bid_volumes, -1),
                book_mod.levels(state.last, limits, ask_volumes, 1))



def _pricer(security: Security) -> Callable[[int | float], float]:
    """Ticks → price for one security (tick size and decimals looked up once per quote;
    same result as ``PriceModel.to_price``)."""
    tick, decimals = tick_size(security), price_decimals(security)
    return lambda ticks: round(float(ticks) * tick, decimals)


def _head(bars: BarArrays, n: int) -> BarArrays:
    return BarArrays(
        np.asarray(bars.open[:n]),
        np.asarray(bars.high[:n]),
        np.asarray(bars.low[:n]),
        np.asarray(bars.close[:n]),
        np.asarray(bars.volume[:n]),
        np.asarray(bars.money[:n]),
    )
