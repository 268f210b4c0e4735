"""The events.v1 stream under sub-accounts: journaled with their sub-account, pushed only to
sessions allowed to see them, replayed with the same filter; older journals are migrated."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, T0, FakeBroker, FakeSession

from bullet_trade.config import ServerConfig, SubAccountConfig, TokenGrant
from bullet_trade.errors import Forbidden, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountSnapshot,
    PlaceOrder,
    Trade,
    TradeExecuted,
)
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.events import EventHub, EventScope, scope_for
from bullet_trade.server.handlers.events import events_handler
from bullet_trade.server.journal import Journal
from bullet_trade.server.subaccounts import SubAccountBook, parse_sub_accounts
from bullet_trade.wire.messages import Event

SUBS = {
    "demo": SubAccountConfig(name="demo", parent="main"),
    "free": SubAccountConfig(name="free", parent="main"),
}
DEMO_TOKEN = TokenGrant(name="demo", token="d" * 16, sub_accounts=frozenset({"demo"}))
HEDGE_TOKEN = TokenGrant(name="hedge", token="h" * 16, accounts=frozenset({"hedge"}))


@dataclass(eq=False)
class Sink:
    """A session as the hub sees it."""

    sub_account_id: str | None = None
    grant: TokenGrant | None = None
    got: list[Event] = field(default_factory=list)

    def push_event(self, event: Event) -> None:
        self.got.append(event)


@dataclass
class World:
    broker: FakeBroker
    book: SubAccountBook
    hub: EventHub
    journal: Journal

    async def place(self, key: str, sub: str | None) -> str:
        command = PlaceOrder(security=parse_security("000001.XSHE"), side=Side.BUY, amount=100,
                             order_type=OrderType.LIMIT, price=10.0, idempotency_key=key)
        if sub is not None:
            await self.book.reserve(SUBS[sub], key, command, 10.0)
        order = await self.broker.place_order("main", command)
        if sub is not None:
            await self.book.bind("main", key, order)
        return order.order_id

    def fill(self, order_id: str) -> None:
        trade = Trade(trade_id=f"t-{order_id}", order_id=order_id, account_key="main",
                      security=parse_security("000001.XSHE"), side=Side.BUY, amount=100,
                      price=10.0, time=T0)
        for listener in list(self.broker._listeners):
            listener(TradeExecuted(trade=trade))
        self.broker.update("main", order_id, OrderStatus.FILLED, filled=100, avg_fill_price=10.0)
        account = AccountSnapshot(account_key="main", account_id="111", account_type="STOCK",
                                  available_cash=1.0, frozen_cash=0.0)
        for listener in list(self.broker._listeners):
            listener(AccountChanged(account=account))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    journal = Journal(tmp_path / "journal.sqlite3")
    await journal.open()
    broker = FakeBroker()
    book = SubAccountBook(SUBS, lambda: date(2025, 1, 2), journal)
    broker.add_listener(book.on_event)  # as the server does: the book listens first
    hub = EventHub(journal)
    hub.attribute_with(book.attribute)
    await hub.start(broker)
    yield World(broker, book, hub, journal)
    await hub.close()
    await book.close()
    await journal.close()


def kinds(events: list[Event]) -> list[tuple[str, str | None]]:
    return [(e.event, e.payload.get("sub_account_id")) for e in events]


async def test_pushes_are_filtered_by_sub_account_and_token(world: World) -> None:
    parent, demo, by_token, free, hedge = (Sink(), Sink("demo"), Sink(grant=DEMO_TOKEN),
                                           Sink("free@main"), Sink(grant=HEDGE_TOKEN))
    for sink in (parent, demo, by_token, free, hedge):
        world.hub.attach(sink)
    mine = await world.place("k1", "demo")
    other = await world.place("k2", None)
    world.fill(mine)
    world.fill(other)
    await world.hub.flush()
    assert kinds(parent.got) == [("trade", "demo"), ("order", "demo"), ("account", None),
                                 ("trade", None), ("order", None), ("account", None)]
    # only its own order/trade events, and no snapshot of the parent's account
    assert kinds(demo.got) == kinds(by_token.got) == [("trade", "demo"), ("order", "demo")]
    assert all(e.payload["order_id"] == mine for e in demo.got)
    assert free.got == [] and hedge.got == []


async def test_replay_uses_the_same_filter(world: World) -> None:
    mine = await world.place("k1", "demo")
    world.fill(mine)
    world.fill(await world.place("k2", "free"))
    await world.hub.flush()
    everything = await world.hub.replay(0, 100)
    assert len(everything) == 6
    demo = await world.hub.replay(0, 100, scope_for(None, "demo"))
    assert kinds(demo) == [("trade", "demo"), ("order", "demo")]
    assert [e.seq for e in await world.hub.replay(demo[0].seq or 0, 1, scope_for(DEMO_TOKEN, None))
            ] == [demo[1].seq]  # the limit counts only what the scope admits
    assert await world.hub.replay(0, 100, scope_for(DEMO_TOKEN, "free")) == []  # fail closed
    assert await world.hub.replay(0, 100, EventScope(accounts=frozenset({"hedge"}))) == []


async def test_broker_events_handler_scopes_the_replay(world: World) -> None:
    world.fill(await world.place("k1", "demo"))
    world.fill(await world.place("k2", None))
    await world.hub.flush()
    config = ServerConfig(token="t", accounts=ACCOUNTS,
                          sub_accounts=parse_sub_accounts("demo@main,free@main"))
    state = ServerState(config=config, clock=ManualClock(T0), broker=world.broker, data=None,
                        server_instance="i")
    handler = events_handler(world.hub)

    async def call(payload: dict[str, Any], sub: str | None = None,
                   grant: TokenGrant | None = None) -> Any:
        ctx = RequestContext(state=state, session=FakeSession(None, sub), request_id=1,
                             action="broker.events", grant=grant)
        return await handler(ctx, payload)

    assert len((await call({}))["events"]) == 6
    assert len((await call({}, sub="demo"))["events"]) == 2
    assert len((await call({"sub_account_id": "demo"}))["events"]) == 2
    assert len((await call({}, grant=DEMO_TOKEN))["events"]) == 2
    with pytest.raises(Forbidden):
        await call({"sub_account_id": "free"}, grant=DEMO_TOKEN)
    with pytest.raises(UnknownAccount):
        await call({"sub_account_id": "ghost"})


async def test_an_older_journal_gains_the_sub_account_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
               "account_key TEXT, payload TEXT NOT NULL, ts REAL NOT NULL)")
    db.execute("INSERT INTO events (kind, account_key, payload, ts) VALUES ('order','main','{}',1)")
    db.commit()
    db.close()
    journal = Journal(path)
    await journal.open()
    try:
        assert await journal.append_events([("order", "main", "{}")], ["demo"]) == [2]
        rows = await journal.events_since(0, 10)
        assert [(r.seq, r.sub_account) for r in rows] == [(1, None), (2, "demo")]
        assert [r.seq for r in await journal.events_since(0, 10, subs=frozenset({"demo"}))] == [2]
    finally:
        await journal.close()
