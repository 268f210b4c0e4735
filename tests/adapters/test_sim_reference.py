"""Reference data of the simulator: the listing (``all_securities``), index constituents and
ex-dividend events as records; consistent with ``security_info`` and deterministic."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bullet_trade.adapters.contracts import ReferenceData
from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.adapters.sim.data import SimDataAdapter
from bullet_trade.adapters.sim.universe import ORIGIN, ST_CODES
from bullet_trade.config import SimConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import Exchange, parse_security
from bullet_trade.model.records import DividendEvent
from bullet_trade.model.rules import Board, board_of


def make(seed: int = 1) -> SimDataAdapter:
    clock = ManualClock(datetime(2026, 11, 24, 10, 0))
    data, _ = build_sim_backend(SimConfig(seed=seed, clock_mode="real"), [], clock)
    return data


async def test_listing_by_type_with_the_well_known_names() -> None:
    data = make()
    assert isinstance(data, ReferenceData)
    stocks = await data.all_securities(["stock"])
    codes = [i.security.jq for i in stocks]
    assert codes == sorted(codes) and len(set(codes)) == len(codes)
    assert 2000 < len(stocks) < 3500
    boards = {board_of(i.security) for i in stocks}
    assert boards == {Board.MAIN, Board.CHINEXT, Board.STAR, Board.BSE}
    names = {i.security.jq: i.display_name for i in stocks}
    assert names["000001.XSHE"] == "平安银行" and names["600519.XSHG"] == "贵州茅台"
    assert "920001.BJSE" in names and set(ST_CODES) <= set(names)
    for info in stocks[::97]:
        assert info == await data.security_info(info.security)  # same record
    assert all(i.start_date == ORIGIN and i.end_date is None for i in stocks)
    etfs = await data.all_securities(["etf"])
    assert {"510300.XSHG", "159915.XSHE", "518880.XSHG"} <= {i.security.jq for i in etfs}
    assert all(i.type == "etf" for i in etfs)
    assert await data.all_securities(["fund"]) == etfs
    indices = [i.security.jq for i in await data.all_securities(["index"])]
    assert {"000300.XSHG", "000001.XSHG", "399001.XSHE"} <= set(indices)
    both = await data.all_securities(["etf", "index", "etf"])
    assert len(both) == len(etfs) + len(indices)
    assert await data.all_securities([]) == stocks


async def test_listing_date_filter_type_errors_and_determinism() -> None:
    data = make()
    stocks = await data.all_securities(["stock"])
    assert await data.all_securities(["stock"], date(2014, 12, 31)) == []
    assert await data.all_securities(["stock"], ORIGIN) == stocks
    assert await make(seed=9).all_securities(["stock"]) == stocks
    with pytest.raises(BadRequest) as info:
        await data.all_securities(["futures"])
    assert info.value.field == "types"


async def test_index_constituents_are_consistent_with_the_listing() -> None:
    data = make()
    stocks = {i.security for i in await data.all_securities(["stock"])}

    async def members(code: str) -> list:  # type: ignore[type-arg]
        return await data.index_stocks(parse_security(code))

    csi300, csi500 = await members("000300.XSHG"), await members("000905.XSHG")
    assert len(csi300) == 300 and len(csi500) == 500 and not set(csi300) & set(csi500)
    assert set(csi300) <= stocks and set(csi500) <= stocks
    assert csi300 == sorted(csi300, key=lambda s: s.jq)
    assert parse_security("600519.XSHG") in csi300
    assert not {s.jq for s in csi300} & ST_CODES
    sse50 = await members("000016.XSHG")
    assert len(sse50) == 50 and set(sse50) <= set(csi300)
    assert all(s.exchange is Exchange.SH for s in sse50)
    szse = await members("399001.XSHE")
    assert len(szse) == 500 and all(s.exchange is Exchange.SZ for s in szse)
    composite = await members("000001.XSHG")
    assert set(composite) == {s for s in stocks if s.exchange is Exchange.SH}
    assert await members("000001.XSHG") == await make(seed=3).index_stocks(
        parse_security("000001.XSHG"))
    assert await members("000852.XSHG") == []
    assert await data.index_stocks(parse_security("000300.XSHG"), date(2014, 1, 1)) == []
    with pytest.raises(BadRequest) as info:
        await data.index_stocks("nonsense")  # type: ignore[arg-type]
    assert info.value.field == "index"


async def test_split_dividend_gives_records_with_the_v1_row() -> None:
    data = make()
    events = await data.split_dividend(parse_security("000001.XSHE"))
    assert events and all(isinstance(e, DividendEvent) for e in events)
    row = events[0].to_wire()
    assert list(row) == ["security", "date", "security_type", "scale_factor",
                         "bonus_pre_tax", "per_base"]
    assert row["security"] == "000001.XSHE" and row["date"] == events[0].ex_date.isoformat()
    assert events[0].cash_per_share == pytest.approx(row["bonus_pre_tax"] / 10)
    with pytest.raises(ValueError):
        DividendEvent(security=events[0].security, ex_date=ORIGIN, security_type="stock",
                      scale_factor=0.5, bonus_pre_tax=1.0, per_base=10)
