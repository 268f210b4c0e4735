"""place_order / cancel_order: response shapes, event-driven waits, exactly-once by key."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from handler_fakes import FakeBroker, make_ctx, make_state

from bullet_trade.errors import (
    BackendUnavailable,
    IdempotencyConflict,
    OrderRejected,
    SubmitUnknown,
)
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.server.context import RequestContext, ServerState
from bullet_trade.server.handlers import build_action_table

LIMIT = {
    "account_key": "main",
    "security": "000001.XSHE",
    "side": "BUY",
    "amount": 100,
    "style": {"type": "limit", "price": 10.0},
}
TERMINAL_SET = {"filled", "canceled", "partly_canceled", "rejected"}


class Harness:
    def __init__(self, broker: FakeBroker, state: ServerState) -> None:
        self.broker = broker
        self.state = state
        self.table = build_action_table(state)
        self.contexts: list[RequestContext] = []

    async def __call__(self, action: str, payload: dict[str, Any]) -> Any:
        ctx = make_ctx(self.state, action)
        self.contexts.append(ctx)
        return await self.table[action].handler(ctx, payload)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def h(broker: FakeBroker) -> Harness:
    return Harness(broker, make_state(broker=broker))


async def test_place_limit_async_response_shape(h: Harness, broker: FakeBroker) -> None:
    out = await h(
        "broker.place_order",
        {
            **LIMIT,
            "wait_timeout": 0,
            "idempotency_key": "k1",
            "order_remark": "r1",
            "strategy_name": "demo",
        },
    )
    assert out["order_id"] == "o1" and out["status"] == "open" and out["raw_status"] == 50
    assert (out["security"], out["amount"], out["side"], out["style"], out["order_price"]) == (
        "000001.XSHE",
        100,
        "BUY",
        "limit",
        10.0,
    )
    assert (out["timed_out"], out["async_tracking"], out["wait_timeout"]) == (False, True, 0)
    assert out["requested_order_price"] == 10.0 and out["idempotency_key"] == "k1"
    # the broker remark carries the reconciliation tag, then the user's remark
    assert out["order_remark"].startswith("bt") and out["order_remark"].endswith(" r1")
    assert out["strategy_name"] == "demo"
    account, command = broker.place_calls[0]
    assert account == "main"
    assert (
        command.security.qmt,
        command.side,
        command.amount,
        command.order_type,
        command.price,
        command.remark.split(" ", 1)[1],
        command.idempotency_key,
    ) == ("000001.SZ", Side.BUY, 100, OrderType.LIMIT, 10.0, "r1", "k1")
    assert h.contexts[0].account_key == "main" and h.contexts[0].log_fields["order_id"] == "o1"


async def test_v1_client_market_payload(h: Harness, broker: FakeBroker) -> None:
    payload = {
        "account_key": "main",
        "sub_account_id": None,
        "wait_timeout": 0.0,
        "market": True,
        "security": "000001.XSHE",
        "amount": 100,
        "side": "sell",
        "style": {"type": "market"},
        "idempotency_key": "bt-place_order-" + "a" * 32,
    }
    out = await h("broker.place_order", payload)
    command = broker.place_calls[0][1]
    assert (command.order_type, command.price, command.side) == (OrderType.MARKET, None, Side.SELL)
    assert out["requested_order_price"] is None and out["style"] == "market"


@pytest.mark.parametrize(
    ("payload", "order_type", "price"),
    [
        ({"price": 9.5}, OrderType.LIMIT, 9.5),  # fallback price, default style limit
        ({"market": True, "price": 9.5}, OrderType.MARKET, 9.5),
        ({"style": {"type": "market", "protect_price": 9.8, "price": 9.7}}, OrderType.MARKET, 9.8),
        ({"style": {"type": "MarketOrderStyle", "price": 9.7}}, OrderType.MARKET, 9.7),
        (
            {"style": {"type": "limit", "price": 9.1}, "price": 9.9, "market": True},
            OrderType.LIMIT,
            9.1,
        ),
        ({"volume": 300, "amount": None, "price": 9.0}, OrderType.LIMIT, 9.0),
    ],
)
async def test_style_and_price_resolution(
    h: Harness, broker: FakeBroker, payload: dict[str, Any], order_type: OrderType, price: float
) -> None:
    await h(
        "broker.place_order",
        {"security": "000001.XSHE", "amount": 100, "wait_timeout": 0, **payload},
    )
    command = broker.place_calls[0][1]
    assert (command.order_type, command.price) == (order_type, price)
    assert command.amount == (300 if "volume" in payload else 100)


async def test_place_waits_for_the_fill_event(h: Harness, broker: FakeBroker) -> None:
    task = asyncio.create_task(h("broker.place_order", {**LIMIT, "wait_timeout": 30}))
    await broker.queried.wait()  # the waiter re-read the order after registering
    assert not task.done()
    broker.update("main", "o1", OrderStatus.FILLED, filled=100, avg_fill_price=9.99)
    out = await task
    assert (out["status"], out["raw_status"], out["filled"], out["price"]) == (
        "filled",
        56,
        100,
        9.99,
    )
    assert (out["timed_out"], out["async_tracking"], out["wait_timeout"]) == (False, False, 30)


async def test_place_times_out_with_the_last_status(h: Harness, broker: FakeBroker) -> None:
    out = await h("broker.place_order", {**LIMIT, "wait_timeout": 0.05})
    assert (out["status"], out["timed_out"], out["async_tracking"]) == ("open", True, True)


async def test_default_wait_is_trade_max_wait() -> None:
    broker = FakeBroker()
    h = Harness(broker, make_state(broker=broker, trade_max_wait=0.05))
    out = await h("broker.place_order", dict(LIMIT))
    assert (out["wait_timeout"], out["timed_out"]) == (0.05, True)


async def test_rejection_is_raised_and_logged(
    h: Harness, broker: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    broker.reject_with = OrderRejected("not enough cash", reason="insufficient_cash")
    with (
        pytest.raises(OrderRejected) as info,
        caplog.at_level(logging.INFO, "bullet_trade.server.orders"),
    ):
        await h("broker.place_order", {**LIMIT, "idempotency_key": "k-rej"})
    assert (
        info.value.to_wire()["code"] == "ORDER_REJECTED"
        and info.value.reason == "insufficient_cash"
    )
    assert "insufficient_cash" in caplog.text
    broker.reject_with = None  # a retry of the same key gets the recorded rejection
    with pytest.raises(OrderRejected):
        await h("broker.place_order", {**LIMIT, "idempotency_key": "k-rej"})
    assert len(broker.place_calls) == 1


async def test_order_log_line(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "bullet_trade.server.orders"):
        await h("broker.place_order", {**LIMIT, "wait_timeout": 0})
    lines = [r.getMessage() for r in caplog.records if r.name == "bullet_trade.server.orders"]
    assert len(lines) == 1
    for part in (
        "account=main",
        "BUY 100 000001.XSHE limit",
        "price=10",
        "order_id=o1",
        "status=open",
    ):
        assert part in lines[0]


async def test_idempotent_repeat_returns_the_same_order(h: Harness, broker: FakeBroker) -> None:
    first = await h("broker.place_order", {**LIMIT, "idempotency_key": "k1", "wait_timeout": 0})
    second = await h(
        "broker.place_order",
        {**LIMIT, "idempotency_key": "k1", "wait_timeout": 0, "order_remark": "retry"},
    )
    assert first["order_id"] == second["order_id"] == "o1"
    assert len(broker.place_calls) == 1 and len(await broker.orders("main")) == 1
    assert h.contexts[1].log_fields["replayed"] is True


async def test_same_key_other_account_is_another_order(h: Harness, broker: FakeBroker) -> None:
    await h("broker.place_order", {**LIMIT, "idempotency_key": "k1", "wait_timeout": 0})
    await h(
        "broker.place_order",
        {**LIMIT, "account_key": "hedge", "idempotency_key": "k1", "wait_timeout": 0},
    )
    assert [a for a, _ in broker.place_calls] == ["main", "hedge"]


async def test_concurrent_duplicate_awaits_the_first(h: Harness, broker: FakeBroker) -> None:
    broker.gate = asyncio.Event()
    payload = {**LIMIT, "idempotency_key": "k2", "wait_timeout": 0}
    first = asyncio.create_task(h("broker.place_order", payload))
    await broker.submitted.wait()
    second = asyncio.create_task(h("broker.place_order", payload))
    await asyncio.sleep(0)
    assert not second.done()
    broker.gate.set()
    a, b = await asyncio.gather(first, second)
    assert a["order_id"] == b["order_id"] == "o1"
    assert len(broker.place_calls) == 1


async def test_cancelled_request_still_records_the_submission(
    h: Harness, broker: FakeBroker
) -> None:
    """A request timeout cancels the handler, not the submission: a retry learns the outcome."""
    broker.gate = asyncio.Event()
    payload = {**LIMIT, "idempotency_key": "k3", "wait_timeout": 0}
    first = asyncio.create_task(h("broker.place_order", payload))
    await broker.submitted.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    broker.gate.set()
    retry = await h("broker.place_order", payload)
    assert retry["order_id"] == "o1" and len(broker.place_calls) == 1


async def test_conflicting_fingerprint(h: Harness, broker: FakeBroker) -> None:
    await h("broker.place_order", {**LIMIT, "idempotency_key": "k1", "wait_timeout": 0})
    with pytest.raises(IdempotencyConflict) as info:
        await h(
            "broker.place_order",
            {**LIMIT, "amount": 200, "idempotency_key": "k1", "wait_timeout": 0},
        )
    assert "idempotency_key" in info.value.message and "k1" in info.value.message
    assert info.value.to_wire()["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(broker.place_calls) == 1


async def test_server_makes_a_key_when_none_is_given(h: Harness, broker: FakeBroker) -> None:
    a = await h("broker.place_order", {**LIMIT, "wait_timeout": 0})
    b = await h("broker.place_order", {**LIMIT, "wait_timeout": 0})
    assert a["idempotency_key"].startswith("srv-") and a["idempotency_key"] != b["idempotency_key"]
    assert broker.place_calls[0][1].idempotency_key == a["idempotency_key"]
    assert len(broker.place_calls) == 2  # no key: two requests are two orders


async def test_backend_unavailable_is_not_recorded(h: Harness, broker: FakeBroker) -> None:
    broker.fail_with = BackendUnavailable("QMT disconnected")
    with pytest.raises(BackendUnavailable):
        await h("broker.place_order", {**LIMIT, "idempotency_key": "k4", "wait_timeout": 0})
    broker.fail_with = None
    out = await h("broker.place_order", {**LIMIT, "idempotency_key": "k4", "wait_timeout": 0})
    assert out["order_id"] == "o2" and len(broker.place_calls) == 2


async def test_unexpected_failure_becomes_submit_unknown(h: Harness, broker: FakeBroker) -> None:
    broker.fail_with = RuntimeError("socket reset")
    for _ in range(2):
        with pytest.raises(SubmitUnknown) as info:
            await h("broker.place_order", {**LIMIT, "idempotency_key": "k5", "wait_timeout": 0})
        assert info.value.to_wire()["idempotency_key"] == "k5"
    assert len(broker.place_calls) == 1


async def test_order_status_by_idempotency_key(h: Harness) -> None:
    await h("broker.place_order", {**LIMIT, "idempotency_key": "k6", "wait_timeout": 0})
    row = await h("broker.order_status", {"idempotency_key": "k6"})
    assert row["order_id"] == "o1"
    assert await h("broker.order_status", {"idempotency_key": "unknown"}) == {}


async def test_place_and_cancel_timeouts(h: Harness) -> None:
    config = h.state.config
    place, cancel = h.table["broker.place_order"], h.table["broker.cancel_order"]
    assert place.on_timeout == "SUBMIT_UNKNOWN"
    assert place.timeout is not None and cancel.timeout is not None
    assert place.timeout(config, {}) == 60.0  # max(60, 16 + 30)
    assert place.timeout(config, {"wait_timeout": 100}) == 130.0
    assert place.timeout(config, {"wait_timeout": "bad"}) == 60.0
    assert cancel.timeout(config, {"wait_timeout": 45.5}) == 75.5


# --------------------------------------------------------------------------- cancel


async def test_cancel_resolves_on_the_event(h: Harness, broker: FakeBroker) -> None:
    broker.add_order("main", "o7", "000001.XSHE", OrderStatus.OPEN)
    task = asyncio.create_task(h("broker.cancel_order", {"order_id": "o7", "wait_timeout": 30}))
    await broker.queried.wait()
    assert not task.done()
    broker.update("main", "o7", OrderStatus.CANCELED)
    out = await task
    assert out["dtype"] == "dict" and out["value"] is True and out["timed_out"] is False
    assert (out["status"], out["raw_status"]) == ("canceled", 54)
    assert (
        out["last_snapshot"]["order_id"] == "o7" and out["last_snapshot"]["status"] in TERMINAL_SET
    )


async def test_cancel_event_during_the_broker_call(h: Harness, broker: FakeBroker) -> None:
    """The terminal event arrives before the wait starts: the re-read catches it."""
    broker.add_order("main", "o8", "000001.XSHE", OrderStatus.OPEN)
    broker.on_cancel = lambda order: broker.update("main", order.order_id, OrderStatus.CANCELED)
    out = await h("broker.cancel_order", {"order_id": "o8"})
    assert (out["value"], out["status"], out["timed_out"]) == (True, "canceled", False)


async def test_cancel_times_out(h: Harness, broker: FakeBroker) -> None:
    broker.add_order("main", "o9", "000001.XSHE", OrderStatus.OPEN)
    out = await h("broker.cancel_order", {"order_id": "o9", "wait_timeout": 0.05})
    assert out == {
        "dtype": "dict",
        "value": True,
        "status": "canceling",
        "raw_status": 51,
        "last_snapshot": out["last_snapshot"],
        "timed_out": True,
    }
    assert out["last_snapshot"]["order_id"] == "o9"


async def test_cancel_wait_zero_does_not_claim_a_timeout(h: Harness, broker: FakeBroker) -> None:
    broker.add_order("main", "o10", "000001.XSHE", OrderStatus.OPEN)
    out = await h("broker.cancel_order", {"order_id": "o10", "wait_timeout": 0})
    assert (out["value"], out["status"], out["timed_out"]) == (True, "canceling", False)


async def test_cancel_not_accepted(h: Harness, broker: FakeBroker) -> None:
    assert await h("broker.cancel_order", {"order_id": "ghost"}) == {
        "dtype": "dict",
        "value": False,
        "timed_out": False,
    }
    broker.add_order("main", "o11", "000001.XSHE", OrderStatus.FILLED)
    out = await h("broker.cancel_order", {"order_id": "o11"})
    assert (out["value"], out["timed_out"], out["status"], out["raw_status"]) == (
        False,
        False,
        "filled",
        56,
    )
    assert out["last_snapshot"]["order_id"] == "o11"


async def test_cancel_retry_with_key_replays_acceptance(h: Harness, broker: FakeBroker) -> None:
    broker.add_order("main", "o12", "000001.XSHE", OrderStatus.OPEN)
    broker.on_cancel = lambda order: broker.update("main", order.order_id, OrderStatus.CANCELED)
    payload = {"order_id": "o12", "idempotency_key": "bt-cancel_order-1"}
    first = await h("broker.cancel_order", payload)
    again = await h("broker.cancel_order", payload)
    assert first["value"] is True and again["value"] is True and again["status"] == "canceled"
    assert len(broker.cancel_calls) == 1
    plain = await h("broker.cancel_order", {"order_id": "o12"})
    assert plain["value"] is False and len(broker.cancel_calls) == 2


async def test_waiter_listens_once(h: Harness, broker: FakeBroker) -> None:
    for i in range(3):
        await h("broker.place_order", {**LIMIT, "wait_timeout": 0.01, "idempotency_key": f"w{i}"})
    assert broker.listener_count == 1


class FailingReadBroker(FakeBroker):
    """Places orders fine, then fails reading them back (from read number ``fail_from``)."""

    def __init__(self, fail_from: int = 1) -> None:
        super().__init__()
        self.fail_from = fail_from
        self.reads = 0

    async def order(self, account_key: str, order_id: str) -> Any:
        self.reads += 1
        if self.reads >= self.fail_from:
            raise BackendUnavailable("QMT disconnected")
        return await super().order(account_key, order_id)


@pytest.mark.parametrize("fail_from", [1, 2])
async def test_failed_read_back_never_turns_a_placement_into_an_error(
    fail_from: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The order was placed: a broker error while waiting for it is logged and the placement
    snapshot comes back with ``timed_out=True`` (never BackendUnavailable = nothing sent)."""
    broker = FailingReadBroker(fail_from)
    h = Harness(broker, make_state(broker=broker))
    with caplog.at_level(logging.WARNING, logger="bullet_trade.server.orders"):
        out = await h("broker.place_order",
                      {**LIMIT, "idempotency_key": "kr", "wait_timeout": 0.05})
    assert (out["order_id"], out["status"], out["timed_out"]) == ("o1", "open", True)
    assert out["idempotency_key"] == "kr" and len(broker.place_calls) == 1
    assert broker.reads == fail_from
    assert "cannot read order main/o1" in caplog.text
