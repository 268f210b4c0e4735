"""The example strategies, end to end, on the simulated exchange's replay clock.

Each strategy runs twice from the same moment: in-process on the simulator (``--broker sim``)
and through a local server over TCP (``--broker qmt-remote``). The trades are asserted exactly
(the simulator is deterministic) and must be identical on both paths.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from e2e_kit import TOKEN

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.cli.demo_cmd import run_demo
from bullet_trade.cli.live_cmd import LIVE_EXTENSIONS, remote_backends
from bullet_trade.config import SimConfig
from bullet_trade.live.runner import LiveResult, run_live
from bullet_trade.model.clock import SteppedClock
from bullet_trade.model.enums import OrderStatus
from bullet_trade.model.records import AccountConfig

STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"
START = datetime(2025, 6, 3, 9, 0)  # Tuesday: Monday 2 June 2025 was a holiday

Trade = tuple[str, str, str, int]  # (date, code, BUY/SELL, filled shares)

EXPECTED: dict[str, tuple[int, list[Trade]]] = {
    "demo_strategy.py": (2, [
        ("2025-06-03", "000001.XSHE", "BUY", 100), ("2025-06-03", "510300.XSHG", "BUY", 100),
        ("2025-06-03", "518880.XSHG", "BUY", 1000),
        ("2025-06-04", "000001.XSHE", "BUY", 100), ("2025-06-04", "510300.XSHG", "BUY", 100),
        ("2025-06-04", "518880.XSHG", "BUY", 1000), ("2025-06-04", "000001.XSHE", "SELL", 100),
    ]),
    "buy_and_hold_etf.py": (3, [("2025-06-03", "510300.XSHG", "BUY", 134300)]),
    # 24 days, so that crossovers both ways happen in the simulated June 2025
    "ma_crossover.py": (24, [
        ("2025-06-03", "000001.XSHE", "BUY", 7300), ("2025-06-03", "600036.XSHG", "BUY", 2400),
        ("2025-06-17", "000001.XSHE", "SELL", 7300), ("2025-06-25", "000001.XSHE", "BUY", 7200),
        ("2025-06-25", "600036.XSHG", "SELL", 2400),
    ]),
    "weekly_rebalance.py": (8, [
        ("2025-06-03", "510300.XSHG", "BUY", 80600), ("2025-06-03", "510500.XSHG", "BUY", 52400),
        ("2025-06-03", "000001.XSHE", "BUY", 21900), ("2025-06-09", "510300.XSHG", "SELL", 700),
        ("2025-06-09", "000001.XSHE", "SELL", 100), ("2025-06-09", "510500.XSHG", "BUY", 900),
    ]),
}


def trades_of(result: LiveResult) -> list[Trade]:
    return [(o.add_time.date().isoformat(), o.security, "BUY" if o.is_buy else "SELL", o.filled)
            for o in result.orders]


async def run_on_sim(name: str, runtime_dir: Path, days: int) -> LiveResult:
    clock = SteppedClock(START)
    data, broker = build_sim_backend(
        SimConfig(clock_mode="real"), [AccountConfig(key="main", account_id="sim-1")], clock)
    return await run_live(STRATEGIES / name, broker=broker, data=data, clock=clock,
                          account_key="main", runtime_dir=runtime_dir, max_days=days)


def g_of(runtime_dir: Path) -> dict[str, Any]:
    import pickle

    return pickle.loads((runtime_dir / "g.pkl").read_bytes())


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_strategy_on_the_simulator(name: str, tmp_path: Path) -> None:
    days, expected = EXPECTED[name]
    result = await run_on_sim(name, tmp_path / "rt", days)
    assert result.stop_reason == "max_days" and len(result.trading_days) == days
    assert result.callback_errors == 0
    assert trades_of(result) == expected
    assert all(o.status is OrderStatus.FILLED for o in result.orders)


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_strategy_through_qmt_remote(name: str, tmp_path: Path) -> None:
    days, expected = EXPECTED[name]
    result = await run_demo(STRATEGIES / name, tmp_path, days, start=START)
    assert result.callback_errors == 0
    assert trades_of(result) == expected


async def test_ma_crossover_orders_follow_its_signals(tmp_path: Path) -> None:
    result = await run_on_sim("ma_crossover.py", tmp_path / "rt", EXPECTED["ma_crossover.py"][0])
    signals = g_of(tmp_path / "rt")["signals"]
    acted = [(day, code, "BUY" if action == "buy" else "SELL")
             for day, code, ma5, ma20, action in signals if action != "none"]
    assert acted == [(d, c, s) for d, c, s, _ in trades_of(result)]
    for _day, _code, ma5, ma20, action in signals:
        assert action != "buy" or ma5 > ma20
        assert action != "sell" or ma5 < ma20
    sells = [o for o in result.orders if not o.is_buy]
    assert all(o.add_time.date() > result.orders[0].add_time.date() for o in sells)  # T+1


async def test_weekly_rebalance_targets(tmp_path: Path) -> None:
    result = await run_on_sim("weekly_rebalance.py", tmp_path / "rt", 8)
    rebalances = g_of(tmp_path / "rt")["rebalances"]
    assert [day for day, _ in rebalances] == ["2025-06-03", "2025-06-09"]  # 1st trading day
    target = rebalances[-1][1]
    for position in result.account.positions:
        value = position.amount * position.last_price
        assert abs(value - target) < 0.05 * target, position.security.jq


@pytest.mark.e2e
async def test_live_connection_negotiates_events_and_fast_history(sim_server: Any) -> None:
    """The live runner's one connection asks for the broker event stream and the columnar
    history encoding; history decoded from it is the contract's frame."""
    from bullet_trade.client import AsyncRemoteProvider
    from bullet_trade.model.codes import parse_security
    from bullet_trade.model.records import HistoryQuery

    async with remote_backends({}, host="127.0.0.1", port=sim_server.port, token=TOKEN,
                               account_key="main") as (data, _broker, key):
        assert isinstance(data, AsyncRemoteProvider) and key == "main"
        assert set(data.connection.extensions) >= set(LIVE_EXTENSIONS)
        frame = await data.history(HistoryQuery(security=parse_security("000001.XSHE"),
                                                frequency="1d", count=5))
        assert list(frame.columns[:6]) == ["open", "close", "high", "low", "volume", "money"]
        assert len(frame) == 5 and frame.index.name == "time"


@pytest.mark.e2e
async def test_remote_broker_listeners_can_be_removed(sim_server: Any) -> None:
    from bullet_trade.model.codes import parse_security
    from bullet_trade.model.enums import OrderType, Side
    from bullet_trade.model.records import BrokerEvent, OrderUpdated, PlaceOrder

    kept: asyncio.Queue[BrokerEvent] = asyncio.Queue()
    removed: list[BrokerEvent] = []
    async with remote_backends({}, host="127.0.0.1", port=sim_server.port, token=TOKEN,
                               account_key="main") as (_data, broker, key):
        broker.add_listener(removed.append)
        broker.add_listener(kept.put_nowait)
        broker.remove_listener(removed.append)
        broker.remove_listener(removed.append)  # idempotent
        command = PlaceOrder(security=parse_security("000001.XSHE"), side=Side.BUY, amount=100,
                             order_type=OrderType.MARKET)
        placed = await broker.place_order(key, command)
        while True:  # the kept listener sees the order's update...
            event = await asyncio.wait_for(kept.get(), 10)
            if isinstance(event, OrderUpdated) and event.order.order_id == placed.order_id:
                break
        assert removed == []  # ...the removed one saw nothing
        broker.remove_listener(kept.put_nowait)
