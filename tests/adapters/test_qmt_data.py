"""QmtDataAdapter on the fake xtquant: history layout/units vs the simulator, quotes, trade
days, security info, reference-counted subscriptions, a hung xtdata call, and
``history_batch`` (one xtdata call for many codes, same bars as per-code ``history``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest
from qmt_kit import Kit, close_kit, kit_fixture, make_kit

from bullet_trade.adapters.contracts import HISTORY_COLUMNS, BatchHistoryProvider, HistoryBatch
from bullet_trade.adapters.qmt.worker import XtWorker
from bullet_trade.adapters.sim.data import SimDataAdapter
from bullet_trade.errors import BackendUnavailable, BadRequest
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import HistoryQuery, Quote
from bullet_trade.testing.fake_xtquant import xtdata as fake_xtdata

SEC = parse_security("600000.XSHG")


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    async for k in kit_fixture():
        yield k


def sim_of(kit: Kit) -> SimDataAdapter:
    return SimDataAdapter(kit.exchange.market, kit.exchange.market.config)


async def test_daily_history_matches_the_simulator(kit: Kit) -> None:
    query = HistoryQuery(security=SEC, frequency="1d", count=3, fq="none")
    got = await kit.data.history(query)
    want = await sim_of(kit).history(query)
    assert got.index.name == "time" and list(got.index) == list(want.index)
    assert list(got.columns)[:6] == list(HISTORY_COLUMNS)
    assert got["close"].tolist() == want["close"].tolist()
    assert (got["volume"] % 100 == 0).all()  # lots converted back to shares


async def test_minute_history_merges_the_auction_bar(kit: Kit) -> None:
    query = HistoryQuery(security=SEC, frequency="1m", start=datetime(2026, 11, 24, 9, 0),
                         end=datetime(2026, 11, 24, 9, 35), fq="pre")
    got = await kit.data.history(query)
    want = await sim_of(kit).history(query)
    assert [t.strftime("%H:%M") for t in got.index] == ["09:31", "09:32", "09:33", "09:34",
                                                         "09:35"]
    assert got["open"].tolist() == want["open"].tolist()
    counted = await kit.data.history(HistoryQuery(security=SEC, frequency="5m", count=4))
    assert len(counted) == 4 and counted.index[-1] == datetime(2026, 11, 24, 10, 0)


async def test_quote_trade_days_and_security_info(kit: Kit) -> None:
    quote = await kit.data.quote(SEC)
    want = kit.exchange.market.quote(SEC)
    assert (quote.last_price, quote.high_limit, quote.low_limit) == (
        want.last_price, want.high_limit, want.low_limit)
    assert quote.name == "浦发银行" and quote.dt == datetime(2026, 11, 24, 10, 0)
    assert quote.volume == want.volume // 100 * 100 and quote.bids[0][1] % 100 == 0
    assert await kit.data.trade_days(count=2) == [date(2026, 11, 23), date(2026, 11, 24)]
    info = await kit.data.security_info(parse_security("510300.XSHG"))
    assert info.type == "etf" and info.start_date == date(2015, 1, 5) and info.end_date is None


@pytest.mark.parametrize("inside", [False, True], ids=["before-the-client", "inside-the-sdk"])
async def test_a_hung_call_does_not_block_other_requests(inside: bool) -> None:
    """A call hung in xtdata fails by its timeout; meanwhile other market data requests are
    refused at once (never run concurrently with it: the fake would flag that), trading is
    unaffected, and data service resumes once the hung call returns."""
    kit = await make_kit(call_timeout=0.2)
    try:
        hang = kit.exchange.hang("get_full_tick", inside=inside)
        with pytest.raises(BackendUnavailable) as info:
            await kit.data.quote(SEC)
        assert "get_full_tick" in info.value.message and hang.entered.is_set()
        with pytest.raises(BackendUnavailable) as busy:
            await asyncio.wait_for(kit.data.trade_days(count=1), 0.1)  # fast, not a timeout
        assert busy.value.details["hung_call"] == "get_full_tick"
        assert kit.data.readiness()["ready"] is False
        assert kit.data.readiness()["hung_calls"] == 1
        assert (await kit.broker.account("main")).available_cash > 0
        hang.set()
        await kit.data.worker.wait_hung(5)
        assert await kit.data.trade_days(count=1) == [date(2026, 11, 24)]
        assert (await kit.data.quote(SEC)).last_price > 0
        assert kit.data.readiness()["ready"] is True
        assert kit.exchange.faults.violations == []
    finally:
        await close_kit(kit)


async def test_calls_queued_behind_a_hung_call_fail_at_once() -> None:
    worker = XtWorker("xtdata-test", timeout=0.2)
    gate = threading.Event()

    def stuck() -> str:
        gate.wait()
        return "late"

    try:
        hung = asyncio.ensure_future(worker.call(stuck))
        queued = asyncio.ensure_future(worker.call(lambda: "queued", timeout=30))
        with pytest.raises(BackendUnavailable):
            await hung
        with pytest.raises(BackendUnavailable) as info:
            await asyncio.wait_for(queued, 2)  # failed with the hang, not after its 30 s
        assert info.value.details["hung_call"] == "stuck" and not worker.usable
        gate.set()
        await worker.wait_hung(5)
        assert worker.usable and await worker.call(lambda: 7) == 7
    finally:
        gate.set()
        worker.close()


async def test_subscriptions_are_reference_counted(kit: Kit) -> None:
    first: asyncio.Queue[Quote] = asyncio.Queue()
    second: asyncio.Queue[Quote] = asyncio.Queue()
    stop_a = await kit.data.subscribe_quotes([SEC], first.put_nowait)
    stop_b = await kit.data.subscribe_quotes([SEC], second.put_nowait)
    assert kit.exchange.feed.active() == ["600000.SH"]
    quote = await asyncio.wait_for(first.get(), 5)
    assert quote.security == SEC and quote.high_limit > quote.last_price > 0
    kit.exchange.push_ticks()
    await asyncio.wait_for(second.get(), 5)
    stop_a()
    stop_a()
    await kit.data.drain()
    assert kit.exchange.feed.active() == ["600000.SH"]
    stop_b()
    await kit.data.drain()
    assert kit.exchange.feed.active() == []


async def _per_code(kit: Kit, queries: list[HistoryQuery]) -> list[pd.DataFrame]:
    return [await kit.data.history(q) for q in queries]


def _assert_same(batch: HistoryBatch, frames: list[pd.DataFrame]) -> None:
    assert isinstance(batch, HistoryBatch)
    for got, want in zip(batch.frames(), frames, strict=True):
        assert list(got.columns) == list(want.columns)
        if len(want):
            pd.testing.assert_frame_equal(got, want, check_freq=False)
        else:
            assert got.empty


@pytest.mark.parametrize(
    "window",
    [{"count": 5}, {"start": datetime(2026, 11, 2), "end": datetime(2026, 11, 20)}],
    ids=["count", "range"],
)
async def test_daily_batch_is_one_xtdata_call_with_the_per_code_bars(
    kit: Kit, window: dict[str, Any]
) -> None:
    codes = ["600000.XSHG", "000001.XSHE", "510300.XSHG", "600000.XSHG"]
    queries = [HistoryQuery(security=parse_security(c), frequency="1d", fq="none", **window)
               for c in codes]
    assert isinstance(kit.data, BatchHistoryProvider)
    fake_xtdata.calls.clear()
    batch = await kit.data.history_batch(queries)
    assert fake_xtdata.calls["get_market_data_ex"] == 1
    assert fake_xtdata.calls["download_history_data2"] == 1
    assert fake_xtdata.calls["download_history_data"] == 0
    assert min(batch.lengths.tolist()) > 0
    _assert_same(batch, await _per_code(kit, queries))


async def test_mixed_batch_keeps_query_order_and_merges_the_auction(kit: Kit) -> None:
    minute = {"frequency": "1m", "start": datetime(2026, 11, 24, 9, 0),
              "end": datetime(2026, 11, 24, 9, 35)}
    queries = [
        HistoryQuery(security=SEC, **minute),
        HistoryQuery(security=parse_security("000001.XSHE"), frequency="1d", count=3),
        HistoryQuery(security=parse_security("000001.XSHE"), **minute),
        HistoryQuery(security=SEC, frequency="5m", count=4),
        HistoryQuery(security=SEC, start=datetime(2001, 1, 1), end=datetime(2001, 2, 1)),
    ]
    fake_xtdata.calls.clear()
    batch = await kit.data.history_batch(queries)
    assert fake_xtdata.calls["get_market_data_ex"] == 4  # one per (period, window, fq)
    assert batch.lengths.tolist() == [5, 3, 5, 4, 0]
    _assert_same(batch, await _per_code(kit, queries))


async def test_batch_refuses_an_invalid_query_before_calling_xtdata(kit: Kit) -> None:
    fake_xtdata.calls.clear()
    with pytest.raises(BadRequest) as info:
        await kit.data.history_batch([HistoryQuery(security=SEC),
                                      HistoryQuery(security=SEC, frequency="2m")])
    assert info.value.field == "frequency" and not fake_xtdata.calls


def test_fake_get_market_data_ex_takes_a_stock_list(kit: Kit) -> None:
    fake_xtdata.download_history_data2(["600000.SH", "000001.SZ"], "1d")
    result = fake_xtdata.get_market_data_ex([], ["600000.SH", "000001.SZ", "000002.SZ"],
                                            period="1d", count=2)
    assert list(result) == ["600000.SH", "000001.SZ", "000002.SZ"]
    assert [len(result[c]) for c in result] == [2, 2, 0]  # not downloaded: empty
