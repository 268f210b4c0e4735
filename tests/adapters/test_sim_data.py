from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bullet_trade.adapters.contracts import DataProvider
from bullet_trade.adapters.sim import SimDataAdapter, build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import AccountConfig, DividendEvent, HistoryQuery, Quote
from bullet_trade.model.rules import price_limits

WEDNESDAY = datetime(2026, 3, 18, 10, 15)  # always-open: bar 135, ending 13:16
PINGAN = parse_security("000001.XSHE")
MOUTAI = parse_security("600519.XSHG")
CATL = parse_security("300750.XSHE")
ETF = parse_security("510300.XSHG")
CSI300 = parse_security("000300.XSHG")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]
COLUMNS = ["open", "close", "high", "low", "volume", "money", "paused"]


def make(now: datetime = WEDNESDAY, **config: object) -> tuple[SimDataAdapter, ManualClock]:
    clock = ManualClock(now)
    data, _ = build_sim_backend(SimConfig(**config), ACCOUNTS, clock)  # type: ignore[arg-type]
    return data, clock


def q(security=PINGAN, frequency="1d", **kwargs) -> HistoryQuery:  # type: ignore[no-untyped-def]
    return HistoryQuery(security=security, frequency=frequency, **kwargs)


async def test_is_a_data_provider() -> None:
    data, _ = make()
    assert isinstance(data, DataProvider)


async def test_frame_shape() -> None:
    data, _ = make()
    df = await data.history(q(count=10))
    assert list(df.columns) == COLUMNS
    assert df.index.name == "time"
    assert isinstance(df.index, pd.DatetimeIndex)
    assert len(df) == 10
    assert df.index.is_monotonic_increasing
    assert (df.dtypes == "float64").all()


async def test_same_request_same_data_and_seed_matters() -> None:
    a, _ = make(seed=7)
    b, _ = make(seed=7)
    c, _ = make(seed=8)
    for query in (q(count=300), q(frequency="1m", count=500), q(MOUTAI, "15m", count=40)):
        pd.testing.assert_frame_equal(await a.history(query), await b.history(query))
        pd.testing.assert_frame_equal(await a.history(query), await a.history(query))
    first = await a.history(q(count=50))
    other = await c.history(q(count=50))
    assert not np.array_equal(first["close"].to_numpy(), other["close"].to_numpy())


async def test_path_does_not_depend_on_query_order() -> None:
    a, _ = make()
    b, _ = make()
    await a.history(q(frequency="1m", count=10))  # generate recent data first
    old_a = await a.history(q(start=datetime(2016, 1, 1), end=datetime(2016, 3, 1)))
    old_b = await b.history(q(start=datetime(2016, 1, 1), end=datetime(2016, 3, 1)))
    pd.testing.assert_frame_equal(old_a, old_b)


@pytest.mark.parametrize("security", [PINGAN, MOUTAI, ETF, CSI300])
async def test_minutes_aggregate_exactly_into_daily(security) -> None:  # type: ignore[no-untyped-def]
    data, _ = make()
    daily = await data.history(q(security, count=6))
    for day, row in daily.iterrows():
        start = pd.Timestamp(day).to_pydatetime()
        minutes = await data.history(
            q(security, "1m", start=start, end=start + timedelta(hours=23))
        )
        assert minutes.iloc[0]["open"] == row["open"]
        assert minutes.iloc[-1]["close"] == row["close"]
        assert minutes["high"].max() == row["high"]
        assert minutes["low"].min() == row["low"]
        assert minutes["volume"].sum() == row["volume"]
        assert minutes["money"].sum() == pytest.approx(row["money"], rel=1e-12)
        assert minutes["paused"].eq(0).all()


async def test_today_is_partial_and_matches_quote() -> None:
    data, _ = make()
    quote = await data.quote(PINGAN)
    today = await data.history(q(count=1))
    minutes = await data.history(q(frequency="1m", count=240))
    todays = minutes[minutes.index.normalize() == pd.Timestamp(quote.dt.date())]
    assert len(todays) == 136  # bars 0..135
    assert todays.index[-1] == pd.Timestamp(quote.dt)
    row = today.iloc[-1]
    assert today.index[-1] == pd.Timestamp(quote.dt.date())
    assert row["close"] == quote.last_price == todays["close"].iloc[-1]
    assert row["open"] == quote.day_open
    assert row["high"] == quote.high and row["low"] == quote.low
    assert row["volume"] == quote.volume



def wire(events: list[DividendEvent]) -> list[dict[str, Any]]:
    """The events as v1 ``data.get_split_dividend`` rows."""
    return [e.to_wire() for e in events]


def _pre_closes(df: pd.DataFrame, events: list[dict], decimals: int) -> np.ndarray:
    """Previous close of each row after the first: the raw close before, except on an
    ex-date, where it is the reference price (pre - cash) / scale, rounded half up."""
    pre = pd.Series(df["close"].shift(1).to_numpy(), index=df.index)
    for event in events:
        day = pd.Timestamp(event["date"])
        cash = Decimal(str(event["bonus_pre_tax"])) / event["per_base"]
        raw = Decimal(str(pre[day]))
        ref = (raw - cash) / Decimal(str(event["scale_factor"]))
        pre[day] = float(ref.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
    return pre.to_numpy()[1:]


async def test_limits_ticks_and_lots_over_a_long_path() -> None:
    data, _ = make(now=datetime(2026, 12, 31, 10, 0))
    for security in (PINGAN, CATL, MOUTAI, ETF, parse_security("002999.XSHE")):
        df = await data.history(q(security, start=datetime(2015, 1, 1), fq="none"))
        assert len(df) > 2800
        decimals = 3 if security is ETF else 2
        pre = _pre_closes(df, wire(await data.split_dividend(security)), decimals)
        limits = np.array([price_limits(security, p) for p in pre])
        rest = df.iloc[1:]
        assert (rest["low"].to_numpy() >= limits[:, 0] - 1e-9).all()
        assert (rest["high"].to_numpy() <= limits[:, 1] + 1e-9).all()
        assert (rest["low"] <= rest[["open", "close"]].min(axis=1)).all()
        assert (rest["high"] >= rest[["open", "close"]].max(axis=1)).all()
        scaled = df[["open", "close", "high", "low"]].to_numpy() * 10**decimals
        assert np.allclose(scaled, np.round(scaled), atol=1e-6)
        assert (df["volume"] % 100 == 0).all()
        assert ((df["volume"] > 0) | (df["paused"] == 1)).all()
        if security in (PINGAN, CATL):
            # jumps beyond the limit are clamped to it: limit-up and limit-down days exist
            assert (np.isclose(rest["close"].to_numpy(), limits[:, 1])).any()
            assert (np.isclose(rest["close"].to_numpy(), limits[:, 0])).any()


async def test_minute_bars_stay_within_the_days_limits() -> None:
    data, _ = make()
    daily = await data.history(q(CATL, count=30))
    minutes = await data.history(q(CATL, "1m", count=240 * 29))
    for (day, _row), pre in zip(daily.iloc[1:].iterrows(), daily["close"].iloc[:-1], strict=True):
        low, high = price_limits(CATL, pre)
        mins = minutes[minutes.index.normalize() == day]
        assert mins["low"].min() >= low - 1e-9
        assert mins["high"].max() <= high + 1e-9
        assert ((mins["volume"] % 100 == 0) & (mins["volume"] >= 100)).all()


async def test_no_future_bars_always_open() -> None:
    data, clock = make()
    quote = await data.quote(MOUTAI)
    far = datetime(2030, 1, 1)
    for frequency in ("1d", "1m", "5m", "60m"):
        df = await data.history(q(MOUTAI, frequency, count=500, end=far))
        assert df.index[-1] <= pd.Timestamp(quote.dt)
    before = await data.history(q(MOUTAI, "1m", count=5))
    await clock.advance(timedelta(minutes=1))
    after = await data.history(q(MOUTAI, "1m", count=5))
    assert after.index[-1] - before.index[-1] == pd.Timedelta(minutes=1)
    assert after.index[-1] == pd.Timestamp((await data.quote(MOUTAI)).dt)


async def test_end_before_now_is_respected() -> None:
    data, _ = make()
    end = datetime(2026, 3, 10, 10, 0)
    daily = await data.history(q(count=3, end=end))
    assert daily.index[-1] == pd.Timestamp("2026-03-10")
    minutes = await data.history(q(frequency="1m", count=3, end=end))
    assert list(minutes.index) == [
        pd.Timestamp("2026-03-10 09:58"),
        pd.Timestamp("2026-03-10 09:59"),
        pd.Timestamp("2026-03-10 10:00"),
    ]


async def test_real_mode_sessions() -> None:
    data, clock = make(now=datetime(2026, 3, 18, 8, 0), clock_mode="real")
    daily = await data.history(q(count=2))
    assert daily.index[-1] == pd.Timestamp("2026-03-17")  # no bar yet today
    quote = await data.quote(PINGAN)
    assert quote.last_price == quote.pre_close == daily["close"].iloc[-1]
    await clock.set(datetime(2026, 3, 18, 10, 15))  # a whole minute: no forming ticks
    minutes = await data.history(q(frequency="1m", count=3))
    assert minutes.index[-1] == pd.Timestamp("2026-03-18 10:15")
    assert (await data.quote(PINGAN)).last_price == minutes["close"].iloc[-1]
    five = await data.history(q(frequency="5m", count=2))
    assert five.index[-1] == pd.Timestamp("2026-03-18 10:15")
    await clock.set(datetime(2026, 3, 18, 12, 0))
    lunch = await data.history(q(frequency="1m", count=1))
    assert lunch.index[-1] == pd.Timestamp("2026-03-18 11:30")
    await clock.set(datetime(2026, 3, 21, 12, 0))  # Saturday
    weekend = await data.history(q(frequency="1m", count=1))
    assert weekend.index[-1] == pd.Timestamp("2026-03-20 15:00")


async def test_resampled_bars() -> None:
    data, _ = make()
    one = await data.history(
        q(MOUTAI, "1m", start=datetime(2026, 3, 17), end=datetime(2026, 3, 17, 23))
    )
    thirty = await data.history(
        q(MOUTAI, "30m", start=datetime(2026, 3, 17), end=datetime(2026, 3, 17, 23))
    )
    assert len(one) == 240 and len(thirty) == 8
    assert [t.strftime("%H:%M") for t in thirty.index] == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
    ]
    for i, (_, bar) in enumerate(thirty.iterrows()):
        group = one.iloc[i * 30 : (i + 1) * 30]
        assert bar["open"] == group["open"].iloc[0]
        assert bar["close"] == group["close"].iloc[-1]
        assert bar["high"] == group["high"].max() and bar["low"] == group["low"].min()
        assert bar["volume"] == group["volume"].sum()


async def test_incomplete_group_is_not_returned() -> None:
    data, _ = make()  # virtual now is 13:16 (bar 135)
    df = await data.history(q(frequency="15m", count=1))
    assert df.index[-1] == pd.Timestamp("2026-03-18 13:15")


async def test_empty_frame_outside_data() -> None:
    data, _ = make()
    df = await data.history(q(start=datetime(2010, 1, 1), end=datetime(2010, 2, 1)))
    assert df.empty and list(df.columns) == COLUMNS and df.index.name == "time"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"frequency": "2m", "count": 1}, "frequency"),
        ({"fq": "both", "count": 1}, "fq"),
        ({"count": 0}, "count"),
        ({"count": 5, "start": datetime(2026, 1, 5)}, "count"),
        ({"start": datetime(2026, 3, 5), "end": datetime(2026, 3, 1)}, "start"),
    ],
)
async def test_bad_history_queries(kwargs: dict[str, object], field: str) -> None:
    data, _ = make()
    with pytest.raises(BadRequest) as info:
        await data.history(HistoryQuery(security=PINGAN, **kwargs))  # type: ignore[arg-type]
    assert info.value.field == field


async def test_security_info() -> None:
    data, _ = make()
    info = await data.security_info(parse_security("000001.XSHG"))
    assert (info.display_name, info.type) == ("上证指数", "index")
    info = await data.security_info(PINGAN)
    assert (info.display_name, info.type) == ("平安银行", "stock")
    assert (await data.security_info(ETF)).type == "etf"
    assert (await data.security_info(parse_security("518880.XSHG"))).display_name == "黄金ETF"
    synthetic = await data.security_info(parse_security("603999.SH"))
    assert synthetic.type == "stock" and "603999" in synthetic.display_name
    with pytest.raises(BadRequest) as info_err:
        await data.security_info("nonsense")  # type: ignore[arg-type]
    assert info_err.value.field == "security"


async def test_price_levels_are_realistic() -> None:
    data, _ = make()
    assert 1 <= (await data.quote(ETF)).last_price <= 10
    assert (await data.quote(CSI300)).last_price > 500
    for code in ("600123.XSHG", "002222.XSHE", "601111.XSHG"):
        assert 1 <= (await data.quote(parse_security(code))).last_price <= 600


async def test_quote_fields() -> None:
    data, _ = make()
    quote = await data.quote(PINGAN)
    low, high = price_limits(PINGAN, quote.pre_close)
    assert (quote.low_limit, quote.high_limit) == (low, high)
    assert quote.low <= quote.last_price <= quote.high
    assert quote.name == "平安银行" and not quote.paused
    assert quote.bids[0][0] == quote.last_price
    assert all(a[0] > quote.last_price for a in quote.asks)
    assert all(size % 100 == 0 for _, size in quote.bids + quote.asks)


async def test_always_open_on_weekend_and_prices_move() -> None:
    data, clock = make(now=datetime(2026, 3, 21, 2, 0))  # Saturday night
    prices = []
    for _ in range(10):
        quote = await data.quote(PINGAN)
        assert quote.dt.date() == date(2026, 3, 20)
        prices.append(quote.last_price)
        await clock.advance(timedelta(minutes=1))
    assert len(set(prices)) > 1


async def test_works_in_2027() -> None:
    data, _ = make(now=datetime(2027, 3, 10, 10, 0))
    quote = await data.quote(MOUTAI)
    assert quote.dt.date() == date(2027, 3, 10)
    df = await data.history(q(MOUTAI, count=5))
    assert df.index[-1] == pd.Timestamp("2027-03-10")
    days = await data.trade_days(date(2027, 3, 8), date(2027, 3, 14))
    assert len(days) == 5


async def test_trade_days() -> None:
    data, _ = make()
    assert await data.trade_days(count=3) == [
        date(2026, 3, 16),
        date(2026, 3, 17),
        date(2026, 3, 18),
    ]
    assert date(2026, 10, 1) not in await data.trade_days(date(2026, 9, 1), date(2026, 10, 31))
    with pytest.raises(BadRequest):
        await data.trade_days(date(2026, 3, 5), date(2026, 3, 1))


async def test_subscribe_quotes_pushes_on_clock_ticks() -> None:
    data, clock = make(tick_interval=3.0)
    received: asyncio.Queue[Quote] = asyncio.Queue()
    unsubscribe = await data.subscribe_quotes([PINGAN, MOUTAI], received.put_nowait)
    first = [await received.get(), await received.get()]
    assert [x.security for x in first] == [PINGAN, MOUTAI]
    await clock.advance(timedelta(seconds=3))
    second = await asyncio.wait_for(received.get(), 1)
    assert second.security == PINGAN
    await received.get()
    unsubscribe()
    await clock.advance(timedelta(seconds=30))
    for _ in range(5):
        await asyncio.sleep(0)
    assert received.empty()
    await data.close()


async def test_latency_is_awaited() -> None:
    data, _ = make(latency=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    other = asyncio.create_task(asyncio.sleep(0))
    await data.quote(PINGAN)
    assert other.done()  # the delay yielded to the loop
    assert loop.time() - started >= 0.045


async def test_one_year_of_daily_bars_is_fast() -> None:
    data, _ = make()
    loop = asyncio.get_running_loop()
    started = loop.time()
    df = await data.history(q(parse_security("601888.XSHG"), count=250))
    assert len(df) == 250
    assert loop.time() - started < 1.0


async def test_scheduled_suspension_days_are_flat_and_untradable() -> None:
    """Synthetic stocks have a few deterministic suspension days: flat bars, zero volume,
    ``paused`` set, and the same days for the same seed."""
    data, _ = make(now=datetime(2026, 12, 31, 10, 0))
    security = parse_security("002999.XSHE")
    df = await data.history(q(security, start=datetime(2015, 1, 1)))
    halted = df[df["paused"] == 1]
    assert 0 < len(halted) < 40
    assert (halted["volume"] == 0).all()
    assert (halted["open"] == halted["close"]).all() and (halted["high"] == halted["low"]).all()
    previous = df["close"].shift(1)[df["paused"] == 1]
    assert (halted["close"] == previous).all()
    again, _ = make(now=datetime(2026, 12, 31, 10, 0))
    assert (await again.history(q(security, start=datetime(2015, 1, 1))))["paused"].equals(
        df["paused"]
    )
    known = await data.history(q(PINGAN, start=datetime(2015, 1, 1)))
    assert (known["paused"] == 0).all()


async def test_frames_of_one_span_do_not_share_their_index_object() -> None:
    data, _ = make()
    first = await data.history(q(count=20))
    second = await data.history(q(security=MOUTAI, count=20))
    first.index.name = "renamed"
    assert second.index.name == "time"
    assert (await data.history(q(count=20))).index.name == "time"
