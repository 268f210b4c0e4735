"""Isolation of sub-accounts through the action table: a SELL is limited to the sub-account's
own closeable shares (reserved while open, released on cancel / reject), fees count in its
cost and quota, and a token bound to sub-accounts never acts on the parent."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, cast

import pytest
from handler_fakes import ACCOUNTS, T0, FakeBroker, FakeData, FakeSession

from bullet_trade.config import ServerConfig, TokenGrant
from bullet_trade.errors import Forbidden, OrderRejected, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, Side
from bullet_trade.model.records import BrokerEvent, Trade, TradeExecuted
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.server.handlers.halt import HaltService
from bullet_trade.server.journal.halts import HaltRegistry
from bullet_trade.server.subaccounts import parse_sub_accounts

CODE = "000001.XSHE"
ONE = TokenGrant(name="one", token="x" * 16, sub_accounts=frozenset({"demo"}))
TWO = TokenGrant(name="two", token="y" * 16, sub_accounts=frozenset({"demo", "free"}))


class Broker(FakeBroker):
    def emit(self, event: BrokerEvent) -> None:
        for listener in list(self._listeners):
            listener(event)


class Harness:
    """Calls actions as a session (handshake account / sub-account, token grant)."""

    def __init__(self, broker: Broker) -> None:
        config = ServerConfig(token="t", accounts=ACCOUNTS, order_rate_limit=0,
                              sub_accounts=parse_sub_accounts("demo@main,free@main,hs@hedge"))
        self.broker = broker
        self.clock = ManualClock(T0)
        self.state = ServerState(config=config, clock=self.clock, broker=broker,
                                 data=FakeData(), server_instance="i")
        self.table = build_action_table(self.state)

    async def __call__(self, action: str, payload: dict[str, Any], *, sub: str | None = None,
                       account: str | None = None, grant: TokenGrant | None = None) -> Any:
        ctx = RequestContext(state=self.state, session=FakeSession(account, sub), request_id=1,
                             action=action, grant=grant)
        return await self.table[action].handler(ctx, payload)

    async def order(self, side: str, amount: int, sub: str | None = "demo", **extra: Any
                    ) -> dict[str, Any]:
        payload = {"security": CODE, "side": side, "amount": amount, "wait_timeout": 0,
                   "style": {"type": "limit", "price": 10.0}, **extra}
        return dict(await self("broker.place_order", payload, sub=sub))

    async def holding(self, amount: int, sub: str = "demo") -> None:
        """Buy and fill ``amount`` today, then move to the next day (T+1 makes it closeable)."""
        placed = await self.order("BUY", amount, sub=sub)
        self.broker.update("main", placed["order_id"], OrderStatus.FILLED, filled=amount,
                           avg_fill_price=10.0)
        await self.clock.advance(timedelta(days=1))


@pytest.fixture
def h() -> Harness:
    return Harness(Broker())


async def sell_reason(h: Harness, amount: int) -> str | None:
    try:
        await h.order("SELL", amount)
    except OrderRejected as exc:
        assert exc.field == "amount"
        return exc.reason
    return None


async def test_a_sub_account_cannot_sell_the_parents_shares(h: Harness) -> None:
    await h.holding(300, sub="free")  # another sub-account's shares ...
    await h.order("BUY", 500, sub=None)  # ... and the parent's own order
    assert await sell_reason(h, 100) == "sub_account_position"
    assert len(h.broker.place_calls) == 2  # the refused sell never reached the broker
    await h.order("SELL", 300, sub="free")  # the owner may
    await h.order("SELL", 100, sub=None)  # the parent itself is not limited by the book


async def test_t_plus_one_open_sells_reserve_and_cancel_or_reject_releases(h: Harness) -> None:
    await h.holding(300)
    bought_today = await h.order("BUY", 200)
    h.broker.update("main", bought_today["order_id"], OrderStatus.FILLED, filled=200,
                    avg_fill_price=10.0)
    first = await h.order("SELL", 200)  # 300 closeable (today's 200 are not)
    assert await sell_reason(h, 200) == "sub_account_position"  # 200 reserved by `first`
    positions = await h("broker.positions", {}, sub="demo")
    assert positions[0]["amount"] == 500 and positions[0]["closeable_amount"] == 100
    h.broker.update("main", first["order_id"], OrderStatus.PARTLY_CANCELED, filled=50,
                    avg_fill_price=10.0)  # 50 sold, the other 150 released
    h.broker.reject_with = OrderRejected("no", reason="broker_rejected")
    with pytest.raises(OrderRejected) as rejected:
        await h.order("SELL", 250)
    assert rejected.value.reason == "broker_rejected"  # ... and its shares come back
    h.broker.reject_with = None
    await h.order("SELL", 250)
    with pytest.raises(OrderRejected) as info:
        await h.order("SELL", 1)
    assert info.value.reason == "sub_account_position" and info.value.field == "amount"
    assert info.value.details["closeable_amount"] == 0
    assert info.value.details["sub_account_id"] == "demo"


async def test_concurrent_sells_cannot_oversell(h: Harness) -> None:
    await h.holding(300)
    h.broker.gate = asyncio.Event()  # every submission parks inside the broker
    tasks = [asyncio.create_task(h.order("SELL", 100, idempotency_key=f"s{i}"))
             for i in range(7)]
    await asyncio.wait_for(h.broker.submitted.wait(), 2)
    for _ in range(20):
        await asyncio.sleep(0)  # let every request reach its check
    h.broker.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    refused = [r for r in results if isinstance(r, OrderRejected)]
    assert sum(isinstance(r, dict) for r in results) == 3 and len(refused) == 4
    assert all(r.reason == "sub_account_position" for r in refused)
    assert sum(1 for _, c in h.broker.place_calls if c.side is Side.SELL) == 3


async def test_fees_count_in_cost_and_quota_once_per_fill(h: Harness) -> None:
    placed = await h.order("BUY", 200)
    order_id = placed["order_id"]
    first = _trade("t1", order_id, 100, commission=5.0)
    h.broker.emit(TradeExecuted(trade=first))
    h.broker.emit(TradeExecuted(trade=first))  # a repeated fill is not counted twice
    h.broker.emit(TradeExecuted(trade=_trade("t2", order_id, 100, commission=0.5, tax=1.5)))
    h.broker.update("main", order_id, OrderStatus.FILLED, filled=200, avg_fill_price=10.0)
    value = (await h("broker.account", {}, sub="demo"))["value"]
    assert value["quota_used"] == 2007.0  # 2000 paid + 7 of fees
    assert value["positions"][0]["avg_cost"] == pytest.approx(2007.0 / 200)
    # a fill reported before its order was attributed is counted once the order is known
    next_id = f"o{len(h.broker.place_calls) + 1}"
    h.broker.emit(TradeExecuted(trade=_trade("t3", next_id, 100, commission=5.0)))
    late = await h.order("BUY", 100)
    assert late["order_id"] == next_id
    assert (await h("broker.account", {}, sub="demo"))["value"]["quota_used"] == 3012.0


async def test_a_token_bound_to_one_sub_account_acts_only_as_it(h: Harness) -> None:
    placed = await h.order("BUY", 100, sub=None)  # the parent's order
    mine = await h("broker.place_order", _buy(), grant=ONE)  # defaults to its sub-account
    assert mine["sub_account_id"] == "demo" and mine["order_remark"].split()[1] == "@demo"
    rows = await h("broker.orders", {"account_key": "main"}, grant=ONE)
    assert [r["order_id"] for r in rows] == [mine["order_id"]]  # never the parent's view
    assert await h("broker.order_status", {"order_id": placed["order_id"]}, grant=ONE) == {}
    for payload, field in (({"sub_account_id": "free"}, "sub_account_id"),
                           ({"account_key": "hedge"}, "account_key")):
        with pytest.raises(Forbidden) as info:
            await h("broker.orders", payload, grant=ONE)
        assert info.value.field == field
    with pytest.raises(Forbidden):  # handshake names another account
        await h("broker.positions", {}, account="hedge", grant=ONE)
    with pytest.raises(UnknownAccount):  # still validated like any sub-account
        await h("broker.orders", {"sub_account_id": "ghost"}, grant=ONE)


async def test_a_token_bound_to_several_sub_accounts_must_name_one(h: Harness) -> None:
    with pytest.raises(Forbidden) as info:
        await h("broker.place_order", _buy(), grant=TWO)
    assert info.value.field == "sub_account_id" and "sub_account_id" in info.value.message
    assert h.broker.place_calls == []
    placed = await h("broker.place_order", _buy(sub_account_id="free"), grant=TWO)
    assert placed["sub_account_id"] == "free"
    assert (await h("broker.account", {}, sub="demo", grant=TWO))["value"]["sub_account_id"] \
        == "demo"
    halts = HaltService(cast(HaltRegistry, None))  # refused before the registry is used
    ctx = RequestContext(state=h.state, session=FakeSession(None, "demo"), request_id=1,
                         action="admin.halt", grant=TWO)
    for action in (halts.halt, halts.resume):  # the kill switch acts on a whole account
        with pytest.raises(Forbidden) as halted:
            await action(ctx, {"account_key": "main"})
        assert halted.value.field == "sub_account_id"


def _buy(**extra: Any) -> dict[str, Any]:
    return {"security": CODE, "side": "BUY", "amount": 100, "wait_timeout": 0,
            "style": {"type": "limit", "price": 10.0}, **extra}


def _trade(trade_id: str, order_id: str, amount: int, *, commission: float = 0.0,
           tax: float = 0.0) -> Trade:
    return Trade(trade_id=trade_id, order_id=order_id, account_key="main",
                 security=parse_security(CODE), side=Side.BUY, amount=amount, price=10.0,
                 time=T0, commission=commission, tax=tax)
