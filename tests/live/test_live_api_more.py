"""Percent orders, order styles through the API, runtime unscheduling, ticks, messages,
get_bars, reference-data pass-through and portfolio fields."""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from live_env import make_env
from live_fakes import FakeData

from bullet_trade.model.codes import Security
from bullet_trade.model.records import Quote


async def test_percent_orders_and_styles(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(trade, '10:00')
        def trade(context):
            order_percent('000001.XSHE', 0.1)                    # 10000 CNY at 10.0
            order_target_percent('510300.XSHG', 0.02)            # 2000 CNY at 4.0
            order('000001.XSHE', 100, MarketOrderStyle(buy_price_percent=0.01))
            order('000001.XSHE', 100, LimitOrderStyle(20.0))     # clamped to limit-up
            order('000001.XSHE', 100, 9.5)                       # price => limit order
            g.star = (order('688001.XSHG', 150), order('688001.XSHG', 250).amount)
            try:
                order_percent('000001.XSHE', 2)
            except ValueError:
                g.bad_percent = True
            p = context.portfolio
            g.fields = (p.starting_cash, round(p.positions_value, 2), len(p.positions))
    """)
    await env.run(path, max_days=1)
    placed = [(c.security.jq, c.amount, c.order_type.value, c.price) for c in env.broker.placed]
    assert placed == [
        ("000001.XSHE", 1000, "market", 10.15), ("510300.XSHG", 500, "market", 4.06),
        ("000001.XSHE", 100, "market", 10.1), ("000001.XSHE", 100, "limit", 11.0),
        ("000001.XSHE", 100, "limit", 9.5), ("688001.XSHG", 250, "market", 50.75),
    ]
    g = env.g()
    assert g["star"] == (None, 250) and g["bad_percent"] is True
    assert g["fields"] == (100_000.0, 12_000 + 2_000 + 12_500, 3)  # the 9.5 limit is open


async def test_unschedule_all_at_runtime_takes_effect(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.seen = []
            run_daily(switch, '10:00')
            run_daily(old, '14:00')
        def switch(context):
            g.seen.append('switch')
            unschedule_all()
            run_daily(new, '11:00')
        def old(context):
            g.seen.append('old')
        def new(context):
            g.seen.append(str(context.current_dt))
    """)
    await env.run(path, max_days=2)
    assert env.g()["seen"] == ["switch", "2025-04-29 11:00:00", "2025-04-30 11:00:00"]


async def test_weekly_monthly_options(tmp_path: Path, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.seen = []
            run_weekly(w, 2, 'open', reference_security='000300.XSHG')
            run_weekly(w7, 7, '10:00', force=False)
            run_monthly(m, -1, 'close-10m', reference_security='000300.XSHG')
        def w(context): g.seen.append(('w2', str(context.current_dt)))
        def w7(context): g.seen.append(('w7', str(context.current_dt)))
        def m(context): g.seen.append(('m-1', str(context.current_dt)))
    """)
    env = make_env(tmp_path / "rt", start=datetime(2025, 4, 28, 8, 0))
    await env.run(path, max_days=6)
    assert env.g()["seen"] == [("w2", "2025-04-29 09:30:00"), ("m-1", "2025-04-30 14:50:00"),
                               ("w2", "2025-05-07 09:30:00")]


class TickData(FakeData):
    """Pushes one quote per security on subscription, like the simulator does."""

    canceled: list[str]

    async def subscribe_quotes(self, securities: list[Security],
                               listener: Callable[[Quote], None]) -> Callable[[], None]:
        self.canceled = getattr(self, "canceled", [])
        for security in securities:
            listener(await self.quote(security))
        return lambda: self.canceled.extend(s.jq for s in securities)


async def test_ticks_subscribe_handle_tick_and_restore(tmp_path: Path, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.ticks = []
            subscribe(['000001.XSHE', '510300.XSHG'], 'tick')
            run_daily(stop_one, '10:00')
        def handle_tick(context, tick):
            g.ticks.append((tick.code, tick.current, tick.last_price))
        def stop_one(context):
            unsubscribe('510300.XSHG')
    """)
    env = make_env(tmp_path / "rt")
    env.data = TickData(env.data.prices and {k.jq: v for k, v in env.data.prices.items()},
                        env.clock)
    env.broker.data = env.data
    await env.run(path, max_days=1)
    assert sorted(env.g()["ticks"]) == [("000001.XSHE", 10.0, 10.0), ("510300.XSHG", 4.0, 4.0)]
    assert env.data.canceled == ["510300.XSHG", "000001.XSHE"]  # explicit, then at the end
    await env.run(path, max_days=1)  # restart: the stored subscription comes back
    assert env.g()["ticks"].count(("000001.XSHE", 10.0, 10.0)) == 2


async def test_send_msg_and_handler(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            g.got = []
            g.results = [send_msg('plain')]
            set_message_handler(g.got.append)
            g.results.append(send_msg('to handler'))
            set_message_handler(lambda text: 1 / 0)
            g.results.append(send_msg('broken handler'))
            set_message_handler(None)
    """)
    await env.run(path, max_days=1)
    assert env.g()["got"] == ["to handler"] and env.g()["results"] == [True, True, False]


async def test_get_bars_and_reference_data(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(look, '10:00')
        def look(context):
            bars = get_bars('000001.XSHE', 3, '1d', ['date', 'close'])
            g.bars = ([str(d) for d in bars['date']], list(bars.dtype.names))
            frame = get_bars(['510300.XSHG'], 2, df=True)['510300.XSHG']
            g.frame = (list(frame.columns), len(frame))
            now = get_bars('000001.XSHE', 1, '1d', ['date'], include_now=True)
            g.now = str(now['date'][-1])
            for name in ('get_all_securities', 'get_index_stocks'):
                try:
                    globals()[name]('000300.XSHG') if name == 'get_index_stocks' else get_all_securities()
                except NotImplementedError as exc:
                    g.__dict__.setdefault('missing', []).append(str(exc)[:8])
    """)
    await env.run(path, max_days=1)
    g = env.g()
    assert g["bars"] == (["2025-04-24", "2025-04-25", "2025-04-28"], ["date", "close"])
    assert g["frame"] == (["date", "open", "high", "low", "close"], 2)
    assert g["now"] == "2025-04-29"
    assert g["missing"] == ["FakeData", "FakeData"]
