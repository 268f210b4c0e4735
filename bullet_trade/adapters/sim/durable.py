"""The simulated broker in durable mode: it acknowledges only what is on disk.

:class:`DurableSimBroker` is a :class:`~.broker.SimBrokerAdapter` over a durable
:class:`~.sqlite_store.SqliteStore` (``synchronous=FULL``). Like a real exchange, whatever it
acknowledges survives a crash of the process (SIGKILL, power loss after the fsync):

* ``place_order`` / ``cancel_order`` return only after the changes they made (the accepted or
  refused order, the frozen cash, an immediate fill, the cancel) are committed;
* every event reaches the listeners only after the change it reports is committed, in the
  order the broker emitted them (fills of the matching loop included);
* queries and ``match_now`` return only after the state they report is committed.

The waits run in the store's writer thread and are awaited through futures, so the event loop
never blocks on the disk; concurrent orders share one commit (group commit).

If the store can no longer write, commands and queries raise
:class:`~.sqlite_store.StoreWriteFailed` (the server journals a placement as ``unknown`` and
reconciles it later); events keep flowing.

:func:`build_sim_broker` picks the broker for a configuration and state file.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

from bullet_trade.adapters.contracts import BrokerListener
from bullet_trade.adapters.sim.broker import SimBrokerAdapter
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.adapters.sim.sqlite_store import SqliteStore
from bullet_trade.adapters.sim.state import MemoryStore
from bullet_trade.config import SimConfig
from bullet_trade.model.records import (
    AccountConfig,
    AccountSnapshot,
    BrokerEvent,
    CancelResult,
    Order,
    PlaceOrder,
    Position,
    Trade,
)
from bullet_trade.model.rules import FeeSchedule

T = TypeVar("T")


class DurableSimBroker(SimBrokerAdapter):
    """:class:`SimBrokerAdapter` whose answers and events describe committed state only.

    Args:
        market / config / accounts / fees: as for :class:`SimBrokerAdapter`.
        store: the broker's store; it must be durable (``SqliteStore(..., durable=True)``).

    Raises:
        ValueError: ``store`` is not durable.
    """

    def __init__(
        self,
        market: SimMarket,
        config: SimConfig,
        accounts: Sequence[AccountConfig],
        *,
        store: SqliteStore,
        fees: FeeSchedule | None = None,
    ) -> None:
        if not store.durable:
            raise ValueError("DurableSimBroker needs a store opened with durable=True")
        super().__init__(market, config, accounts, fees=fees, store=store)
        self._durable = store
        self._gates: dict[BrokerListener, BrokerListener] = {}

    async def _committed(self, value: T) -> T:
        """``value`` once everything saved so far (including what it describes) is on disk."""
        await self._durable.commit()
        return value

    # ------------------------------------------------------------------ commands

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        """As :meth:`SimBrokerAdapter.place_order`; returns once the order is on disk.

        Raises:
            StoreWriteFailed: accepted in memory but not durable (the outcome is unknown).
        """
        return await self._committed(await super().place_order(account_key, command))

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        """As :meth:`SimBrokerAdapter.cancel_order`; returns once the cancel is on disk."""
        return await self._committed(await super().cancel_order(account_key, order_id))

    async def match_now(self) -> int:
        """One matching pass; returns once its fills are on disk and their events delivered."""
        return await self._committed(await super().match_now())

    # ------------------------------------------------------------------ queries

    async def account(self, account_key: str) -> AccountSnapshot:
        return await self._committed(await super().account(account_key))

    async def positions(self, account_key: str) -> list[Position]:
        return await self._committed(await super().positions(account_key))

    async def orders(self, account_key: str) -> list[Order]:
        return await self._committed(await super().orders(account_key))

    async def trades(self, account_key: str) -> list[Trade]:
        return await self._committed(await super().trades(account_key))

    async def order(self, account_key: str, order_id: str) -> Order | None:
        return await self._committed(await super().order(account_key, order_id))

    # ------------------------------------------------------------------ events

    def add_listener(self, listener: BrokerListener) -> None:
        """Call ``listener`` with each event once the change it reports is on disk."""
        gate = self._gates.get(listener)
        if gate is None:
            gate = self._gates[listener] = partial(_deliver_later, self._durable, listener)
        super().add_listener(gate)

    def remove_listener(self, listener: BrokerListener) -> None:
        super().remove_listener(self._gates.pop(listener, listener))


def _deliver_later(store: SqliteStore, listener: BrokerListener, event: BrokerEvent) -> None:
    store.after_commit(partial(listener, event))


def build_sim_broker(
    market: SimMarket,
    config: SimConfig,
    accounts: Sequence[AccountConfig],
    state_path: Path | None,
) -> SimBrokerAdapter:
    """The simulated broker: in memory without ``state_path``; else over a
    :class:`SqliteStore` at that path, durable (:class:`DurableSimBroker`) when
    ``config.durable`` and in fast mode otherwise."""
    if state_path is None:
        store = MemoryStore(accounts, config.initial_cash)
        return SimBrokerAdapter(market, config, accounts, store=store)
    sqlite = SqliteStore(state_path, accounts, config.initial_cash, durable=config.durable)
    if config.durable:
        return DurableSimBroker(market, config, accounts, store=sqlite)
    return SimBrokerAdapter(market, config, accounts, store=sqlite)
