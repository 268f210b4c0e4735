from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

import pandas as pd
from fake_qmt_server import FakeServer, routes

from bullet_trade.client import AsyncConnection, AsyncRemoteProvider
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import HistoryQuery, Quote
from bullet_trade.wire.envelopes import dataframe_to_payload

BARS = pd.DataFrame(
    {"open": [10.0, 10.2], "close": [10.1, 10.3], "high": [10.2, 10.4], "low": [9.9, 10.1],
     "volume": [1000.0, 1200.0], "money": [10100.0, 12360.0]},
    index=pd.DatetimeIndex([datetime(2025, 1, 2), datetime(2025, 1, 3)], name="time"),
)


async def _provider(srv: FakeServer, make_config) -> AsyncRemoteProvider:
    conn = AsyncConnection(make_config(srv.port))
    await conn.connect()
    return AsyncRemoteProvider(conn)


async def test_history_restores_time_index_from_metadata(make_config) -> None:
    async with FakeServer(routes({"data.history": dataframe_to_payload(BARS)})) as srv:
        provider = await _provider(srv, make_config)
        try:
            frame = await provider.get_price("000001.XSHE", "2025-01-01", date(2025, 1, 3),
                                             fields=["open", "close"], skip_paused=True,
                                             panel=False)
            assert isinstance(frame.index, pd.DatetimeIndex)
            assert list(frame.index) == list(BARS.index)
            assert frame["close"].tolist() == [10.1, 10.3]
            payload = srv.received[0]["payload"]
            assert payload["panel"] is False and payload["skip_paused"] is True
            assert payload["start"] == "2025-01-01" and payload["end"] == "2025-01-03"
            assert payload["fields"] == ["open", "close"]
        finally:
            await provider.connection.close()


async def test_history_from_v1_time_column(make_config) -> None:
    v1 = {"dtype": "dataframe", "columns": ["time", "close"],
          "records": [[1735781400000, 11.19], [1735781460000, 11.2]]}
    async with FakeServer(routes({"data.history": v1})) as srv:
        provider = await _provider(srv, make_config)
        try:
            query = HistoryQuery(security=parse_security("000001.XSHE"), frequency="1m",
                                 start=datetime(2025, 1, 2, 9, 30), count=2)
            frame = await provider.history(query)
            assert frame.index.name == "time"
            assert frame.index[0] == pd.Timestamp("2025-01-02 09:30:00")
            assert frame["close"].dtype == float
            assert srv.received[0]["payload"]["start"] == "2025-01-02 09:30:00"
        finally:
            await provider.connection.close()


async def test_empty_history_has_contract_columns(make_config) -> None:
    async with FakeServer(routes({"data.history": {"dtype": "dataframe", "columns": [],
                                                   "records": []}})) as srv:
        provider = await _provider(srv, make_config)
        try:
            frame = await provider.history(HistoryQuery(security=parse_security("000001.XSHE")))
            assert frame.empty and "close" in frame.columns
            assert isinstance(frame.index, pd.DatetimeIndex)
        finally:
            await provider.connection.close()


async def test_quote_trade_days_and_security_info(make_config) -> None:
    info = {"dtype": "dict", "value": {"code": "600000.XSHG", "display_name": "浦发银行",
            "type": "stock", "start_date": "2005-04-08", "end_date": "2035-12-31"}}
    table = {
        "data.live_current": {"last_price": 10.0, "high_limit": 11.0, "low_limit": 9.0,
                              "paused": False},
        "data.snapshot": {"sid": "600000.XSHG", "last_price": 10.0, "dt": "2026-04-01 09:30:00"},
        "data.trade_days": {"dtype": "list", "values": ["2026-03-31", "2026-04-01 00:00:00"]},
        "data.security_info": info,
    }
    async with FakeServer(routes(table)) as srv:
        provider = await _provider(srv, make_config)
        try:
            quote = await provider.quote(parse_security("600000.SH"))
            assert quote.last_price == 10.0 and quote.high_limit == 11.0
            assert quote.dt == datetime(2026, 4, 1, 9, 30)
            assert await provider.trade_days() == [date(2026, 3, 31), date(2026, 4, 1)]
            days = await provider.get_trade_days(count=2)
            assert days[1] == pd.Timestamp("2026-04-01")
            sec = await provider.security_info(parse_security("600000.XSHG"))
            assert sec.display_name == "浦发银行" and sec.start_date == date(2005, 4, 8)
            assert (await provider.get_security_info("600000.XSHG"))["type"] == "stock"
        finally:
            await provider.connection.close()


async def test_tick_subscription_and_unsubscribe(make_config) -> None:
    table = {"data.subscribe": {"count": 1}, "data.unsubscribe": {"count": 0, "removed": 1}}
    quotes: list[Quote] = []
    got = asyncio.Event()

    def on_quote(q: Quote) -> None:
        quotes.append(q)
        got.set()

    async with FakeServer(routes(table)) as srv:
        provider = await _provider(srv, make_config)
        try:
            cancel = await provider.subscribe_quotes([parse_security("600000.XSHG")], on_quote)
            sub = await srv.next_request()
            assert sub["payload"] == {"securities": ["600000.XSHG"]}
            await srv.sessions[0].event("tick", {"symbol": "600000.SH", "sid": "600000.XSHG",
                                                 "last_price": 10.5, "dt": "2026-04-01 09:31:00"})
            await asyncio.wait_for(got.wait(), 2)
            assert quotes[0].last_price == 10.5
            assert quotes[0].security.jq == "600000.XSHG"
            cancel()
            unsub = await srv.next_request()
            assert unsub["action"] == "data.unsubscribe"
            assert unsub["payload"] == {"securities": ["600000.XSHG"]}
        finally:
            await provider.connection.close()


async def test_shared_symbol_unsubscribed_only_when_last_callback_leaves(make_config) -> None:
    table = {"data.subscribe": {"count": 1}, "data.unsubscribe": {"count": 0}}
    async with FakeServer(routes(table)) as srv:
        provider = await _provider(srv, make_config)
        try:
            def first(tick: dict[str, Any]) -> None: ...
            def second(tick: dict[str, Any]) -> None: ...
            await provider.subscribe_ticks(["000001.XSHE"], first)
            await provider.subscribe_ticks(["000001.SZ"], second)
            await provider.unsubscribe_ticks(["000001.XSHE"], first)
            assert [f["action"] for f in srv.received] == ["data.subscribe"]
            await provider.unsubscribe_ticks()
            assert [f["action"] for f in srv.received] == ["data.subscribe", "data.unsubscribe"]
        finally:
            await provider.connection.close()
