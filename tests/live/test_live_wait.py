"""``order()`` waiting for a final status (TRADE_MAX_WAIT_TIME): ended by broker events, with
re-reads only for backends that push nothing; the broker listener is removed at the end; the
portfolio is re-read after its maximum age."""

import asyncio
from datetime import timedelta
from pathlib import Path

from live_env import Env, make_env
from live_fakes import ACCOUNT, FakeBroker

from bullet_trade.live.config import LiveConfig
from bullet_trade.live.session import LiveSession
from bullet_trade.model.records import Order, PlaceOrder

STRATEGY = """
    def initialize(context):
        run_daily(trade, '10:00')
    def trade(context):
        o = order('000001.XSHE', 100, LimitOrderStyle(9.5))  # below the market: rests open
        g.seen = (o.status.value, o.filled)
"""


class LateFillBroker(FakeBroker):
    """Resting orders are filled one loop iteration after they were accepted."""

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        order = await super().place_order(account_key, command)
        if order.status.is_open:
            self.fill_later(order.order_id)
        return order


def late_fill_env(tmp_path: Path, *, push: bool) -> Env:
    env = make_env(tmp_path / "runtime")
    env.broker = LateFillBroker(env.data, env.clock)
    env.broker.push_events = push
    return env


async def test_wait_ends_on_the_fill_event_without_querying(tmp_path, write_strategy) -> None:
    env = late_fill_env(tmp_path, push=True)
    # A poll interval far beyond the test timeout: only the event can end the wait in time.
    config = LiveConfig(trade_max_wait=600.0, order_poll_interval=600.0)
    await env.run(write_strategy(STRATEGY), max_days=1, config=config)
    assert env.g()["seen"] == ("filled", 100)
    assert env.broker.order_queries == 0
    assert env.broker.listener_count == 0  # removed when the run ended


async def test_backend_without_events_is_reread(tmp_path, write_strategy) -> None:
    env = late_fill_env(tmp_path, push=False)
    config = LiveConfig(trade_max_wait=30.0, order_poll_interval=0.001)
    await env.run(write_strategy(STRATEGY), max_days=1, config=config)
    assert env.g()["seen"] == ("filled", 100)
    assert env.broker.order_queries >= 1


async def test_wait_gives_up_at_the_deadline_after_one_reread(env, write_strategy) -> None:
    config = LiveConfig(trade_max_wait=0.01, order_poll_interval=0.0)
    result = await env.run(write_strategy(STRATEGY), max_days=1, config=config)
    assert env.g()["seen"] == ("open", 0)
    assert env.broker.order_queries == 1
    assert result.callback_errors == 0


async def test_no_wait_by_default(env, write_strategy) -> None:
    await env.run(write_strategy(STRATEGY), max_days=1)
    assert env.g()["seen"] == ("open", 0)
    assert env.broker.order_queries == 0


async def test_portfolio_is_reread_after_its_max_age(env) -> None:
    """Without broker events the cached portfolio is used until it is older than
    ``portfolio_max_age`` seconds of (injected) clock time."""
    env.broker.push_events = False
    session = LiveSession(broker=env.broker, data=env.data, clock=env.clock, account_key=ACCOUNT,
                          runtime_dir=env.runtime_dir, config=LiveConfig(portfolio_max_age=60.0))
    try:
        assert (await asyncio.to_thread(session.portfolio)).available_cash == 100_000.0
        env.broker.cash = 90_000.0  # changed at the broker, nothing pushed
        await env.clock.set(env.clock.now() + timedelta(seconds=60))
        assert (await asyncio.to_thread(session.portfolio)).available_cash == 100_000.0
        await env.clock.set(env.clock.now() + timedelta(seconds=1))
        assert (await asyncio.to_thread(session.portfolio)).available_cash == 90_000.0
    finally:
        session.close()
    assert env.broker.listener_count == 0
