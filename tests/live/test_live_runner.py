import asyncio
import logging
from datetime import date, datetime
from pathlib import Path

import pytest
from live_env import START, make_env

from bullet_trade.jq import api
from bullet_trade.model.enums import OrderStatus, OrderType, Side

DEMO = Path(__file__).resolve().parents[2] / "strategies" / "demo_strategy.py"


async def test_jobs_run_in_order_on_the_strategy_thread(env, write_strategy) -> None:
    path = write_strategy("""
        import threading
        def initialize(context):
            g.events = []
            run_daily(a, '09:30')
            run_daily(b, 'open')
            run_daily(c, '09:30:30')
            run_daily(d, 'close+10s')
        def rec(name, context):
            g.events.append((name, context.current_dt.strftime('%H:%M:%S'),
                             threading.current_thread().name))
        def a(context): rec('a', context)
        def b(context): rec('b', context)
        def c(context): rec('c', context)
        def d(): g.events.append(('d', '', threading.current_thread().name))
        def before_trading_start(context): rec('bts', context)
        def handle_data(context, data):
            if context.current_dt.strftime('%H:%M') in ('09:30', '14:59'):
                rec('hd', context)
        def after_trading_end(context): rec('ate', context)
    """)
    result = await env.run(path, max_days=1)
    events = env.g()["events"]
    assert [(n, t) for n, t, _ in events] == [
        ("bts", "09:00:00"), ("a", "09:30:00"), ("b", "09:30:00"), ("hd", "09:30:00"),
        ("c", "09:30:30"), ("hd", "14:59:00"), ("d", ""), ("ate", "15:30:00")]
    assert {thread for *_, thread in events} == {"bt-strategy_0"}
    assert result.trading_days == (date(2025, 4, 29),)
    assert result.stop_reason == "max_days" and result.callback_errors == 0
    assert result.callbacks_run == 1 + 4 + 240 + 1


async def test_order_functions(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(trade, '10:00')
        def trade(context):
            o = order('000001.XSHE', 100)
            g.o1 = (o.order_id, o.status.value, o.filled, o.price, o.is_buy, o.amount)
            g.nones = (order('000001.XSHE', 0), order('000001.XSHE', 50),
                       order_target('000001.XSHE', 100))
            r = order('000001.XSHE', -100)
            g.refused = (r.order_id, r.status.value, r.reason)
            lim = order('510300.XSHG', 100, LimitOrderStyle(3.9))
            g.open_before = sorted(get_open_orders())
            g.canceled = cancel_order(lim).status.value
            g.open_after = sorted(get_open_orders())
            order_target_value('518880.XSHG', 5300)
            g.trades = sorted((t.order_id, t.amount, t.price) for t in get_trades().values())
            g.orders = sorted(get_orders())
            pos = context.portfolio.positions
            g.pos = (pos['518880.XSHG'].total_amount, pos['518880.SH'].closeable_amount,
                     pos['600000.XSHG'].total_amount, '600000.XSHG' in pos, len(pos))
            g.cash = context.portfolio.available_cash
            try:
                g.nope
            except AttributeError:
                g.missing_raises = True
    """)
    result = await env.run(path, max_days=1)
    g = env.g()
    assert g["o1"] == ("B1", "filled", 100, 10.0, True, 100)
    assert g["nones"] == (None, None, None)
    assert g["refused"][1] == "rejected" and "closeable" in g["refused"][2]
    assert g["refused"][0].startswith("local-")
    assert g["open_before"] == ["B2"] and g["canceled"] == "canceled" and g["open_after"] == []
    assert g["trades"] == [("B1", 100, 10.0), ("B3", 1000, 5.3)]
    assert g["orders"] == ["B1", "B2", "B3", g["refused"][0]]
    assert g["pos"] == (1000, 0, 0, False, 2)
    assert g["cash"] == pytest.approx(100_000 - 1000 - 5300)
    assert g["missing_raises"] is True
    placed = [(c.security.jq, c.side, c.amount, c.order_type) for c in env.broker.placed]
    assert placed == [("000001.XSHE", Side.BUY, 100, OrderType.MARKET),
                      ("510300.XSHG", Side.BUY, 100, OrderType.LIMIT),
                      ("518880.XSHG", Side.BUY, 1000, OrderType.MARKET)]
    assert env.broker.placed[0].price == 10.15  # protective price
    assert [o.status for o in result.orders] == [
        OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.FILLED]


async def test_g_persists_across_runs(tmp_path: Path, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.starts = 0
            run_daily(bump, 'open')
        def process_initialize(context):
            g.starts += 1
        def bump(context):
            g.bumps = getattr(g, 'bumps', 0) + 1
    """)
    first = make_env(tmp_path / "rt")
    await first.run(path, max_days=1)
    assert first.g() == {"starts": 1, "bumps": 1}
    second = make_env(tmp_path / "rt", start=datetime(2025, 4, 30, 8, 0))
    await second.run(path, max_days=1)
    assert second.g() == {"starts": 2, "bumps": 2}


async def test_weekly_and_monthly_use_full_periods(tmp_path: Path, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.weekly, g.monthly = [], []
            run_weekly(last_of_week, -1, 'close')
            run_monthly(first_of_month, 1, '09:31')
        def last_of_week(context):
            g.weekly.append(str(context.current_dt.date()))
        def first_of_month(context):
            g.monthly.append(str(context.current_dt.date()))
    """)
    env = make_env(tmp_path / "rt", start=datetime(2025, 4, 28, 8, 0))
    result = await env.run(path, max_days=8)
    assert env.g() == {"weekly": ["2025-04-30", "2025-05-09"], "monthly": ["2025-05-06"]}
    assert result.trading_days[2:4] == (date(2025, 4, 30), date(2025, 5, 6))


async def test_start_mid_day_catches_up_pre_open_only(tmp_path: Path, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.seen = []
            run_daily(lambda c: g.seen.append(('open', str(c.current_dt))), 'open')
            run_daily(lambda c: g.seen.append(('14:50', str(c.current_dt))), '14:50')
        def before_trading_start(context):
            g.seen.append(('bts', str(context.current_dt)))
    """)
    env = make_env(tmp_path / "rt", start=datetime(2025, 4, 29, 10, 30))
    await env.run(path, until=datetime(2025, 4, 29, 15, 0))
    assert env.g()["seen"] == [("bts", "2025-04-29 10:30:00"), ("14:50", "2025-04-29 14:50:00")]


async def test_until_stops_and_previous_date(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.seen = []
            run_daily(lambda c: g.seen.append((str(c.current_dt), str(c.previous_date))), '11:00')
            run_daily(lambda c: g.seen.append('late'), '14:50')
    """)
    result = await env.run(path, until=datetime(2025, 4, 29, 12, 0))
    assert env.g()["seen"] == [("2025-04-29 11:00:00", "2025-04-28")]
    assert result.stop_reason == "until"


async def test_failing_callback_is_logged_and_run_goes_on(env, write_strategy,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(boom, 'open')
            run_daily(fine, 'open')
        def boom(context):
            raise ZeroDivisionError('strategy bug')
        def fine(context):
            g.fine = True
    """)
    with caplog.at_level(logging.ERROR):
        result = await env.run(path, max_days=1)
    assert result.callback_errors == 1 and env.g() == {"fine": True}
    assert "boom" in caplog.text and "ZeroDivisionError" in caplog.text


async def test_get_price_shapes_and_no_future_data(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(look, '10:00')
        def look(context):
            one = get_price('000001.XSHE', end_date='2030-01-01', count=3, fields=['close'])
            g.one = (list(one.columns), one.index.name, str(one.index[-1].date()), len(one))
            many = get_price(['000001.XSHE', '510300.XSHG'], count=2)
            g.many = list(many.columns[:2])
            hist = attribute_history('000001.XSHE', 2, '1d', ['close', 'volume'], df=False)
            g.hist = sorted(hist)
            g.days = [str(d) for d in get_trade_days(end_date=context.current_dt.date(), count=2)]
            cd = get_current_data()['510300.XSHG']
            g.cd = (cd.last_price, cd.high_limit, cd.paused, cd.day_open, cd.name)
    """)
    await env.run(path, max_days=1)
    g = env.g()
    assert g["one"] == (["close"], "time", "2025-04-29", 3)
    assert g["many"] == [("close", "000001.XSHE"), ("close", "510300.XSHG")]
    assert g["hist"] == ["close", "volume"]
    assert g["days"] == ["2025-04-28", "2025-04-29"]
    assert g["cd"] == (4.0, 4.4, False, 4.0, "N510300")
    daily = [q for q in env.data.history_queries if q.count == 2 and q.end and q.end.hour == 23]
    assert daily and all(q.end < datetime(2025, 4, 29) for q in daily)


async def test_two_runs_in_one_loop_do_not_share_state(tmp_path: Path, write_strategy) -> None:
    one = make_env(tmp_path / "a")
    two = make_env(tmp_path / "b")
    body = """
        def initialize(context):
            g.code = '{code}'
            run_daily(buy, 'open')
        def buy(context):
            order(g.code, 100)
    """
    p1 = write_strategy(body.format(code="000001.XSHE"), "one.py")
    p2 = write_strategy(body.format(code="510300.XSHG"), "two.py")
    await asyncio.gather(one.run(p1, max_days=2), two.run(p2, max_days=2))
    assert [c.security.jq for c in one.broker.placed] == ["000001.XSHE"] * 2
    assert [c.security.jq for c in two.broker.placed] == ["510300.XSHG"] * 2


def test_api_outside_a_run_raises() -> None:
    with pytest.raises(RuntimeError, match="strategy"):
        api.order("000001.XSHE", 100)


async def test_demo_strategy_two_days_on_fake(tmp_path: Path) -> None:
    env = make_env(tmp_path / "rt", start=START)
    result = await env.run(DEMO, max_days=2)
    placed = [(c.security.jq, c.side.value, c.amount, c.order_type.value, c.price)
              for c in env.broker.placed]
    day = [("000001.XSHE", "BUY", 100, "market", 10.15),
           ("510300.XSHG", "BUY", 100, "limit", 4.008),
           ("518880.XSHG", "BUY", 900, "market", 5.379)]
    assert placed == day + day + [("000001.XSHE", "SELL", 100, "market", 9.85)]
    assert result.trading_days == (date(2025, 4, 29), date(2025, 4, 30))
    holdings = {p.security.jq: (p.amount, p.closeable_amount) for p in result.account.positions}
    assert holdings == {"000001.XSHE": (100, 0), "510300.XSHG": (200, 100),
                        "518880.XSHG": (1800, 900)}
    assert all(o.status is OrderStatus.FILLED for o in result.orders)
    assert result.callback_errors == 0
    assert env.g()["days_run"] == 2 and len(env.g()["order_ids"]) == 7


async def test_broker_rejection_and_unknown_outcome(tmp_path: Path, write_strategy) -> None:
    from live_fakes import FakeBroker

    from bullet_trade.errors import SubmitUnknown

    class FlakyBroker(FakeBroker):
        """The first order is accepted but its reply is lost."""

        lost = False

        async def place_order(self, account_key, command):
            order = await super().place_order(account_key, command)
            if not self.lost:
                self.lost = True
                raise SubmitUnknown("reply lost")
            return order

    env = make_env(tmp_path / "rt", cash=2000.0)
    env.broker = FlakyBroker(env.data, env.clock, cash=2000.0)
    path = write_strategy("""
        def initialize(context):
            run_daily(trade, '10:00')
        def trade(context):
            lost = order('000001.XSHE', 100)
            g.lost = (lost.status.value, lost.order_id.startswith('unknown-'))
            poor = order('000001.XSHE', 200)
            g.poor = (poor.status.value, poor.reason)
            g.found = sorted((k, o.status.value) for k, o in get_orders().items())
    """)
    result = await env.run(path, max_days=1)
    g = env.g()
    assert g["lost"] == ("submit_unknown", True)
    assert g["poor"] == ("rejected", "insufficient_cash")
    assert ("B1", "filled") in g["found"]
    assert result.orders[0].order_id == "B1"


async def test_sync_api_on_the_loop_thread_fails_fast(env, write_strategy) -> None:
    from bullet_trade.jq.binding import CURRENT_SESSION
    from bullet_trade.live.config import LiveConfig
    from bullet_trade.live.session import LiveSession

    session = LiveSession(broker=env.broker, data=env.data, clock=env.clock, account_key="main",
                          runtime_dir=env.runtime_dir, config=LiveConfig())
    token = CURRENT_SESSION.set(session)
    try:
        with pytest.raises(RuntimeError, match="event loop thread"):
            api.order("000001.XSHE", 100)
    finally:
        CURRENT_SESSION.reset(token)
        session.close()
