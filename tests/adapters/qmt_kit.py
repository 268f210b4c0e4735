"""Shared set-up of the qmt adapter tests: the fake xtquant over a simulator parked at 10:00
of a trading day (real clock mode, ManualClock), and an event recorder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bullet_trade.adapters.qmt import Backoff, QmtBrokerAdapter, QmtDataAdapter
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig, BrokerEvent
from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend, remove_fake
from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

MOMENT = datetime(2026, 11, 24, 10, 0)
ACCOUNTS = (AccountConfig(key="main", account_id="111"),)


@dataclass
class Kit:
    exchange: FakeExchange
    data: QmtDataAdapter
    broker: QmtBrokerAdapter
    clock: ManualClock
    events: list[BrokerEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: BrokerEvent) -> None:
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, predicate: Callable[[BrokerEvent], bool], timeout: float = 5.0) -> Any:
        """The first recorded event matching ``predicate`` (waits for it, no sleeping)."""
        async def seek() -> Any:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(seek(), timeout)


async def make_kit(*, call_timeout: float = 5.0, start: bool = True, **sim: Any) -> Kit:
    clock = ManualClock(MOMENT)
    exchange, data, broker = build_fake_qmt_backend(
        SimConfig(clock_mode="real", **sim), ACCOUNTS, clock,
        backoff=Backoff(initial=0.001, maximum=0.01), call_timeout=call_timeout,
    )
    kit = Kit(exchange, data, broker, clock)
    broker.add_listener(kit.record)
    if start:
        await data.start()
        await broker.start()
        kit.events.clear()  # forget the start-up "connected" event
    return kit


async def close_kit(kit: Kit) -> None:
    await kit.broker.stop()
    await kit.data.stop()
    remove_fake(kit.exchange)


async def kit_fixture(**options: Any) -> AsyncIterator[Kit]:
    kit = await make_kit(**options)
    try:
        yield kit
    finally:
        await close_kit(kit)
