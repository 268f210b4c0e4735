"""Data actions: response shapes (protocol.md 5.2, 5.3, Appendix A) and history assembly."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
from handler_fakes import FakeData, FakeSession, make_ctx, make_state

from bullet_trade.errors import BadRequest, Unsupported
from bullet_trade.server.context import ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.wire.envelopes import payload_to_dataframe


async def call(
    state: ServerState, action: str, payload: dict[str, Any], session: FakeSession | None = None
) -> Any:
    table = build_action_table(state)
    return await table[action].handler(make_ctx(state, action, session), payload)


@pytest.fixture
def data() -> FakeData:
    return FakeData()


@pytest.fixture
def state(data: FakeData) -> ServerState:
    return make_state(data=data)


async def test_history_single_security_keeps_the_time_index(
    state: ServerState, data: FakeData
) -> None:
    out = await call(
        state, "data.history", {"security": "600000.SH", "count": 3, "fields": ["close", "volume"]}
    )
    assert out["dtype"] == "dataframe"
    assert out["columns"] == ["time", "close", "volume"]
    assert out["index_columns"] == ["time"] and out["index_type"] == "DatetimeIndex"
    assert out["records"][0] == ["2025-01-02 00:00:00", 0.5 + 600000 % 97, 1000.0]
    assert len(out["records"]) == 3
    frame = payload_to_dataframe(out)
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert list(frame.index.strftime("%Y-%m-%d")) == ["2025-01-02", "2025-01-03", "2025-01-04"]
    query = data.queries[0]
    assert (query.security.jq, query.count, query.frequency, query.fq) == (
        "600000.XSHG",
        3,
        "1d",
        "pre",
    )


async def test_history_default_fields_and_frequency_aliases(
    state: ServerState, data: FakeData
) -> None:
    out = await call(
        state,
        "data.history",
        {"security": "000001.XSHE", "count": 2, "period": "minute", "fq": None},
    )
    assert out["columns"] == ["time", "open", "close", "high", "low", "volume", "money"]
    assert (data.queries[0].frequency, data.queries[0].fq) == ("1m", "none")
    for given, expected in [("daily", "1d"), ("1D", "1d"), ("5m", "5m"), ("60m", "60m")]:
        await call(state, "data.history", {"security": "000001.XSHE", "frequency": given})
        assert data.queries[-1].frequency == expected


async def test_history_range_is_forwarded(state: ServerState, data: FakeData) -> None:
    await call(
        state,
        "data.history",
        {
            "security": "000001.XSHE",
            "start_date": "20250101",
            "end_date": "2025-01-31 15:00:00",
            "fq": "post",
        },
    )
    query = data.queries[0]
    assert (str(query.start), str(query.end), query.count, query.fq) == (
        "2025-01-01 00:00:00",
        "2025-01-31 15:00:00",
        None,
        "post",
    )


async def test_history_skip_paused_drops_paused_rows(state: ServerState) -> None:
    out = await call(
        state,
        "data.history",
        {"security": "600000.XSHG", "count": 6, "fields": ["close", "paused"], "skip_paused": True},
    )
    times = [row[0] for row in out["records"]]
    assert times == [
        "2025-01-02 00:00:00",
        "2025-01-04 00:00:00",
        "2025-01-05 00:00:00",
        "2025-01-07 00:00:00",
    ]
    assert all(row[2] == 0.0 for row in out["records"])


async def test_history_several_securities_panel(state: ServerState, data: FakeData) -> None:
    out = await call(
        state,
        "data.history",
        {"security": ["600000.XSHG", "000001.SZ"], "count": 2, "fields": ["open", "close"]},
    )
    assert out["column_tuples"] == [
        ["time", ""],
        ["open", "600000.XSHG"],
        ["open", "000001.XSHE"],
        ["close", "600000.XSHG"],
        ["close", "000001.XSHE"],
    ]
    assert out["column_index_names"] == ["field", "code"]
    # 600000 has bars on 01-02 and 01-03, 000001 on 01-03 and 01-04: the union, NaN as null
    assert [r[0] for r in out["records"]] == [
        "2025-01-02 00:00:00",
        "2025-01-03 00:00:00",
        "2025-01-04 00:00:00",
    ]
    base_a, base_b = 600000 % 97, 1 % 97
    assert out["records"][0] == ["2025-01-02 00:00:00", base_a, None, base_a + 0.5, None]
    assert out["records"][1] == [
        "2025-01-03 00:00:00",
        base_a + 1,
        base_b,
        base_a + 1.5,
        base_b + 0.5,
    ]
    frame = payload_to_dataframe(out)
    assert frame.columns.names == ["field", "code"]
    assert frame[("close", "000001.XSHE")].iloc[-1] == base_b + 1.5
    assert len(data.queries) == 2


async def test_history_several_securities_long_table(state: ServerState) -> None:
    out = await call(
        state,
        "data.history",
        {
            "security": ["600000.XSHG", "000002.XSHE", "000001.XSHE"],
            "count": 2,
            "fields": ["close"],
            "panel": False,
        },
    )
    assert out["columns"] == ["time", "code", "close"]
    assert "index_columns" not in out
    assert out["records"] == [
        ["2025-01-02 00:00:00", "600000.XSHG", 600000 % 97 + 0.5],
        ["2025-01-03 00:00:00", "600000.XSHG", 600000 % 97 + 1.5],
        ["2025-01-03 00:00:00", "000001.XSHE", 1.5],
        ["2025-01-04 00:00:00", "000001.XSHE", 2.5],
    ]


async def test_history_list_of_one_is_a_panel_and_empty_long_table(state: ServerState) -> None:
    out = await call(
        state, "data.history", {"security": ["000001.XSHE"], "count": 1, "fields": ["close"]}
    )
    assert out["column_tuples"][1] == ["close", "000001.XSHE"]
    empty = await call(
        state, "data.history", {"security": ["000002.XSHE"], "panel": False, "fields": ["close"]}
    )
    assert (empty["columns"], empty["records"]) == (["time", "code", "close"], [])


async def test_snapshot_current_tick_live_current(state: ServerState) -> None:
    snap = await call(state, "data.snapshot", {"security": "000001.sz"})
    assert snap == {"sid": "000001.XSHE", "last_price": 10.5, "dt": "2025-01-02 10:00:00"}
    assert await call(state, "data.current_tick", {"stockcode": "000001.XSHE"}) == snap
    assert await call(state, "data.current_tick", {"stock": "000001.SZ"}) == snap
    live = await call(state, "data.live_current", {"security": "000001.XSHE"})
    assert {k: live[k] for k in ("last_price", "high_limit", "low_limit", "paused")} == {
        "last_price": 10.5,
        "high_limit": 11.55,
        "low_limit": 9.45,
        "paused": False,
    }


async def test_trade_days_format(state: ServerState, data: FakeData) -> None:
    out = await call(state, "data.trade_days", {"count": 2, "end": "2025-01-06"})
    assert out == {"dtype": "list", "values": ["2025-01-03", "2025-01-06"]}
    assert data.trade_day_calls[-1][1:] == (date(2025, 1, 6), 2)
    await call(state, "data.trade_days", {"start_date": "2025-01-01", "end_date": "20250110"})
    assert [str(d) for d in data.trade_day_calls[-1][:2]] == ["2025-01-01", "2025-01-10"]


async def test_security_info_is_flattened(state: ServerState) -> None:
    out = await call(state, "data.security_info", {"security": "600000.SH", "date": "2025-01-01"})
    assert out["dtype"] == "dict"
    assert out["value"]["code"] == "600000.XSHG" and out["code"] == "600000.XSHG"
    assert out["qmt_code"] == "600000.SH" and out["display_name"] == "浦发银行"
    assert out["start_date"] == "1999-11-10" and out["end_date"] == "2200-01-01"
    assert "subtype" not in out and out["value"]["subtype"] is None  # nulls are not flattened


async def test_subscribe_string_is_one_symbol(state: ServerState) -> None:
    session = FakeSession()
    out = await call(state, "data.subscribe", {"securities": " 000001.xshe "}, session)
    assert out == {"count": 1}
    assert session.subscribe_calls == [["000001.XSHE"]]


async def test_subscribe_list_symbols_alias_and_unsubscribe(state: ServerState) -> None:
    session = FakeSession()
    assert await call(
        state, "data.subscribe", {"securities": ["000001.XSHE", "600000.XSHG", ""]}, session
    ) == {"count": 2}
    assert await call(
        state, "data.subscribe", {"securities": None, "symbols": ["000001.SZ"]}, session
    ) == {"count": 3}
    assert await call(state, "data.unsubscribe", {"securities": ["000001.XSHE"]}, session) == {
        "count": 2,
        "removed": 1,
    }
    assert await call(state, "data.unsubscribe", {"securities": None}, session) == {
        "count": 0,
        "removed": 2,
    }
    assert await call(state, "data.unsubscribe_all", {}, session) == {"count": 0}
    await call(state, "data.subscribe", {"symbols": "600000.XSHG"}, session)
    assert await call(state, "data.unsubscribe_all", {}, session) == {"count": 0, "removed": 1}


async def test_subscribe_limit_comes_from_the_session(state: ServerState) -> None:
    session = FakeSession(limit=200)
    symbols = [f"{i:06d}.XSHE" for i in range(201)]
    with pytest.raises(BadRequest, match="200"):
        await call(state, "data.subscribe", {"symbols": symbols}, session)
    assert await call(state, "data.unsubscribe_all", {}, session) == {"count": 0}


async def test_data_disabled() -> None:
    state = make_state(data=None)
    table = build_action_table(state)
    assert table["data.subscribe"].service == "data"
    assert (
        table["data.unsubscribe"].service is None and table["data.unsubscribe_all"].service is None
    )
    session = FakeSession()
    assert await call(state, "data.unsubscribe", {"securities": ["000001.XSHE"]}, session) == {
        "count": 0
    }
    assert await call(state, "data.unsubscribe_all", {}, session) == {"count": 0}
    with pytest.raises(Unsupported):
        await call(state, "data.history", {"security": "000001.XSHE"})


async def test_history_panel_with_a_security_without_data(state: ServerState) -> None:
    out = await call(
        state,
        "data.history",
        {"security": ["000002.XSHE", "000001.XSHE"], "count": 2, "fields": ["close"]},
    )
    assert out["column_tuples"][1:] == [["close", "000002.XSHE"], ["close", "000001.XSHE"]]
    assert out["records"] == [
        ["2025-01-03 00:00:00", None, 1.5],
        ["2025-01-04 00:00:00", None, 2.5],
    ]
