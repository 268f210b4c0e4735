"""Per-account order + cancel rate guard: token bucket per account, RATE_LIMITED with
retry_after, and nothing journaled or sent when refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, T0, FakeBroker, FakeSession

from bullet_trade.config import ServerConfig
from bullet_trade.errors import RateLimited
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.server.order_guard import OrderRateGuard
from bullet_trade.server.reliability import Reliability

ORDER = {"account_key": "main", "security": "000001.XSHE", "amount": 100,
         "style": {"type": "limit", "price": 10.0}, "wait_timeout": 0}


def test_bucket_per_account_with_burst_and_refill() -> None:
    now = [0.0]
    guard = OrderRateGuard(rate=2.0, burst=3, clock=lambda: now[0])
    for _ in range(3):
        guard.check("main", "broker.place_order")
    with pytest.raises(RateLimited) as info:
        guard.check("main", "broker.place_order")
    assert info.value.retry_after == 0.5 and info.value.field == "account_key"
    guard.check("hedge", "broker.place_order")  # another account has its own bucket
    now[0] = 0.5
    guard.check("main", "broker.cancel_order")
    disabled = OrderRateGuard(rate=0, burst=1)
    for _ in range(100):
        disabled.check("main", "broker.place_order")


@pytest.fixture
async def served(tmp_path: Path) -> Any:
    config = ServerConfig(token="t", accounts=ACCOUNTS, runtime_dir=tmp_path,
                          order_rate_limit=0.001, order_rate_burst=3)
    broker = FakeBroker()
    state = ServerState(config=config, clock=ManualClock(T0), data=None, broker=broker,
                        server_instance="i")
    reliability = Reliability(config)
    table = build_action_table(state, reliability)
    await reliability.open(broker)

    async def call(action: str, payload: dict[str, Any]) -> Any:
        ctx = RequestContext(state=state, session=FakeSession(), request_id=1, action=action)
        return await table[action].handler(ctx, payload)

    yield call, broker, reliability
    await reliability.close()


async def test_orders_and_cancels_share_the_account_budget_and_refusals_leave_no_trace(
    served: Any,
) -> None:
    call, broker, reliability = served
    first = await call("broker.place_order", {**ORDER, "idempotency_key": "k1"})
    await call("broker.place_order", {**ORDER, "idempotency_key": "k2"})
    await call("broker.cancel_order", {"account_key": "main", "order_id": first["order_id"],
                                       "wait_timeout": 0})
    with pytest.raises(RateLimited) as info:
        await call("broker.place_order", {**ORDER, "idempotency_key": "k3"})
    assert info.value.retry_after is not None and info.value.retry_after > 0
    with pytest.raises(RateLimited):
        await call("broker.cancel_order", {"account_key": "main", "order_id": "o2"})
    assert len(broker.place_calls) == 2 and len(broker.cancel_calls) == 1
    keys = [row.idem_key for row in await reliability.journal.intents()]
    assert keys == ["k1", "k2"]  # the refused order was never journaled
    # another account is not affected
    await call("broker.place_order", {**ORDER, "account_key": "hedge", "idempotency_key": "h"})
