"""QmtDataAdapter's reference data on the fake xtquant (sectors, index weights, dividend
factors): the same answers as the simulator behind it, plus the xtdata edge cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from qmt_kit import Kit, kit_fixture

from bullet_trade.adapters.contracts import ReferenceData
from bullet_trade.adapters.qmt import reference
from bullet_trade.adapters.qmt.worker import XtWorker
from bullet_trade.adapters.sim.data import SimDataAdapter
from bullet_trade.errors import BackendUnavailable, BadRequest
from bullet_trade.model.codes import parse_security
from bullet_trade.testing.fake_xtquant import sectors
from bullet_trade.testing.fake_xtquant import xtdata as fake_xtdata

PINGAN = parse_security("000001.XSHE")


@pytest.fixture
async def kit() -> AsyncIterator[Kit]:
    async for k in kit_fixture():
        yield k


def sim_of(kit: Kit) -> SimDataAdapter:
    return SimDataAdapter(kit.exchange.market, kit.exchange.market.config)


async def test_all_securities_match_the_simulator(kit: Kit) -> None:
    assert isinstance(kit.data, ReferenceData)
    sim = sim_of(kit)
    for types in (["index"], ["etf"], ["stock"]):
        assert await kit.data.all_securities(types) == await sim.all_securities(types)
    assert await kit.data.all_securities(["index"], date(2014, 1, 1)) == []
    with pytest.raises(BadRequest):
        await kit.data.all_securities(["warrant"])


async def test_index_stocks_download_weights_once_a_day(kit: Kit) -> None:
    assert fake_xtdata.get_index_weight("000300.SH") == {}  # local-first until downloaded
    sim = sim_of(kit)
    for code in ("000300.XSHG", "000016.XSHG", "399001.XSHE", "000852.XSHG"):
        index = parse_security(code)
        assert await kit.data.index_stocks(index) == await sim.index_stocks(index)
    assert fake_xtdata.calls["download_index_weight"] == 1
    weights = sectors.index_weight("000300.SH")
    assert len(weights) == 300 and sum(weights.values()) == pytest.approx(1.0)


async def test_split_dividend_matches_the_simulator(kit: Kit) -> None:
    sim = sim_of(kit)
    for security in (PINGAN, parse_security("510300.XSHG"), parse_security("000300.XSHG")):
        assert await kit.data.split_dividend(security) == await sim.split_dividend(security)
    window = (date(2019, 1, 1), date(2022, 6, 30))
    assert await kit.data.split_dividend(PINGAN, *window) == await sim.split_dividend(
        PINGAN, *window)
    with pytest.raises(BadRequest) as info:
        await kit.data.split_dividend(PINGAN, date(2022, 1, 1), date(2021, 1, 1))
    assert info.value.field == "start"


async def test_sdk_failure_is_backend_unavailable(kit: Kit) -> None:
    kit.exchange.data_online = False
    with pytest.raises(BackendUnavailable, match="get_divid_factors"):
        await kit.data.split_dividend(PINGAN)


def test_sector_names_as_xtquant_reads_them() -> None:
    assert sectors.stock_list_in_sector("沪深/指数") == sectors.stock_list_in_sector("沪深指数")
    assert "000300.SH" in sectors.stock_list_in_sector("沪深指数")
    assert sectors.stock_list_in_sector("no such sector") == []
    assert all(c.endswith(".BJ") for c in sectors.stock_list_in_sector("京市A股"))
    assert set(sectors.stock_list_in_sector("上证A股")) < set(
        sectors.stock_list_in_sector("沪深A股"))


def test_divid_factor_rows_to_events() -> None:
    frame = pd.DataFrame(
        {
            "time": [1_600_000_000_000, 1_610_000_000_000, 1_620_000_000_000],
            "interest": [0.25, 0.0, 0.1],
            "stockBonus": [0.1, 0.0, 0.0],
            "stockGift": [0.2, 0.0, 0.0],
            "allotNum": [0.0, 0.0, 0.0],
        },
        index=["not-a-date", "20210107", "20210503"],
    )
    events = reference.events_from_factors(PINGAN, frame, None, None)
    assert [e.ex_date for e in events] == [date(2020, 9, 13), date(2021, 5, 3)]  # zero row out
    first = events[0].to_wire()
    assert first["scale_factor"] == 1.3 and first["bonus_pre_tax"] == 2.5
    assert first["per_base"] == 10 and first["security_type"] == "stock"
    fund = reference.events_from_factors(parse_security("510300.XSHG"), frame, None, None)
    assert fund[0].per_base == 1 and fund[0].bonus_pre_tax == 0.25
    assert reference.events_from_factors(PINGAN, frame, date(2021, 1, 1), None)[0].ex_date == \
        date(2021, 5, 3)
    assert reference.events_from_factors(PINGAN, None, None, None) == []


async def test_sdk_without_detail_list_and_failed_weight_download() -> None:
    def failing_download() -> None:
        raise Exception("下载失败")

    stub: Any = SimpleNamespace(
        get_stock_list_in_sector=lambda name: ["600000.SH", "bogus", "110000.SH"]
        if name == "沪深A股" else [],
        get_instrument_detail=lambda code: {"InstrumentName": "浦发银行", "OpenDate": "19991110",
                                            "ExpireDate": 99999999} if code == "600000.SH"
        else None,
        download_index_weight=failing_download,
        get_index_weight=lambda code: {"600000.SH": 0.5, "junk": 0.5},
    )
    worker = XtWorker("test-xtdata", 2.0)
    try:
        infos = await reference.all_securities(worker, stub, ["stock"], None)
        assert [(i.security.jq, i.display_name, i.start_date, i.end_date) for i in infos] == [
            ("600000.XSHG", "浦发银行", date(1999, 11, 10), None)]
        members = await reference.index_stocks(
            worker, stub, parse_security("000300.XSHG"), date(2026, 1, 5), 2.0)
        assert members == [parse_security("600000.XSHG")]
    finally:
        worker.close()
