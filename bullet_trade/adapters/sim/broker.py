"""``SimBrokerAdapter``: the :class:`~bullet_trade.adapters.contracts.Broker` of the simulated
exchange. Matching (limit orders at the last price under a per-bar volume share, market
orders walking the 5-level book, call auctions), the order of events and the day roll are
described in ``docs/simulator.md``. Every change is handed to the store; with a
:class:`~.sqlite_store.SqliteStore` it survives a restart, and :meth:`SimBrokerAdapter.stop`
flushes and closes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import date, timedelta

from bullet_trade.adapters.contracts import BrokerListener
from bullet_trade.adapters.sim import auction, book, fills
from bullet_trade.adapters.sim.auction import Auction
from bullet_trade.adapters.sim.capacity import Capacity
from bullet_trade.adapters.sim.faults import FaultInjector
from bullet_trade.adapters.sim.market import DayState, SimMarket
from bullet_trade.adapters.sim.session import MarketMoment
from bullet_trade.adapters.sim.state import AccountState, MemoryStore, OrderState
from bullet_trade.adapters.sim.tasks import spawn
from bullet_trade.adapters.sim.validation import check_order, late_rejection
from bullet_trade.adapters.sim.views import account_snapshot
from bullet_trade.config import SimConfig
from bullet_trade.errors import OrderRejected
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    CancelResult,
    Order,
    OrderUpdated,
    PlaceOrder,
    Position,
    Trade,
    TradeExecuted,
)
from bullet_trade.model.rules import FeeSchedule, tick_size

logger = logging.getLogger(__name__)


class SimBrokerAdapter:
    """Simulated broker over a :class:`SimMarket` (see module docstring for the behaviour).

    Args:
        market: the market shared with the data adapter.
        config: simulator settings (initial cash, matching interval, fill ratio).
        accounts: configured accounts, each starting with ``config.initial_cash``.
        fees: fee schedule (A-share defaults).
        store: account state store; an in-memory one when omitted.
    """

    def __init__(
        self,
        market: SimMarket,
        config: SimConfig,
        accounts: Sequence[AccountConfig],
        *,
        fees: FeeSchedule | None = None,
        store: MemoryStore | None = None,
    ) -> None:
        self.market = market
        self._config = config
        self._fees = fees or FeeSchedule()
        self._store = store or MemoryStore(accounts, config.initial_cash)
        self._listeners: list[BrokerListener] = []
        known = [[*a.orders.values(), *a.past_orders.values()] for a in self._store.all()]
        # time priority resumes after a restart
        self._seq = max((o.seq for orders in known for o in orders), default=0)
        self._capacity = Capacity(config.fill_ratio)
        self._task: asyncio.Task[None] | None = None
        self._auctions_done: set[tuple[date, Auction]] = set()
        self._submits = 0
        self._faults = FaultInjector(config.faults, config.seed, market.clock, self._deliver)

    # ------------------------------------------------------------------ queries

    def accounts(self) -> list[AccountConfig]:
        return self._store.configs()

    async def account(self, account_key: str) -> AccountSnapshot:
        """Cash and positions; ``UnknownAccount`` for an unknown key."""
        await self._faults.before_call()
        return self._snapshot(self._use(account_key))

    async def positions(self, account_key: str) -> list[Position]:
        await self._faults.before_call()
        return list(self._snapshot(self._use(account_key)).positions)

    async def orders(self, account_key: str) -> list[Order]:
        await self._faults.before_call()
        return [o.snapshot() for o in self._use(account_key).orders.values()]

    async def trades(self, account_key: str) -> list[Trade]:
        await self._faults.before_call()
        return list(self._use(account_key).trades)

    async def order(self, account_key: str, order_id: str) -> Order | None:
        """The order with ``order_id`` of any trading day, or ``None``."""
        await self._faults.before_call()
        account = self._use(account_key)
        order = account.orders.get(order_id) or account.past_orders.get(order_id)
        return order.snapshot() if order is not None else None

    def add_listener(self, listener: BrokerListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: BrokerListener) -> None:
        """Stop calling ``listener`` (no error when it was not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # ------------------------------------------------------------------ commands

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        """Validate, reserve cash/shares, then try to fill at once.

        Returns:
            The order after that first matching attempt (open, filling or filled), or an
            order the exchange refused after acceptance (status 57 ``rejected`` with
            ``reason`` and ``status_msg``; see :func:`.validation.late_rejection`).

        Raises:
            UnknownAccount: unknown ``account_key``.
            OrderRejected: see :mod:`.validation` for the reasons, and ``broker_rejected``
                (fault injection); nothing is recorded.
            BackendUnavailable: disconnected (fault injection).
        """
        await self._faults.before_call()
        account = self._use(account_key)
        moment = self.market.moment()
        state = self.market.day_state(command.security, moment)
        accepted = check_order(command, account, state, moment, self._fees)
        self._submits += 1
        if self._faults.rejects(account.key, self._submits):
            raise OrderRejected("the broker refused the order (fault injection)",
                                reason="broker_rejected")
        order = self._new_order(account, command, accepted.price, moment)
        late = late_rejection(command, accepted.price, state, moment)
        if late is not None:
            fills.reject(account, order, *late)
            self._store.save(account, [order])
            self._emit(OrderUpdated(order=order.snapshot()))
            return order.snapshot()
        fills.accept(account, order, accepted.frozen_cash)
        self._store.save(account, [order])
        self._emit(OrderUpdated(order=order.snapshot()))
        self._emit(AccountChanged(account=self._snapshot(account)))
        if command.order_type is OrderType.MARKET:
            self._walk(account, order, state, rest=command.price is not None)
        else:
            self._match(account, order, moment, state)
        return order.snapshot()

    def _new_order(
        self, account: AccountState, command: PlaceOrder, price: float, moment: MarketMoment
    ) -> OrderState:
        self._seq += 1
        return OrderState(
            order_id=account.next_order_id(),
            seq=self._seq,
            account_key=account.key,
            security=command.security,
            side=command.side,
            order_type=command.order_type,
            amount=command.amount,
            price=price,
            created_at=self.market.clock.now().replace(microsecond=0),
            remark=command.remark,
            strategy_name=command.strategy_name,
            idempotency_key=command.idempotency_key,
            trading_day=moment.day,
        )

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        """Cancel the unfilled rest of an order.

        Returns:
            ``accepted=False, order=None`` for an unknown id; ``accepted=False`` with the order
            when it is already terminal or cancels are closed (09:20-09:25 and 14:57-15:00 in
            ``real`` clock mode); otherwise ``accepted=True`` with the order canceled
            (54) or partly canceled (53).

        Raises:
            BackendUnavailable: disconnected (fault injection).
        """
        await self._faults.before_call()
        account = self._use(account_key)
        order = account.orders.get(order_id)
        if order is None:
            return CancelResult(accepted=False, order=None)
        if order.status.is_terminal:
            return CancelResult(accepted=False, order=order.snapshot())
        if not self.market.moment().cancel_allowed:  # 09:20-09:25 and 14:57-15:00
            return CancelResult(accepted=False, order=order.snapshot())
        fills.cancel(account, order, "canceled by request")
        self._store.save(account, [order])
        self._emit(OrderUpdated(order=order.snapshot()))
        self._emit(AccountChanged(account=self._snapshot(account)))
        return CancelResult(accepted=True, order=order.snapshot())

    async def match_now(self) -> int:
        """One matching pass: due call auctions (see :mod:`.auction`), then every open order in
        time priority when continuous trading is on. Returns the fill count.

        The exchange keeps matching during an injected outage (its events are held)."""
        self._faults.poll()
        for account in self._store.all():
            self._roll(account)
        moment = self.market.moment()
        count = self._run_auctions(moment)
        if not moment.trading:
            return count
        pending = [
            (order, account)
            for account in self._store.all()
            for order in account.orders.values()
            if order.status.is_open
        ]
        pending.sort(key=lambda pair: pair[0].seq)
        for order, account in pending:
            state = self.market.day_state(order.security, moment)
            count += self._match(account, order, moment, state)
        return count

    # ------------------------------------------------------------------ faults

    def disconnect(self) -> None:
        """Fault injection: take the broker down until :meth:`reconnect`; every call then
        raises ``BackendUnavailable`` and listeners get ``BackendStateChanged``."""
        self._faults.disconnect()

    def reconnect(self) -> None:
        """Fault injection: end an on-demand outage; held events are then delivered."""
        self._faults.reconnect()

    def flush_events(self) -> None:
        """Deliver every event held by the delay/reorder faults now (nothing is lost)."""
        self._faults.flush()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the background matching loop: a pass at once, then one every
        ``match_interval`` clock seconds. Calling it again while running does nothing."""
        if self._task is None or self._task.done():
            self._task = spawn(self._run(), name="sim-broker-matcher")

    async def stop(self) -> None:
        """Stop the matching loop, wait for it to end, then flush and close the store (in a
        worker thread; a later change reopens it)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._faults.flush()
        await asyncio.to_thread(self._store.close)

    async def _run(self) -> None:
        clock = self.market.clock
        interval = timedelta(seconds=self._config.match_interval)
        while True:
            try:
                await self.match_now()
            except Exception:  # keep matching; the failure is logged with its traceback
                logger.exception("simulated matching pass failed")
            await clock.sleep_until(clock.now() + interval)

    # ------------------------------------------------------------------ internals

    def _use(self, account_key: str) -> AccountState:
        account = self._store.get(account_key)
        self._roll(account)
        return account

    def _roll(self, account: AccountState) -> None:
        day = self.market.moment().day
        if account.trading_day == day:
            return
        rolled = account.trading_day is not None
        expired = fills.roll_day(account) if rolled else []
        if account.trading_day is not None:
            prices = self.market.prices
            since, now = prices.day_index(account.trading_day), prices.day_index(day)
            if since is not None and now is not None:
                fills.pay_events(account, lambda s: prices.ex_events(s, since + 1, now), now)
        account.trading_day = day
        self._store.save(account, expired)
        if rolled:
            for order in expired:
                self._emit(OrderUpdated(order=order.snapshot()))
            self._emit(AccountChanged(account=self._snapshot(account)))
            logger.info("sim account %s rolled over to %s", account.key, day)

    def _match(
        self, account: AccountState, order: OrderState, moment: MarketMoment, state: DayState
    ) -> int:
        if not moment.trading or state.paused or not order.status.is_open:
            return 0
        last = self.market.prices.to_price(order.security, state.last)
        marketable = order.price >= last if order.side is Side.BUY else order.price <= last
        if not marketable:
            return 0
        volume = state.volume_now
        ratio = self._config.fill_ratio
        at_limit = state.last == (state.high_limit if order.side is Side.BUY else state.low_limit)
        if at_limit:  # queueing behind the sealed limit: only a small share reaches us
            ratio = min(ratio, self._config.limit_queue_ratio)
        slot = (state.index, moment.bar if state.ticks is None else 1000 + state.slot)
        quantity = self._capacity.take_volume(order.security, order.remaining, volume, slot,
                                              ratio)
        if quantity <= 0:
            return 0
        self._fill(account, order, quantity, last)
        return 1

    def _walk(self, account: AccountState, order: OrderState, state: DayState, *,
              rest: bool) -> None:
        """A new market order takes the opposite side of the book (see :mod:`.book`) up to
        its protective price; then the rest is canceled ("best five, remainder canceled"),
        unless the caller gave the protective price: the rest then works as a limit order at
        it (like xtquant's "best five, remainder to limit")."""
        if not state.paused:
            is_buy = order.side is Side.BUY
            bids, asks = self.market.book(order.security, state)
            limit = round(order.price / tick_size(order.security))
            slot = (state.index, state.slot)
            taken = self._capacity.book_taken(order.security, order.side, slot)
            for price, quantity in book.walk(asks if is_buy else bids, order.remaining, limit,
                                             is_buy, taken):
                self._capacity.take_book(order.security, order.side, slot, quantity)
                self._fill(account, order, quantity,
                           self.market.prices.to_price(order.security, price))
        if not rest and order.status.is_open:
            fills.cancel(account, order, "market order: remainder canceled after the best five")
            self._store.save(account, [order])
            self._emit(OrderUpdated(order=order.snapshot()))
            self._emit(AccountChanged(account=self._snapshot(account)))

    def _fill(self, account: AccountState, order: OrderState, quantity: int, price: float) -> None:
        """Book one fill, persist it and emit TradeExecuted, OrderUpdated, AccountChanged."""
        when = self.market.clock.now().replace(microsecond=0)
        trade = fills.apply_fill(account, order, quantity, price, fees=self._fees, when=when)
        account.trades.append(trade)
        self._store.save(account, [order], [trade])
        self._emit(TradeExecuted(trade=trade))
        self._emit(OrderUpdated(order=order.snapshot()))
        self._emit(AccountChanged(account=self._snapshot(account)))

    def _run_auctions(self, moment: MarketMoment) -> int:
        """Run the call auctions that are due (real/replay clock modes); returns fills."""
        if self._config.clock_mode == "always-open":
            return 0
        count = 0
        for kind in auction.due(moment, self._auctions_done):
            self._auctions_done.add((moment.day, kind))
            for order, account in auction.participants(self._store.all(), moment.day, kind):
                count += self._auction_fill(account, order, moment, kind)
        return count

    def _auction_fill(
        self, account: AccountState, order: OrderState, moment: MarketMoment, kind: Auction
    ) -> int:
        index = self.market.prices.day_index(moment.day)
        if index is None or self.market.day_state(order.security, moment).paused:
            return 0
        bars = self.market.prices.minute_bars(order.security, index)
        ticks = int(bars.open[0] if kind is Auction.OPEN else bars.close[-1])
        price = self.market.prices.to_price(order.security, ticks)
        if not auction.crosses(order, price):
            return 0
        volume = int(bars.volume[kind.bar])
        slot = (index, -1 - kind.bar)
        quantity = self._capacity.take_volume(order.security, order.remaining, volume, slot)
        if quantity <= 0:
            return 0
        self._fill(account, order, quantity, price)
        return 1

    def _snapshot(self, account: AccountState) -> AccountSnapshot:
        return account_snapshot(self.market, account)

    def _emit(self, event: BrokerEvent) -> None:
        self._faults.emit(event)

    def _deliver(self, event: BrokerEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one listener's bug must not break the broker or the others
                logger.exception("broker listener failed on %s", type(event).__name__)
