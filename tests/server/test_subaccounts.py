"""Sub-accounts through the action table: routing, quota (atomic, released, trued up) and
what a sub-account sees. In-memory book; persistence is covered in test_subaccounts_book.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, T0, FakeBroker, FakeData, FakeSession

from bullet_trade.config import ServerConfig
from bullet_trade.errors import OrderRejected, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, Side
from bullet_trade.model.records import Trade
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.server.subaccounts import parse_sub_accounts

SUBS = "demo@main:limit=2000,free@main,hs@hedge"


def buy(price: float | None = 10.0, amount: int = 100, **extra: Any) -> dict[str, Any]:
    style = {"type": "limit", "price": price} if price is not None else {"type": "market"}
    return {"security": "000001.XSHE", "side": "BUY", "amount": amount, "style": style,
            "wait_timeout": 0, **extra}


class Sub:
    """Calls actions as a session whose handshake named ``account`` / ``sub``."""

    def __init__(self, broker: FakeBroker, data: Any = "fake", rate: float = 0) -> None:
        config = ServerConfig(token="t", accounts=ACCOUNTS, sub_accounts=parse_sub_accounts(SUBS),
                              order_rate_limit=rate)
        self.broker = broker
        self.state = ServerState(config=config, clock=ManualClock(T0), broker=broker,
                                 data=FakeData() if data == "fake" else data, server_instance="i")
        self.table = build_action_table(self.state)

    async def __call__(self, action: str, payload: dict[str, Any], *, sub: str | None = None,
                       account: str | None = None) -> Any:
        ctx = RequestContext(state=self.state, session=FakeSession(account, sub), request_id=1,
                             action=action)
        return await self.table[action].handler(ctx, payload)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def s(broker: FakeBroker) -> Sub:
    return Sub(broker)


@pytest.mark.parametrize(
    ("payload", "handshake"),
    [
        ({"sub_account_id": "ghost"}, None),  # not configured: never routed anywhere
        ({"sub_account_id": "ghost@main"}, None),  # v1 routed this to main silently
        ({"sub_account_id": "demo@hedge"}, None),  # demo belongs to main
        ({"sub_account_id": "demo", "account_key": "hedge"}, None),
        ({}, "ghost"),
    ],
)
async def test_unconfigured_or_mismatched_sub_account_is_unknown(
    s: Sub, payload: dict[str, Any], handshake: str | None
) -> None:
    with pytest.raises(UnknownAccount) as info:
        await s("broker.orders", payload, sub=handshake)
    assert info.value.field == "sub_account_id"


async def test_routing_rules(s: Sub, broker: FakeBroker) -> None:
    placed = await s("broker.place_order", buy(), sub="demo@main")
    assert placed["sub_account_id"] == "demo" and broker.place_calls[-1][0] == "main"
    # naming the parent keeps the handshake's sub-account (no way around its quota)
    kept = await s("broker.place_order", buy(account_key="main"), sub="demo")
    assert kept["sub_account_id"] == "demo"
    # naming another account is a plain request there: the handshake sub-account does not apply
    other = await s("broker.place_order", buy(account_key="hedge"), sub="demo")
    assert "sub_account_id" not in other and broker.place_calls[-1][0] == "hedge"
    # "default" resolves like an account key; the sub-account's parent decides the account
    assert (await s("broker.orders", {"sub_account_id": "demo@default"}))[0]["account_key"] == "main"
    hs = await s("broker.place_order", buy(sub_account_id="hs"), account="hedge")
    assert hs["sub_account_id"] == "hs" and broker.place_calls[-1][0] == "hedge"
    assert placed["order_remark"].split()[1] == "@demo"


async def test_quota_is_cumulative_released_on_cancel_and_trued_up(
    s: Sub, broker: FakeBroker
) -> None:
    first = await s("broker.place_order", buy(), sub="demo")
    await s("broker.place_order", buy(), sub="demo")  # 2 × 1000 = the whole 2000 quota
    with pytest.raises(OrderRejected) as info:
        await s("broker.place_order", buy(price=1.0), sub="demo")
    assert info.value.reason == "sub_account_quota" and info.value.field == "sub_account_id"
    with pytest.raises(OrderRejected) as sell:  # demo holds nothing of its own to sell
        await s("broker.place_order", buy(side="SELL"), sub="demo")
    assert sell.value.reason == "sub_account_position"
    await s("broker.place_order", buy(price=99.0), sub="free")  # no limit
    broker.update("main", first["order_id"], OrderStatus.CANCELED)  # releases 1000
    third = await s("broker.place_order", buy(price=9.0), sub="demo")  # 900
    broker.update("main", third["order_id"], OrderStatus.FILLED, filled=100, avg_fill_price=9.5)
    value = (await s("broker.account", {}, sub="demo"))["value"]
    assert value["quota_used"] == 1000.0 + 950.0  # open 1000 + filled 950
    assert value["quota_available"] == 50.0 and value["quota_limit"] == 2000.0
    assert value["available_cash"] == 50.0  # capped by the quota


async def test_concurrent_orders_cannot_jointly_exceed_the_quota(
    s: Sub, broker: FakeBroker
) -> None:
    broker.gate = asyncio.Event()  # every submission parks inside the broker
    tasks = [asyncio.create_task(s("broker.place_order", buy(idempotency_key=f"r{i}"),
                                   sub="demo")) for i in range(6)]
    await asyncio.wait_for(broker.submitted.wait(), 2)
    for _ in range(20):
        await asyncio.sleep(0)  # let every request reach its quota check
    broker.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    accepted = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, OrderRejected)]
    assert len(accepted) == 2 and len(refused) == 4 and len(broker.place_calls) == 2
    assert all(r.reason == "sub_account_quota" for r in refused)


async def test_retry_with_the_same_key_does_not_reserve_twice(s: Sub) -> None:
    await s("broker.place_order", buy(price=20.0, idempotency_key="same"), sub="demo")
    await s("broker.place_order", buy(price=20.0, idempotency_key="same"), sub="demo")
    assert (await s("broker.account", {}, sub="demo"))["value"]["quota_used"] == 2000.0


async def test_market_orders_reserve_at_the_protective_price_or_are_refused(
    broker: FakeBroker,
) -> None:
    s = Sub(broker)
    await s("broker.place_order", buy(price=None, amount=100), sub="demo")
    # last 10.5 → protective price min(10.5 × 1.015, cage 10.71, limit 11.55) = 10.65 on tick
    assert (await s("broker.account", {}, sub="demo"))["value"]["quota_used"] == 1065.0
    blind = Sub(FakeBroker(), data=None)
    with pytest.raises(OrderRejected) as info:
        await blind("broker.place_order", buy(price=None), sub="demo")
    assert info.value.reason == "quota_price_unknown"


async def test_a_sub_account_sees_only_its_own_orders_and_trades(
    s: Sub, broker: FakeBroker
) -> None:
    mine = await s("broker.place_order", buy(), sub="demo")
    other = await s("broker.place_order", buy(), sub="free")
    parent = await s("broker.place_order", buy())
    ids = {r["order_id"] for r in await s("broker.orders", {}, sub="demo")}
    assert ids == {mine["order_id"]}
    assert len(await s("broker.orders", {})) == 3  # the parent sees everything
    assert await s("broker.order_status", {"order_id": other["order_id"]}, sub="demo") == {}
    status = await s("broker.order_status", {"order_id": mine["order_id"]}, sub="demo")
    assert status["sub_account_id"] == "demo"
    canceled = await s("broker.cancel_order", {"order_id": parent["order_id"]}, sub="demo")
    assert canceled["value"] is False and "last_snapshot" not in canceled
    assert broker.cancel_calls == []
    broker.trade_rows = [_trade("t1", mine["order_id"], 100, 10.0),
                         _trade("t2", other["order_id"], 100, 10.0)]
    trades = await s("broker.trades", {}, sub="demo")
    assert [t["trade_id"] for t in trades] == ["t1"] and trades[0]["sub_account_id"] == "demo"


async def test_positions_come_from_the_sub_accounts_fills(s: Sub, broker: FakeBroker) -> None:
    bought = await s("broker.place_order", buy(amount=200), sub="free")
    broker.update("main", bought["order_id"], OrderStatus.FILLED, filled=200, avg_fill_price=10.0)
    assert isinstance(s.state.clock, ManualClock)
    await s.state.clock.advance(timedelta(days=1))  # T+1: yesterday's buys may be sold
    sold = await s("broker.place_order", buy(side="SELL", amount=100, price=11.0), sub="free")
    broker.update("main", sold["order_id"], OrderStatus.FILLED, filled=100, avg_fill_price=11.0)
    again = await s("broker.place_order", buy(amount=100), sub="free")
    broker.update("main", again["order_id"], OrderStatus.FILLED, filled=100, avg_fill_price=13.0)
    await s("broker.place_order", buy(amount=100), sub="demo")  # open only: no position
    rows = await s("broker.positions", {}, sub="free")
    assert [(r["security"], r["amount"], r["avg_cost"], r["sub_account_id"]) for r in rows] == [
        ("000001.XSHE", 200, 11.0, "free")
    ]
    assert rows[0]["closeable_amount"] == 100  # today's 100 are not closeable (T+1)
    assert await s("broker.positions", {}, sub="demo") == []
    text = (await s("admin.print_account", {}, sub="free"))["value"]
    assert "free" in text and "000001.XSHE" in text


def _trade(trade_id: str, order_id: str, amount: int, price: float) -> Trade:
    return Trade(trade_id=trade_id, order_id=order_id, account_key="main",
                 security=parse_security("000001.XSHE"), side=Side.BUY, amount=amount,
                 price=price, time=T0)
