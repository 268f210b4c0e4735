"""Acceptance tests of issue 6 over real loopback servers: exactly-once orders across a lost
reply and across server restarts, replay of missed events, and the kill switch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lossy_proxy import Proxy

from bullet_trade.adapters.sim import SimBrokerAdapter, build_sim_backend
from bullet_trade.client import AsyncConnection, AsyncRemoteBroker
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig
from bullet_trade.errors import OrderRejected, SubmitUnknown, TradingHalted
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import AccountConfig, Order, PlaceOrder
from bullet_trade.server.app import QmtServer
from bullet_trade.server.journal.codec import remark_tag
from bullet_trade.wire.messages import Event

pytestmark = pytest.mark.e2e

TOKEN = "tok"
ACCOUNTS = (AccountConfig(key="main", account_id="111"),)
TRADING_MOMENT = datetime(2026, 11, 24, 10, 0)


class Exchange:
    """One simulated broker that outlives the servers started in front of it."""

    def __init__(self, runtime: Path) -> None:
        self.accounts = ACCOUNTS
        self.runtime = runtime
        self.clock = ManualClock(TRADING_MOMENT)
        self.sim = SimConfig(clock_mode="real")
        self.data, broker = build_sim_backend(self.sim, list(ACCOUNTS), self.clock)
        assert isinstance(broker, SimBrokerAdapter)
        self.broker = broker

    async def serve(self, broker: Any = None) -> QmtServer:
        config = ServerConfig(
            listen="127.0.0.1", port=0, token=TOKEN, accounts=self.accounts,
            runtime_dir=self.runtime, sim=self.sim, trade_max_wait=2.0, access_log=False,
        )
        server = QmtServer(config, data=self.data, broker=broker or self.broker, clock=self.clock)
        await server.start()
        return server


class Hanging:
    """Broker wrapper: the orders named in ``plan`` hang, before or after reaching the
    broker — what a crash between the journal's intent and the broker's answer looks like."""

    def __init__(self, inner: SimBrokerAdapter, plan: dict[str, str]) -> None:
        self._inner = inner
        self._plan = plan
        self.hung = 0
        self.all_hung = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        mode = self._plan.get(command.idempotency_key or "", "ok")
        if mode == "after":
            await self._inner.place_order(account_key, command)
        if mode != "ok":
            self.hung += 1
            if self.hung == sum(1 for m in self._plan.values() if m != "ok"):
                self.all_hung.set()
            await asyncio.Event().wait()
        return await self._inner.place_order(account_key, command)


@pytest.fixture
def exchange(tmp_path: Path) -> Exchange:
    return Exchange(tmp_path / "runtime")


def _client(port: int, **kw: Any) -> AsyncConnection:
    config = ClientConfig(port=port, token=TOKEN, rpc_timeout=10.0)
    return AsyncConnection(config, extensions=("events.v1",), **kw)


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Any]]:
    things: list[Any] = []
    yield things
    for thing in reversed(things):
        await (thing.close() if isinstance(thing, AsyncConnection) else thing.stop())


async def test_lost_reply_retry_returns_the_original_order(
    exchange: Exchange, cleanup: list[Any]
) -> None:
    server = await exchange.serve()
    proxy = await Proxy(server.port).start()
    conn = _client(proxy.port)
    cleanup += [server, proxy, conn]
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main")
    proxy.drop_reply_to("broker.place_order")
    reply = await broker.buy("000001.XSHE", 100, idempotency_key="net-1")
    assert proxy.dropped.is_set()  # the first reply was lost; this one answers the re-send
    orders = await exchange.broker.orders("main")
    assert [o.order_id for o in orders] == [reply["order_id"]]
    assert orders[0].remark.startswith(remark_tag("main", "net-1"))


async def test_restart_mid_submission_every_order_exactly_once(
    exchange: Exchange, cleanup: list[Any]
) -> None:
    keys = [f"L{i}-a" for i in range(24)]
    plan = {k: ("after" if i % 3 == 0 else "before" if i % 4 == 1 else "ok")
            for i, k in enumerate(keys)}
    first = await exchange.serve(Hanging(exchange.broker, plan))
    conn = _client(first.port)
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main", submit_retries=0)
    results = asyncio.gather(
        *(broker.buy("000001.XSHE", 100, idempotency_key=k) for k in keys),
        return_exceptions=True,
    )
    await asyncio.wait_for(exchange_hung(first, plan), 5)
    await first.stop()  # the "crash": hung submissions never record an outcome
    outcomes = dict(zip(keys, await results, strict=True))
    await conn.close()
    unknown = {k for k, o in outcomes.items() if isinstance(o, SubmitUnknown)}
    assert unknown >= {k for k, m in plan.items() if m != "ok"}
    assert all(isinstance(outcomes[k], dict) for k in set(keys) - unknown)

    second = await exchange.serve()  # same runtime dir: reconciles the journal at start
    conn = _client(second.port)
    cleanup += [second, conn]
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main", submit_retries=0)
    known: dict[int, str] = {}
    for i, key in enumerate(keys):
        try:
            reply = await broker.buy("000001.XSHE", 100, idempotency_key=key)
        except OrderRejected as exc:
            assert exc.reason == "not_submitted" and plan[key] != "after"
            reply = await broker.buy("000001.XSHE", 100, idempotency_key=f"L{i}-b")
        known[i] = reply["order_id"]
        status = await broker.get_order_status(idempotency_key=key)
        assert status.get("order_id") in (None, reply["order_id"])
    at_broker = await exchange.broker.orders("main")
    assert sorted(o.order_id for o in at_broker) == sorted(known.values())
    assert len(at_broker) == len(keys)


async def exchange_hung(server: QmtServer, plan: dict[str, str]) -> None:
    broker = server.state.broker
    assert isinstance(broker, Hanging)
    await broker.all_hung.wait()


async def test_reconnecting_client_replays_missed_events_exactly_once(
    exchange: Exchange, cleanup: list[Any]
) -> None:
    server = await exchange.serve()
    proxy = await Proxy(server.port).start()
    watcher, trader = _client(proxy.port), _client(server.port)
    cleanup += [server, proxy, watcher, trader]
    seen: list[int] = []
    target = asyncio.Event()
    goal = [0]

    def record(event: Event) -> None:
        assert event.seq is not None
        seen.append(event.seq)
        if event.seq >= goal[0] > 0:
            target.set()

    for name in ("order", "trade", "account"):
        watcher.add_event_listener(name, record)
    await watcher.connect()
    await trader.connect()
    broker = AsyncRemoteBroker(trader, account_key="main")
    filled = asyncio.Event()
    trader_seqs: list[int] = []
    trader.add_event_listener("account", lambda e: trader_seqs.append(e.seq or 0))
    await broker.buy("000001.XSHE", 100)
    proxy.cut()  # the watcher misses everything from here on
    for _ in range(3):
        await broker.buy("000002.XSHE", 100)
    trader.add_event_listener("account", lambda e: filled.set())
    await broker.buy("600000.XSHG", 100)
    await asyncio.wait_for(filled.wait(), 5)
    goal[0] = max([*trader_seqs, trader.last_seq or 0])
    await watcher.ensure_connected(base_delay=0.01)
    await asyncio.wait_for(target.wait(), 5)
    assert seen == list(range(seen[0], seen[-1] + 1))  # in order, no gap, no repeat
    assert watcher.last_seq == seen[-1] >= goal[0]


async def test_kill_switch_cancels_rejects_and_survives_restart(
    exchange: Exchange, cleanup: list[Any]
) -> None:
    server = await exchange.serve()
    conn = _client(server.port)
    cleanup += [conn]
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main")
    quote = await exchange.data.quote(parse_security("000001.XSHE"))
    resting = await broker.buy("000001.XSHE", 100, round(quote.low_limit + 0.01, 2))
    halted = await conn.request("admin.halt", {"account_key": "main", "reason": "test"})
    assert halted["canceled"] == [resting["order_id"]]
    with pytest.raises(TradingHalted):
        await broker.buy("000001.XSHE", 100)
    await conn.close()
    await server.stop()
    server = await exchange.serve()
    conn = _client(server.port)
    cleanup += [server, conn]
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main")
    with pytest.raises(TradingHalted):
        await broker.buy("000001.XSHE", 100)
    assert (await conn.request("admin.resume", {"account_key": "main"}))["was_halted"]
    assert (await broker.buy("000001.XSHE", 100))["order_id"]


async def test_retry_of_a_placed_order_is_answered_even_when_halted(
    exchange: Exchange, cleanup: list[Any]
) -> None:
    """A client that lost the reply must learn its order exists, not be told to stop."""
    server = await exchange.serve()
    conn = _client(server.port)
    cleanup += [server, conn]
    await conn.connect()
    broker = AsyncRemoteBroker(conn, account_key="main")
    first = await broker.buy("000001.XSHE", 100, idempotency_key="k-halt")
    await conn.request("admin.halt", {"account_key": "main", "reason": "test"})
    again = await broker.buy("000001.XSHE", 100, idempotency_key="k-halt")
    assert again["order_id"] == first["order_id"]
    with pytest.raises(TradingHalted):
        await broker.buy("000001.XSHE", 100, idempotency_key="k-new")
    orders = await broker.orders("main")
    assert [o.order_id for o in orders] == [first["order_id"]]
