"""Ex-dividend events of the simulator: the events as data, price adjustment (fq) consistent
with them, and holders paid in the broker's day roll."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import AccountConfig, DividendEvent, HistoryQuery, PlaceOrder
from bullet_trade.model.rules import limit_ratio

NOW = datetime(2026, 12, 31, 15, 0)
PINGAN = parse_security("000001.XSHE")
ETF = parse_security("510300.XSHG")
CSI300 = parse_security("000300.XSHG")
ACCOUNTS = [AccountConfig(key="main", account_id="1")]
FIELDS = ["security", "date", "security_type", "scale_factor", "bonus_pre_tax", "per_base"]


def wire(events: list[DividendEvent]) -> list[dict[str, Any]]:
    """The events as v1 ``data.get_split_dividend`` rows."""
    return [e.to_wire() for e in events]



def make(now: datetime = NOW, seed: int = 42):  # type: ignore[no-untyped-def]
    clock = ManualClock(now)
    data, broker = build_sim_backend(SimConfig(seed=seed), ACCOUNTS, clock)
    return data, broker, clock


def daily(security=PINGAN, fq="none", **kwargs) -> HistoryQuery:  # type: ignore[no-untyped-def]
    return HistoryQuery(security=security, start=datetime(2015, 1, 1), fq=fq, **kwargs)


async def test_events_as_v1_rows_about_one_a_year_for_stocks() -> None:
    data, _, _ = make()
    stocks = [parse_security(f"{600100 + i:06d}.XSHG") for i in range(20)]
    counts, scales = [], []
    for security in stocks:
        events = wire(await data.split_dividend(security))
        scales += [e["scale_factor"] for e in events]
        assert all(list(e) == FIELDS for e in events)
        assert all(e["security_type"] == "stock" and e["per_base"] == 10 for e in events)
        assert all(e["bonus_pre_tax"] > 0 and e["scale_factor"] >= 1.0 for e in events)
        years = [e["date"][:4] for e in events]
        assert len(years) == len(set(years))  # at most one a year
        counts.append(len(events))
    assert 8 <= np.mean(counts) <= 12  # 12 simulated years, ~90 % of them with an event
    assert any(scale > 1 for scale in scales)  # some bonus shares
    assert wire(await data.split_dividend(CSI300)) == []
    funds = [parse_security(f"{510000 + i:06d}.XSHG") for i in range(20)]
    fund_events = [e for f in funds for e in wire(await data.split_dividend(f))]
    assert 0 < len(fund_events) < 0.3 * 20 * 12  # rare
    assert all(e["per_base"] == 1 and e["scale_factor"] == 1.0 for e in fund_events)


async def test_events_are_deterministic_and_filtered_by_date() -> None:
    data, _, _ = make()
    again, _, _ = make()
    other, _, _ = make(seed=7)
    events = wire(await data.split_dividend(PINGAN))
    assert events == wire(await again.split_dividend(PINGAN))
    assert events != wire(await other.split_dividend(PINGAN))
    some = wire(await data.split_dividend(PINGAN, date(2020, 1, 1), date(2022, 12, 31)))
    assert some == [e for e in events if "2020" <= e["date"][:4] <= "2022"]
    early, _, _ = make(now=datetime(2021, 1, 4, 15, 0))
    assert wire(await early.split_dividend(PINGAN)) == [e for e in events if e["date"] < "2021"]
    try:
        wire(await data.split_dividend(PINGAN, date(2022, 1, 1), date(2021, 1, 1)))
    except BadRequest as exc:
        assert exc.field == "start"
    else:  # pragma: no cover
        raise AssertionError("start after end was accepted")


async def test_raw_series_gaps_on_ex_dates_adjusted_ones_do_not() -> None:
    data, _, _ = make()
    for security in (PINGAN, parse_security("600123.XSHG"), parse_security("300123.XSHE")):
        raw = await data.history(daily(security))
        pre = await data.history(daily(security, "pre"))
        post = await data.history(daily(security, "post"))
        events = wire(await data.split_dividend(security))
        assert events
        band = -np.log1p(-(limit_ratio(security) or 0.1)) + 0.01  # a limit-down day
        for frame in (pre, post):
            returns = np.log(frame["close"]).diff().iloc[1:]
            assert (returns.abs() <= band).all()  # no ex-date gap beyond a limit move
        # the raw close drops by the dividend (and bonus split): e.g. a 10-for-3 bonus
        for event in events:
            i = raw.index.get_loc(pd.Timestamp(event["date"]))
            raw_ratio = raw["close"].iloc[i] / raw["close"].iloc[i - 1]
            adj_ratio = pre["close"].iloc[i] / pre["close"].iloc[i - 1]
            assert raw_ratio < adj_ratio  # the adjusted series removes the drop
        assert pre.iloc[-1].equals(raw.iloc[-1])  # front adjustment keeps the latest bar
        assert post.iloc[0].equals(raw.iloc[0])  # back adjustment keeps the first bar


async def test_factors_multiply_across_events() -> None:
    data, _, _ = make()
    prices = data.market.prices
    last = prices.day_index(NOW.date())
    assert last is not None
    events = prices.ex_events(PINGAN, 0, last)
    assert len(events) >= 5
    raw = await data.history(daily(fq="none"))
    pre = await data.history(daily(fq="pre"))
    post = await data.history(daily(fq="post"))
    total = float(np.prod([e.ratio for e in events]))
    first = raw["close"].iloc[0]
    assert abs(pre["close"].iloc[0] - round(first * total, 2)) < 0.011
    assert abs(post["close"].iloc[-1] - round(raw["close"].iloc[-1] / total, 2)) < 0.011
    # between two events the factor is the product of the ratios still ahead
    mid = events[2].index - 1
    ahead = float(np.prod([e.ratio for e in events[2:]]))
    assert abs(pre["close"].iloc[mid] - round(raw["close"].iloc[mid] * ahead, 2)) < 0.011
    # one ratio: the adjusted reference price over the raw previous close
    e = events[0]
    assert e.ratio == prices.pre_close(PINGAN, e.index) / prices.close(PINGAN, e.index - 1)


async def test_minute_bars_are_adjusted_with_their_day() -> None:
    data, _, _ = make()
    events = wire(await data.split_dividend(PINGAN, date(2025, 1, 1), date(2025, 12, 31)))
    day = pd.Timestamp(events[0]["date"])
    window = {"start": day - pd.Timedelta(days=7), "end": day + pd.Timedelta(hours=16)}
    q = {"security": PINGAN, "frequency": "30m", **window}
    raw = await data.history(HistoryQuery(fq="none", **q))
    pre = await data.history(HistoryQuery(fq="pre", **q))
    raw_d = await data.history(HistoryQuery(fq="none", **window, security=PINGAN))
    pre_d = await data.history(HistoryQuery(fq="pre", **window, security=PINGAN))
    factor = (pre_d["close"] / raw_d["close"]).to_numpy()
    per_bar = np.repeat(factor, 8)  # eight 30m bars a day
    assert np.allclose(pre["close"], np.round(raw["close"] * per_bar, 2), atol=0.011)
    assert (pre.index == raw.index).all()
    assert np.isclose(factor[0], factor[-2], rtol=2e-3)  # one factor before the ex-date
    assert factor[-2] < factor[-1] * 0.995  # and a larger one from it on


async def test_holders_get_cash_and_bonus_shares_in_the_day_roll() -> None:
    finder, _, _ = make(now=datetime(2015, 12, 31, 15, 0))
    security, event = await _stock_with_bonus(finder)
    data, broker, clock = make(now=datetime(2015, 1, 5, 10, 0))
    ex_day = pd.Timestamp(event["date"]).date()
    prices = data.market.prices
    index = prices.day_index(ex_day)
    assert index is not None
    await clock.set(datetime.combine(prices.day_at(index - 1), datetime.min.time()).replace(hour=10))
    high = (await data.quote(security)).high_limit
    command = PlaceOrder(security=security, side=Side.BUY, amount=1000,
                         order_type=OrderType.LIMIT, price=high)
    order = await broker.place_order("main", command)
    for _ in range(40):
        if order.filled == 1000:
            break
        await clock.set(clock.now() + timedelta(minutes=1))
        await broker.match_now()
        order = await broker.order("main", order.order_id)  # type: ignore[assignment]
    assert order.filled == 1000
    before = await broker.account("main")
    await clock.set(datetime.combine(ex_day, datetime.min.time()).replace(hour=10))
    after = await broker.account("main")
    cash = round(1000 * event["bonus_pre_tax"] / 10, 2)
    bonus = 1000 * round((event["scale_factor"] - 1) * 10) // 10
    assert bonus > 0
    assert after.available_cash == round(before.available_cash + cash, 2)
    held = {p.security: p for p in after.positions}[security]
    assert held.amount == 1000 + bonus
    assert held.closeable_amount == 1000  # bonus shares are closeable from the next day
    next_day = prices.day_at(index + 1)
    await clock.set(datetime.combine(next_day, datetime.min.time()).replace(hour=10))
    held = {p.security: p for p in (await broker.account("main")).positions}[security]
    assert held.closeable_amount == 1000 + bonus


async def _stock_with_bonus(data):  # type: ignore[no-untyped-def]
    """A SZ stock (no price cage in the simulator) with a bonus-share event in 2015."""
    for i in range(200):
        security = parse_security(f"{2000 + i:06d}.XSHE")
        for event in wire(await data.split_dividend(security)):
            if event["scale_factor"] > 1:
                return security, event
    raise AssertionError("no bonus event found")
