"""Simulated exchange: deterministic prices for any code, a trading calendar, and a broker with
A-share rules (lots, ticks, price limits, T+1, fees); broker state in memory or in SQLite.

:func:`build_sim_backend` is the entry point; the data adapter and the broker it returns share
one :class:`SimMarket`, so fills happen at the prices the data shows.

Modules: ``universe`` (names, types, price profiles), ``paths`` (vectorised daily closes),
``stretch`` (one year of a cohort of codes: the unit of generation), ``dividends`` (ex-dividend
events, ``fq`` factors), ``daily`` (daily bars, the source of truth), ``intraday`` (minute bars
derived from a daily bar), ``prices`` (caches and lookup), ``clocks`` (replay clock, extra
holidays), ``session`` (clock modes), ``market`` (state at now), ``book`` (5-level book, market
orders walking it), ``bars`` (history queries), ``ticks`` (3-second ticks derived from a minute
bar), ``data`` (DataProvider), ``state`` / ``sqlite_store`` / ``validation`` / ``fills`` /
``views`` / ``faults`` (fault injection) / ``broker`` (Broker).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bullet_trade.adapters.sim.broker import SimBrokerAdapter
from bullet_trade.adapters.sim.data import SimDataAdapter
from bullet_trade.adapters.sim.durable import build_sim_broker
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.config import SimConfig
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import AccountConfig

__all__ = ["SimBrokerAdapter", "SimDataAdapter", "SimMarket", "build_sim_backend"]


def build_sim_backend(
    config: SimConfig,
    accounts: Sequence[AccountConfig],
    clock: Clock,
    *,
    calendar: TradingCalendar | None = None,
    state_path: Path | None = None,
) -> tuple[SimDataAdapter, SimBrokerAdapter]:
    """Build the simulated data adapter and broker over one shared market.

    Args:
        config: simulator settings.
        accounts: the broker's accounts (may be empty: the broker then has none).
        clock: source of time for prices, sessions and order timestamps.
        calendar: trading calendar; by default XSHG with "today" taken from ``clock``.
        state_path: SQLite file of the broker's accounts, orders, trades and positions
            (see :mod:`.sqlite_store`; durable unless ``config.durable`` is false, see
            :mod:`.durable`); ``None`` keeps everything in memory.
    """
    market = SimMarket(config, clock, calendar)
    broker = build_sim_broker(market, config, accounts, state_path)
    return SimDataAdapter(market, config), broker
