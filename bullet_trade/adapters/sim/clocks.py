"""Clock and calendar of the simulated exchange, from its configuration.

``real`` and ``always-open`` use the clock they are given; ``replay`` runs an
:class:`~bullet_trade.model.clock.AcceleratedClock` from ``SimConfig.replay_start`` at
``SimConfig.replay_speed`` times real time (a date alone starts at 09:15, the opening call
auction). Extra holidays (read by the composition root) take precedence over the library's
calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from bullet_trade.config import SimConfig
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import AcceleratedClock, Clock

_AUCTION_START = (9, 15)


def replay_start(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` (09:15 that day) or an ISO datetime.

    Raises:
        ValueError: neither form.
    """
    moment = datetime.fromisoformat(text)
    if len(text.strip()) <= 10:  # a date alone
        moment = moment.replace(hour=_AUCTION_START[0], minute=_AUCTION_START[1])
    return moment


def sim_clock(config: SimConfig, base: Clock) -> Clock:
    """The simulator's clock: ``base``, or an accelerated replay clock in ``replay`` mode.

    Raises:
        ValueError: ``replay`` mode without ``replay_start``.
    """
    if config.clock_mode != "replay":
        return base
    if config.replay_start is None:
        raise ValueError("the replay clock needs a start: set --sim-replay-start DATE")
    return AcceleratedClock(replay_start(config.replay_start), config.replay_speed)


def sim_calendar(clock: Clock, extra_holidays: Iterable[date] = ()) -> TradingCalendar:
    """The XSHG calendar with ``extra_holidays``, "today" taken from ``clock``."""
    return TradingCalendar(extra_holidays=extra_holidays, today=lambda: clock.now().date())
