"""Reference data handlers (``data.get_all_securities``, ``data.get_index_stocks``,
``data.get_split_dividend`` and their v1 aliases) over the simulator and over a provider
without the capability."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from handler_fakes import ACCOUNTS, FakeData, FakeSession, make_ctx, make_state

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.errors import BadRequest, Unsupported
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.context import ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.server.handlers.reference import SECURITY_COLUMNS
from bullet_trade.wire.envelopes import payload_to_dataframe

NOW = datetime(2025, 1, 2, 10, 0, 0)


class Table:
    def __init__(self, data: Any) -> None:
        self.state: ServerState = make_state(data=data, broker=None)
        self.table = build_action_table(self.state)

    async def __call__(self, action: str, payload: dict[str, Any]) -> Any:
        return await self.table[action].handler(
            make_ctx(self.state, action, FakeSession()), payload
        )


@pytest.fixture
def sim() -> Table:
    data, _ = build_sim_backend(SimConfig(), ACCOUNTS, ManualClock(NOW))
    return Table(data)


async def test_all_securities_frame_with_the_code_index(sim: Table) -> None:
    reply = await sim("data.get_all_securities", {"types": ["etf", "index"], "date": None})
    assert reply["dtype"] == "dataframe" and reply["index_columns"] == ["code"]
    assert reply["columns"] == ["code", *SECURITY_COLUMNS]
    assert all(len(row) == len(reply["columns"]) for row in reply["records"])  # not W-P8
    frame = payload_to_dataframe(reply)
    assert frame.index.name == "code" and list(frame.columns) == list(SECURITY_COLUMNS)
    assert frame.loc["510300.XSHG", "display_name"] == "沪深300ETF"
    assert frame.loc["000300.XSHG"].to_dict() == {
        "display_name": "沪深300", "name": "000300", "start_date": "2015-01-05",
        "end_date": "2200-01-01", "type": "index", "qmt_code": "000300.SH"}
    stocks = payload_to_dataframe(await sim("data.all_securities", {}))
    assert set(stocks["type"]) == {"stock"} and "600519.XSHG" in stocks.index
    same = await sim("data.get_all_securities", {"types": "stock"})
    assert payload_to_dataframe(same).equals(stocks)
    empty = await sim("data.get_all_securities", {"types": "index", "date": "2014-01-02"})
    assert empty["records"] == [] and empty["columns"] == ["code", *SECURITY_COLUMNS]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"types": ["stock", "futures"]}, "types[1]"),
        ({"types": 3}, "types"),
        ({"types": "bond"}, "types"),
        ({"date": "yesterday"}, "date"),
    ],
)
async def test_all_securities_bad_input(sim: Table, payload: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as info:
        await sim("data.get_all_securities", payload)
    assert info.value.field == field


async def test_index_stocks_values(sim: Table) -> None:
    reply = await sim("data.get_index_stocks", {"index_symbol": "000300.SH", "date": None})
    assert list(reply) == ["values"] and len(reply["values"]) == 300
    assert reply["values"] == sorted(reply["values"]) and "600519.XSHG" in reply["values"]
    alias = await sim("data.index_stocks", {"index": "000016.XSHG"})
    assert len(alias["values"]) == 50 and set(alias["values"]) <= set(reply["values"])
    for payload, field in (({}, "index_symbol"), ({"index_symbol": "300"}, "index_symbol")):
        with pytest.raises(BadRequest) as info:
            await sim("data.get_index_stocks", payload)
        assert info.value.field == field


async def test_split_dividend_events(sim: Table) -> None:
    reply = await sim("data.get_split_dividend", {"security": "000001.SZ"})
    events = reply["events"]
    assert events and events == sorted(events, key=lambda e: e["date"])
    assert set(events[0]) == {"security", "date", "security_type", "scale_factor",
                              "bonus_pre_tax", "per_base"}
    assert events[0]["security"] == "000001.XSHE" and events[0]["per_base"] == 10
    some = await sim("data.split_dividend", {"security": "000001.XSHE",
                                             "start_date": "2018-01-01", "end": "2020-12-31"})
    assert some["events"] == [e for e in events if "2018" <= e["date"][:4] <= "2020"]
    assert (await sim("data.get_split_dividend", {"security": "000300.XSHG"}))["events"] == []
    for payload, field in (
        ({}, "security"),
        ({"security": "000001.XSHE", "start": "2021-01-01", "end": "2020-01-01"}, "start"),
        ({"security": "000001.XSHE", "start_date": "2021-01-01", "end": "2020-01-01"},
         "start_date"),
        ({"security": "000001.XSHE", "end_date": "soon"}, "end_date"),
    ):
        with pytest.raises(BadRequest) as info:
            await sim("data.get_split_dividend", payload)
        assert info.value.field == field


@pytest.mark.parametrize(
    "action",
    ["data.get_all_securities", "data.all_securities", "data.get_index_stocks",
     "data.index_stocks", "data.get_split_dividend", "data.split_dividend"],
)
async def test_provider_without_reference_data_is_unsupported(action: str) -> None:
    table = Table(FakeData())
    payload = {"index_symbol": "000300.XSHG", "security": "000001.XSHE"}
    with pytest.raises(Unsupported, match=action.replace(".", r"\.")):
        await table(action, payload)
    disabled = Table(None)
    with pytest.raises(Unsupported, match="disabled"):
        await disabled(action, payload)
