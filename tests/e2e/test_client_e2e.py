"""The client against the real ``QmtServer`` on loopback, backed by the simulated exchange
(``sim``) or by the qmt adapters on the fake xtquant (``qmt-fake``, driven by the same
simulator). Every assertion holds for both backends; nothing here is backend-specific."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from e2e_kit import BACKENDS, build_backends

from bullet_trade.client import (
    AsyncConnection,
    AsyncRemoteBroker,
    AsyncRemoteProvider,
    RemoteQmtBroker,
    RemoteQmtProvider,
)
from bullet_trade.client.loop import LoopThread
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig
from bullet_trade.errors import AuthFailed, BulletTradeError, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    BrokerEvent,
    HistoryQuery,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)
from bullet_trade.server.app import QmtServer

pytestmark = pytest.mark.e2e

WEDNESDAY = datetime(2026, 3, 18, 10, 15)
PINGAN = parse_security("000001.XSHE")
ACCOUNTS = (AccountConfig(key="main", account_id="1"), AccountConfig(key="alt", account_id="2"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _server(backend: str, cleanup: list[Any]) -> QmtServer:
    clock = ManualClock(WEDNESDAY)
    built = build_backends(backend, SimConfig(), clock, cleanup, ACCOUNTS)
    runtime = Path(tempfile.mkdtemp(prefix="bt-e2e-"))  # a fresh order journal per server
    config = ServerConfig(
        listen="127.0.0.1", port=0, token="tok", accounts=ACCOUNTS, runtime_dir=runtime
    )
    return QmtServer(config, data=built.data, broker=built.broker, clock=clock)


@asynccontextmanager
async def _running(backend: str) -> AsyncIterator[QmtServer]:
    cleanup: list[Any] = []
    try:
        async with _server(backend, cleanup) as srv:
            yield srv
    finally:
        for undo in cleanup:
            undo()


def _config(port: int, **kw: object) -> ClientConfig:
    values: dict[str, object] = {"port": port, "token": "tok", "rpc_timeout": 10.0}
    values.update(kw)
    return ClientConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def server(backend: str) -> AsyncIterator[QmtServer]:
    async with _running(backend) as srv:
        yield srv


@pytest.fixture
async def conn(server: QmtServer) -> AsyncIterator[AsyncConnection]:
    connection = AsyncConnection(_config(server.port), extensions=("events.v1",))
    await connection.connect()
    yield connection
    await connection.close()


async def test_handshake_and_bad_token(server: QmtServer, conn: AsyncConnection) -> None:
    assert conn.session_id and conn.session_id.startswith("s")
    assert set(conn.features) == {"data", "broker"}
    assert conn.server_instance == server.state.server_instance
    bad = AsyncConnection(_config(server.port, token="nope"))
    with pytest.raises(AuthFailed):
        await bad.connect()


async def test_market_buy_then_reads(conn: AsyncConnection) -> None:
    broker = AsyncRemoteBroker(conn, account_key="main")
    reply = await broker.buy("000001.SZ", 1000)
    assert reply["order_id"]
    orders = await broker.orders("main")
    assert [o.order_id for o in orders] == [reply["order_id"]]
    assert orders[0].security == PINGAN and orders[0].side is Side.BUY
    trades = await broker.trades("main")
    assert trades and trades[0].order_id == reply["order_id"] and trades[0].side is Side.BUY
    snap = await broker.account("main")
    assert snap.account_id == "1"
    assert [p.security for p in snap.positions] == [PINGAN]
    status = await broker.get_order_status(order_id=reply["order_id"])
    assert status["order_id"] == reply["order_id"]


async def test_same_key_returns_same_order(conn: AsyncConnection) -> None:
    broker = AsyncRemoteBroker(conn, account_key="main")
    first = await broker.buy("000001.XSHE", 100, idempotency_key="e2e-key-1")
    again = await broker.buy("000001.XSHE", 100, idempotency_key="e2e-key-1")
    assert first["order_id"] == again["order_id"]
    assert len(await broker.get_orders()) == 1


async def test_limit_order_cancel_and_contract_types(conn: AsyncConnection) -> None:
    broker = AsyncRemoteBroker(conn, account_key="main")
    provider = AsyncRemoteProvider(conn)
    quote = await provider.quote(PINGAN)
    low = round(max(quote.low_limit, quote.last_price * 0.95), 2)
    command = PlaceOrder(security=PINGAN, side=Side.BUY, amount=100,
                         order_type=OrderType.LIMIT, price=low)
    order = await broker.place_order("main", command)
    assert order.status.is_open
    assert [o["order_id"] for o in await broker.get_open_orders()] == [order.order_id]
    result = await broker.cancel_order("main", order.order_id)
    assert result.accepted
    after = await broker.order("main", order.order_id)
    assert after is not None and after.status is OrderStatus.CANCELED
    with pytest.raises(UnknownAccount):
        await broker.positions("alt")


async def test_rejected_or_failing_order_is_an_error(conn: AsyncConnection) -> None:
    broker = AsyncRemoteBroker(conn, account_key="main")
    with pytest.raises(BulletTradeError):
        await broker.sell("600000.XSHG", 100)  # nothing to sell
    assert await broker.get_open_orders() == []


async def test_unknown_account_is_refused(server: QmtServer, conn: AsyncConnection) -> None:
    broker = AsyncRemoteBroker(conn, account_key="typo")
    with pytest.raises(UnknownAccount):
        await broker.get_positions()


async def test_provider_reads(conn: AsyncConnection) -> None:
    provider = AsyncRemoteProvider(conn)
    frame = await provider.history(HistoryQuery(security=PINGAN, frequency="1d", count=5,
                                                end=WEDNESDAY))
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "time"
    assert len(frame) == 5 and {"open", "close", "volume"} <= set(frame.columns)
    minute = await provider.get_price("000001.XSHE", frequency="1m", count=3,
                                      end_date=WEDNESDAY)
    assert isinstance(minute.index, pd.DatetimeIndex) and len(minute) == 3
    days = await provider.trade_days(end=date(2026, 3, 18), count=3)
    assert days[-1] == date(2026, 3, 18) and len(days) == 3
    info = await provider.security_info(PINGAN)
    assert info.security == PINGAN and info.display_name
    quote = await provider.quote(PINGAN)
    assert quote.last_price > 0 and quote.low_limit < quote.high_limit


@pytest.fixture
def threaded_server(backend: str) -> Iterator[QmtServer]:
    host = LoopThread("e2e-server")
    cleanup: list[Any] = []
    srv = host.run(_start(backend, cleanup))
    try:
        yield srv
    finally:
        host.run(srv.stop())
        host.close()
        for undo in cleanup:
            undo()


async def _start(backend: str, cleanup: list[Any]) -> QmtServer:
    srv = _server(backend, cleanup)
    await srv.start()
    return srv


def test_sync_facades(threaded_server: QmtServer) -> None:
    baseline = threading.active_count()
    config = _config(threaded_server.port, account_key="main")
    with RemoteQmtBroker(config) as broker:
        reply = broker.buy("000001.XSHE", 100)
        assert broker.get_order_status(order_id=reply["order_id"])["order_id"] == reply["order_id"]
        assert broker.get_positions()[0]["security"] == "000001.XSHE"
        assert broker.get_account_info()["account_id"] == "1"
    with RemoteQmtProvider(config) as provider:
        frame = provider.get_price("000001.XSHE", count=2, end_date=WEDNESDAY)
        assert len(frame) == 2 and isinstance(frame.index, pd.DatetimeIndex)
        assert provider.get_trade_days(count=1)
        assert provider.get_security_info("000001.XSHE")["code"] == "000001.XSHE"
        assert provider.get_current_tick("000001.XSHE")["last_price"] > 0
        assert provider.get_live_current("000001.XSHE")["high_limit"] > 0
    assert threading.active_count() == baseline


async def test_pushed_order_events_reach_broker_listeners(conn: AsyncConnection) -> None:
    if "events.v1" not in conn.extensions:
        pytest.skip("server does not grant events.v1")
    broker = AsyncRemoteBroker(conn, account_key="main")
    filled = asyncio.Event()
    seen: list[BrokerEvent] = []

    def on_event(event: BrokerEvent) -> None:
        seen.append(event)
        if isinstance(event, OrderUpdated) and event.order.status is OrderStatus.FILLED:
            filled.set()

    broker.add_listener(on_event)
    reply = await broker.buy("000001.XSHE", 100)
    await asyncio.wait_for(filled.wait(), 5)
    orders = [e.order for e in seen if isinstance(e, OrderUpdated)]
    assert orders[-1].order_id == reply["order_id"]
    assert any(isinstance(e, TradeExecuted) for e in seen)
