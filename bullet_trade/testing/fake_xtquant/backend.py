"""The qmt adapters wired to a fake exchange: for tests, demos and ``BT_FAKE_XTQUANT=1``."""

from __future__ import annotations

from collections.abc import Sequence

from bullet_trade.adapters.qmt import Backoff, QmtBrokerAdapter, QmtDataAdapter, build_qmt_backend
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import AccountConfig
from bullet_trade.testing.fake_xtquant import install, uninstall
from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

FAKE_DATA_PATH = r"C:\国金QMT交易端\userdata_mini"


def build_fake_qmt_backend(
    sim: SimConfig,
    accounts: Sequence[AccountConfig],
    clock: Clock,
    *,
    tick_interval: float | None = None,
    backoff: Backoff | None = None,
    call_timeout: float = 5.0,
) -> tuple[FakeExchange, QmtDataAdapter, QmtBrokerAdapter]:
    """Install the fake ``xtquant`` (process-wide, left installed) over a new exchange that
    knows ``accounts``, and build the qmt adapters on it. :func:`remove_fake` undoes it."""
    market = SimMarket(sim, clock)
    exchange = FakeExchange(market, [a.account_id for a in accounts], tick_interval=tick_interval)
    exchange.saved_modules = install(exchange)
    data, broker = build_qmt_backend(
        accounts, data_path=FAKE_DATA_PATH, clock=clock,
        backoff=backoff or Backoff(initial=0.01, maximum=0.1), call_timeout=call_timeout,
    )
    return exchange, data, broker


def remove_fake(exchange: FakeExchange) -> None:
    """Uninstall the fake installed by :func:`build_fake_qmt_backend` and stop its threads."""
    uninstall(exchange.saved_modules)
    exchange.close()
