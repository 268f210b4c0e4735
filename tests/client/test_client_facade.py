"""Sync facades: the fake server runs on its own LoopThread so the test thread can block."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fake_qmt_server import FakeServer, routes

from bullet_trade.client import RemoteQmtBroker, RemoteQmtProvider
from bullet_trade.client.loop import LoopThread
from bullet_trade.errors import AuthFailed, RequestTimeout

TABLE: dict[str, Any] = {
    "broker.account": {"dtype": "dict", "value": {"account_id": "1", "available_cash": 9.0}},
    "broker.positions": [{"security": "000001.XSHE", "amount": 100}],
    "broker.place_order": lambda f: {"order_id": "o-1", "status": "submitted",
                                     "key": f["payload"]["idempotency_key"]},
    "broker.cancel_order": {"dtype": "dict", "value": True},
    "data.history": {"dtype": "dataframe", "columns": ["time", "close"],
                     "records": [["2025-01-02 15:00:00", 10.0]]},
    "data.subscribe": {"count": 1},
    "data.unsubscribe": {"count": 0},
}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    host = LoopThread("fake-server")
    srv = FakeServer(routes(TABLE))
    host.run(srv.__aenter__())
    try:
        yield srv
    finally:
        host.run(srv.__aexit__(None, None, None))
        host.close()


def test_broker_facade_round_trip(server: FakeServer, make_config) -> None:
    baseline = threading.active_count()
    with RemoteQmtBroker(make_config(server.port, account_key="main")) as broker:
        assert broker.is_connected()
        assert broker.get_account_info()["account_id"] == "1"
        assert broker.get_positions()[0]["amount"] == 100
        reply = broker.buy("000001.XSHE", 100, 10.0)
        assert reply["order_id"] == "o-1" and reply["key"].startswith("bt-")
        assert broker.cancel_order("o-1") is True
    assert threading.active_count() == baseline
    assert server.received[0]["payload"]["account_key"] == "main"


def test_auth_failure_leaves_no_thread(server: FakeServer, make_config) -> None:
    baseline = threading.active_count()
    broker = RemoteQmtBroker(make_config(server.port, token="wrong"))
    with pytest.raises(AuthFailed):
        broker.connect()
    assert threading.active_count() == baseline
    assert not broker.is_connected()
    broker.close()


def test_config_from_environment(server: FakeServer, monkeypatch) -> None:
    monkeypatch.setenv("QMT_SERVER_TOKEN", "secret")
    monkeypatch.setenv("QMT_SERVER_PORT", str(server.port))
    monkeypatch.setenv("QMT_SERVER_ACCOUNT_KEY", "envacct")
    broker = RemoteQmtBroker(rpc_timeout=3.0)
    assert broker.config.port == server.port and broker.config.rpc_timeout == 3.0
    try:
        broker.get_positions()  # connects lazily
        assert server.received[-1]["payload"]["account_key"] == "envacct"
    finally:
        broker.close()


def test_provider_facade_ticks_run_off_the_loop(server: FakeServer, make_config) -> None:
    got = threading.Event()
    threads: list[str] = []

    def on_tick(tick: dict[str, Any]) -> None:
        threads.append(threading.current_thread().name)
        got.set()

    with RemoteQmtProvider(make_config(server.port)) as provider:
        frame = provider.get_price("000001.XSHE", count=1)
        assert frame.index.name == "time" and frame["close"].tolist() == [10.0]
        assert server.received[0]["payload"]["panel"] is True
        provider.subscribe_ticks(["000001.XSHE"], on_tick)
        session = server.sessions[0]
        asyncio.run_coroutine_threadsafe(
            session.event("tick", {"symbol": "000001.XSHE", "last_price": 1.0}), server.loop
        ).result(2)
        assert got.wait(2)
        provider.unsubscribe_ticks()
    assert threads[0].startswith("bullet-trade-data-callbacks")


def test_loop_thread_run_timeout_and_close() -> None:
    baseline = threading.active_count()
    loop = LoopThread("t")
    assert loop.run(asyncio.sleep(0, result=5)) == 5
    with pytest.raises(RequestTimeout):
        loop.run(asyncio.sleep(10), timeout=0.05)

    async def inner() -> None:
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            loop.run(coro)

    loop.run(inner())
    loop.close()
    assert not loop.alive
    with pytest.raises(RuntimeError):
        loop.run(asyncio.sleep(0))
    assert threading.active_count() == baseline

