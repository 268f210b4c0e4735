"""One running strategy: the backends, the strategy thread and the per-run state.

The JoinQuant API reaches the session through :data:`bullet_trade.jq.binding.CURRENT_SESSION`.
Methods marked *strategy thread* block and must not be called on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.jq.objects import GlobalBag, Order, Settings
from bullet_trade.live.bridge import StrategyThread
from bullet_trade.live.config import LiveConfig
from bullet_trade.live.context import Context
from bullet_trade.live.orders import OrderBook
from bullet_trade.live.planner import OrderIntent
from bullet_trade.live.portfolio import Portfolio
from bullet_trade.live.runstate import RunStateStore
from bullet_trade.live.schedule import JobRegistry
from bullet_trade.live.state import GStore
from bullet_trade.live.ticks import TickFeed
from bullet_trade.live.trading import submit_intent
from bullet_trade.model.clock import Clock
from bullet_trade.model.codes import Security
from bullet_trade.model.records import BrokerEvent, OrderUpdated, Quote

T = TypeVar("T")
log = logging.getLogger(__name__)


class LiveSession:
    """State of one live run. Create it on the event loop thread."""

    def __init__(
        self, *, broker: Broker, data: DataProvider, clock: Clock, account_key: str,
        runtime_dir: Path, config: LiveConfig,
    ) -> None:
        self.broker = broker
        self.data = data
        self.clock = clock
        self.account_key = account_key
        self.config = config
        self.runtime_dir = runtime_dir
        self.thread = StrategyThread(asyncio.get_running_loop(), config.call_timeout)
        self.registry = JobRegistry()
        self.g = GlobalBag()
        self.settings = Settings()
        self.book = OrderBook(account_key)
        self.gstore = GStore(runtime_dir / config.g_file)
        self.state_store = RunStateStore(runtime_dir / config.state_file)
        self.state = self.state_store.load()
        self.ticks = TickFeed(data, config.max_subscriptions)
        self.messages: list[str] = []
        self.context = Context(self, clock.now())
        self._portfolio: Portfolio | None = None
        self._portfolio_at = clock.now()
        self._stale = True
        self._quotes: dict[Security, Quote] = {}
        self._closed = False
        broker.add_listener(self._on_broker_event)

    # ------------------------------------------------------------------ event loop side

    def _on_broker_event(self, event: BrokerEvent) -> None:
        if self._closed:
            return
        if isinstance(event, OrderUpdated) and event.order.account_key != self.account_key:
            return
        self.book.on_event(event)
        self._stale = True

    def begin_moment(self, when: datetime) -> None:
        """A new scheduled moment: strategy time moves, caches expire."""
        self.context.current_dt = when
        self._quotes.clear()
        self._stale = True

    def mark_portfolio_stale(self) -> None:
        self._stale = True

    async def refresh_portfolio(self) -> Portfolio:
        """Fetch the account from the broker and rebuild ``context.portfolio``."""
        snapshot = await self.broker.account(self.account_key)
        self._portfolio = Portfolio(snapshot, self.state.starting_cash)
        self.state.starting_cash = self._portfolio.starting_cash
        self._portfolio_at = self.clock.now()
        self._stale = False
        return self._portfolio

    async def quote(self, security: Security) -> Quote:
        """Current quote, cached for the current moment."""
        cached = self._quotes.get(security)
        if cached is None:
            cached = await self.data.quote(security)
            self._quotes[security] = cached
        return cached

    def cached_quote(self, security: Security) -> Quote | None:
        """The newest pushed tick of a subscribed security, else the quote cached for the
        current moment (``None`` when neither exists)."""
        return self.ticks.latest(security) or self._quotes.get(security)

    async def submit(self, intent: OrderIntent) -> Order | None:
        return await submit_intent(self, intent)

    def save(self) -> None:
        """Persist ``g`` and ``live_state.json`` (today's broker order ids included)."""
        self.gstore.save(self.g.snapshot())
        ours = [o.order_id for o in self.book.today() if self.book.at_broker(o)]
        self.state.order_ids = list(dict.fromkeys([*self.state.order_ids, *ours]))
        self.state.subscriptions = [s.jq for s in self.ticks.securities]
        self.state_store.save(self.state)

    def close(self) -> None:
        """Stop reacting to broker events, drop tick subscriptions, stop the strategy thread."""
        self._closed = True
        self.broker.remove_listener(self._on_broker_event)
        self.ticks.unsubscribe()
        self.thread.close()

    # ------------------------------------------------------------------ strategy thread side

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """*Strategy thread*: run ``coro`` on the loop and wait for it."""
        return self.thread.call(coro)

    def portfolio(self) -> Portfolio:
        """*Strategy thread*: the portfolio, refreshed from the broker when a broker event or
        an order made it stale, at each new moment, and when it is older than
        ``LiveConfig.portfolio_max_age`` seconds of clock time (a long callback)."""
        age = (self.clock.now() - self._portfolio_at).total_seconds()
        if self._stale or self._portfolio is None or age > self.config.portfolio_max_age:
            return self.call(self.refresh_portfolio())
        return self._portfolio
