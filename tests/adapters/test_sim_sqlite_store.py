"""Persistence of the simulated broker (``build_sim_backend(state_path=...)``)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bullet_trade.adapters.sim import SimBrokerAdapter, build_sim_backend
from bullet_trade.adapters.sim.durable import DurableSimBroker
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.adapters.sim.sqlite_store import SqliteStore, StoreWriteFailed
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    BrokerEvent,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)

WEDNESDAY = datetime(2027, 3, 17, 10, 15)
THURSDAY = datetime(2027, 3, 18, 10, 15)
PINGAN = parse_security("000001.XSHE")
BOND = parse_security("113050.XSHG")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]


def _open(path: Path, now: datetime, cash: float = 1_000_000.0,
          accounts: list[AccountConfig] = ACCOUNTS, durable: bool = True) -> SimBrokerAdapter:
    clock = ManualClock(now)
    _, broker = build_sim_backend(
        SimConfig(initial_cash=cash, durable=durable), accounts, clock, state_path=path
    )
    return broker


def _buy(amount: int, price: float | None = None) -> PlaceOrder:
    style = OrderType.MARKET if price is None else OrderType.LIMIT
    return PlaceOrder(security=PINGAN, side=Side.BUY, amount=amount, order_type=style, price=price)


async def _low_limit_price(broker: SimBrokerAdapter) -> float:
    state = broker.market.day_state(PINGAN)
    return broker.market.prices.to_price(PINGAN, state.low_limit)


@pytest.mark.parametrize("durable", [True, False], ids=["durable", "fast"])
async def test_restart_keeps_everything(tmp_path: Path, durable: bool) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY, durable=durable)
    assert isinstance(first, DurableSimBroker) is durable
    filled = await first.place_order("main", _buy(1000))
    resting = await first.place_order("main", _buy(200, await _low_limit_price(first)))
    before = (
        await first.account("main"),
        await first.orders("main"),
        await first.trades("main"),
    )
    await first.stop()

    second = _open(path, WEDNESDAY, cash=5.0, durable=durable)  # cash only seeds new accounts
    after = (
        await second.account("main"),
        await second.orders("main"),
        await second.trades("main"),
    )
    assert after == before
    assert filled.status is OrderStatus.FILLED and resting.status is OrderStatus.OPEN
    next_order = await second.place_order("main", _buy(100))
    assert next_order.order_id not in {filled.order_id, resting.order_id}
    await second.stop()


async def test_new_day_after_restart_rolls_and_keeps_past_orders(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY)
    await first.place_order("main", _buy(1000))
    resting = await first.place_order("main", _buy(200, await _low_limit_price(first)))
    await first.stop()

    second = _open(path, THURSDAY)
    assert await second.orders("main") == []  # today's orders only, as in QMT
    assert await second.trades("main") == []
    expired = await second.order("main", resting.order_id)
    assert expired is not None and expired.status is OrderStatus.CANCELED
    snap = await second.account("main")
    assert snap.frozen_cash == 0.0
    assert [(p.amount, p.closeable_amount) for p in snap.positions] == [(1000, 1000)]
    await second.stop()

    third = _open(path, THURSDAY + timedelta(minutes=5))
    again = await third.order("main", resting.order_id)
    assert again is not None and again.status is OrderStatus.CANCELED
    assert [(p.amount, p.closeable_amount) for p in (await third.positions("main"))] == [
        (1000, 1000)
    ]
    await third.stop()


async def test_new_account_gets_initial_cash(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = _open(path, WEDNESDAY)
    await first.place_order("main", _buy(100))
    spent = (await first.account("main")).available_cash
    await first.stop()
    both = [*ACCOUNTS, AccountConfig(key="alt", account_id="2")]
    second = _open(path, WEDNESDAY, cash=123_456.0, accounts=both)
    assert (await second.account("main")).available_cash == spent
    assert (await second.account("alt")).available_cash == 123_456.0
    await second.stop()


async def test_save_does_not_block_the_loop(tmp_path: Path) -> None:
    """Placing an order with persistence costs about the same as in memory: the disk work
    happens on the writer thread."""
    broker = _open(tmp_path / "state.sqlite3", WEDNESDAY, cash=1e9)
    price = await _low_limit_price(broker)
    start = time.perf_counter()
    for _ in range(200):
        await broker.place_order("main", _buy(100, price))
    per_order = (time.perf_counter() - start) / 200
    await broker.stop()
    assert per_order < 0.02  # generous bound for loaded machines; typical is well under 1 ms
    reopened = _open(tmp_path / "state.sqlite3", WEDNESDAY)
    assert len(await reopened.orders("main")) == 200
    await reopened.stop()


# ---------------------------------------------------------------------- durable mode


def _durable(path: Path, now: datetime = WEDNESDAY) -> tuple[DurableSimBroker, SqliteStore]:
    config = SimConfig(initial_cash=1e9)
    store = SqliteStore(path, ACCOUNTS, config.initial_cash, durable=True)
    market = SimMarket(config, ManualClock(now))
    return DurableSimBroker(market, config, ACCOUNTS, store=store), store


def _on_disk(path: Path, sql: str, *params: object) -> list[tuple]:
    """Rows as another process would see them (a separate connection, no flush)."""
    with closing(sqlite3.connect(path)) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


async def test_durable_acks_are_on_disk_when_they_return(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    broker, _ = _durable(path)
    filled = await broker.place_order("main", _buy(100))
    status_sql = "SELECT status, filled FROM orders WHERE order_id = ?"
    assert _on_disk(path, status_sql, filled.order_id) == [("filled", 100)]
    assert len(_on_disk(path, "SELECT 1 FROM trades WHERE order_id = ?", filled.order_id)) == 1
    resting = await broker.place_order("main", _buy(100, await _low_limit_price(broker)))
    assert _on_disk(path, status_sql, resting.order_id) == [("open", 0)]
    result = await broker.cancel_order("main", resting.order_id)
    assert result.accepted
    assert _on_disk(path, status_sql, resting.order_id) == [("canceled", 0)]
    await broker.stop()


async def test_durable_events_come_after_the_commit(tmp_path: Path) -> None:
    """Every event describes a change that is already on disk (the row may be further along:
    one commit can hold several changes), and the events keep their order."""
    path = tmp_path / "state.sqlite3"
    broker, _ = _durable(path)
    seen: list[str] = []
    missing: list[BrokerEvent] = []  # a listener's exception would only be logged

    def check(event: BrokerEvent) -> None:
        if isinstance(event, OrderUpdated):
            sql = "SELECT filled FROM orders WHERE order_id = ?"
            rows = _on_disk(path, sql, event.order.order_id)
            if not rows or rows[0][0] < event.order.filled:
                missing.append(event)
            seen.append(f"order:{event.order.status.value}")
        elif isinstance(event, TradeExecuted):
            sql = "SELECT 1 FROM trades WHERE trade_id = ?"
            if not _on_disk(path, sql, event.trade.trade_id):
                missing.append(event)
            seen.append("trade")

    broker.add_listener(check)
    await asyncio.gather(*(broker.place_order("main", _buy(100)) for _ in range(20)))
    assert missing == []
    assert seen == ["order:open", "trade", "order:filled"] * 20
    broker.remove_listener(check)
    await broker.place_order("main", _buy(100))
    assert len(seen) == 60  # removed: no more calls
    await broker.stop()


async def test_durable_group_commit_keeps_the_loop_free(tmp_path: Path) -> None:
    """While the disk is busy (another connection holds the write lock) acks wait, the event
    loop keeps running, and the waiting orders are then committed together."""
    path = tmp_path / "state.sqlite3"
    broker, store = _durable(path)
    await broker.place_order("main", _buy(100))
    price = await _low_limit_price(broker)
    before = store.transactions
    with closing(sqlite3.connect(path, isolation_level=None)) as blocker:
        blocker.execute("BEGIN IMMEDIATE")
        first = asyncio.create_task(broker.place_order("main", _buy(100, price)))
        await asyncio.sleep(0.05)  # the loop runs on; the writer is stuck on the lock
        rest = [asyncio.create_task(broker.place_order("main", _buy(100, price)))
                for _ in range(50)]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(task.done() for task in rest)
        blocker.execute("COMMIT")
        orders = await asyncio.wait_for(asyncio.gather(first, *rest), 10)
    assert len({o.order_id for o in orders}) == 51
    assert store.transactions - before <= 3  # the 50 queued acks shared a commit or two
    await broker.stop()


async def test_durable_write_failure_stops_acknowledging(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    broker, _ = _durable(path)
    await broker.place_order("main", _buy(100))
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("DROP TABLE trades")
    with pytest.raises(StoreWriteFailed):
        await broker.place_order("main", _buy(100))
    with pytest.raises(StoreWriteFailed):  # memory and disk disagree: nothing is acked any more
        await broker.orders("main")
    await broker.stop()


_KILLED_AFTER_ACK = """
import asyncio, os, signal, sys
from datetime import datetime
from pathlib import Path
from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    BrokerEvent,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)

async def main() -> None:
    _, broker = build_sim_backend(
        SimConfig(initial_cash=1e9), [AccountConfig(key="main", account_id="1")],
        ManualClock(datetime(2027, 3, 17, 10, 15)), state_path=Path(sys.argv[1]))
    buy = PlaceOrder(security=parse_security("000001.XSHE"), side=Side.BUY, amount=100,
                     order_type=OrderType.MARKET)
    for _ in range(5):
        orders = await asyncio.gather(*(broker.place_order("main", buy) for _ in range(40)))
        print(" ".join(o.order_id for o in orders), flush=True)  # the acks left the process
    os.kill(os.getpid(), signal.SIGKILL)  # no stop(), no flush: the crash right after acks

asyncio.run(main())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_process_killed_right_after_ack_keeps_every_acked_order(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    proc = subprocess.run([sys.executable, "-c", _KILLED_AFTER_ACK, str(path)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    acked = proc.stdout.split()
    assert len(acked) == 200
    on_disk = dict(_on_disk(path, "SELECT order_id, status FROM orders"))
    assert set(on_disk) == set(acked) and set(on_disk.values()) == {"filled"}
    assert len(_on_disk(path, "SELECT 1 FROM trades")) == 200
