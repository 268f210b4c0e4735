"""The handlers over the simulated exchange (ManualClock): a whole trading round trip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, FakeSession, make_ctx, make_state

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import OrderRejected, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.context import ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.wire.envelopes import payload_to_dataframe

NOW = datetime(2025, 1, 2, 10, 0, 0)  # a Thursday, continuous trading


class Sim:
    def __init__(self) -> None:
        self.clock = ManualClock(NOW)
        data, broker = build_sim_backend(SimConfig(), ACCOUNTS, self.clock)
        self.broker = broker
        self.state: ServerState = make_state(data=data, broker=broker)
        self.table = build_action_table(self.state)

    async def __call__(self, action: str, payload: dict[str, Any]) -> Any:
        return await self.table[action].handler(
            make_ctx(self.state, action, FakeSession()), payload
        )


@pytest.fixture
def sim() -> Sim:
    return Sim()


async def test_round_trip(sim: Sim) -> None:
    live = await sim("data.live_current", {"security": "000001.XSHE"})
    assert live["low_limit"] < live["last_price"] < live["high_limit"] and live["paused"] is False

    filled = await sim(
        "broker.place_order",
        {
            "account_key": "main",
            "security": "000001.SZ",
            "amount": 100,
            "side": "BUY",
            "style": {"type": "limit", "price": live["high_limit"]},
            "idempotency_key": "sim-1",
        },
    )
    assert (filled["status"], filled["filled"], filled["timed_out"], filled["async_tracking"]) == (
        "filled",
        100,
        False,
        False,
    )
    assert filled["security"] == "000001.XSHE" and filled["idempotency_key"] == "sim-1"

    resting = await sim(
        "broker.place_order",
        {"security": "000001.XSHE", "amount": 200, "price": live["low_limit"], "wait_timeout": 0},
    )
    assert (resting["status"], resting["timed_out"], resting["async_tracking"]) == (
        "open",
        False,
        True,
    )

    canceled = await sim("broker.cancel_order", {"order_id": resting["order_id"]})
    assert (canceled["value"], canceled["status"], canceled["timed_out"]) == (
        True,
        "canceled",
        False,
    )
    assert canceled["last_snapshot"]["order_id"] == resting["order_id"]
    again = await sim("broker.cancel_order", {"order_id": resting["order_id"]})
    assert (again["value"], again["status"]) == (False, "canceled")

    orders = await sim("broker.orders", {"account_key": "default"})
    assert [o["status"] for o in orders] == ["filled", "canceled"]
    assert [o["order_id"] for o in await sim("broker.orders", {"status": "cancelled"})] == [
        resting["order_id"]
    ]
    trades = await sim("broker.trades", {"order_id": filled["order_id"]})
    assert len(trades) == 1 and trades[0]["amount"] == 100
    status = await sim("broker.order_status", {"order_id": filled["order_id"]})
    assert status["status"] == "filled" and status["security"] == "000001.XSHE"
    account = await sim("broker.account", {})
    assert [p["security"] for p in account["value"]["positions"]] == ["000001.XSHE"]
    assert account["positions"][0]["amount"] == 100
    repeat = await sim(
        "broker.place_order",
        {
            "account_key": "main",
            "security": "000001.XSHE",
            "amount": 100,
            "side": "BUY",
            "style": {"type": "limit", "price": live["high_limit"]},
            "idempotency_key": "sim-1",
        },
    )
    assert repeat["order_id"] == filled["order_id"]
    assert len(await sim("broker.orders", {})) == 2


async def test_sim_rejection_and_unknown_account(sim: Sim) -> None:
    with pytest.raises(OrderRejected) as info:
        await sim("broker.place_order", {"security": "000001.XSHE", "amount": 150, "price": 10.0})
    assert info.value.reason == "bad_lot"
    with pytest.raises(UnknownAccount):
        await sim("broker.positions", {"account_key": "nobody"})


async def test_sim_history_and_calendar(sim: Sim) -> None:
    out = await sim("data.history", {"security": "600000.XSHG", "count": 5, "frequency": "daily"})
    frame = payload_to_dataframe(out)
    assert list(frame.columns) == ["open", "close", "high", "low", "volume", "money"]
    assert len(frame) == 5 and frame.index.is_monotonic_increasing
    assert frame.index[-1].date() <= NOW.date()
    days = await sim("data.trade_days", {"count": 2, "end": "2025-01-02"})
    assert days == {"dtype": "list", "values": ["2024-12-31", "2025-01-02"]}
    minute = await sim(
        "data.history",
        {
            "security": ["600000.XSHG", "000001.XSHE"],
            "count": 3,
            "frequency": "1m",
            "fields": ["close"],
            "panel": False,
        },
    )
    assert minute["columns"] == ["time", "code", "close"] and len(minute["records"]) == 6
