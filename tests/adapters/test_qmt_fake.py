"""The fake xtquant reproduces the traps of the real SDK (shared/spec/xtquant.md 0 and 7)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.testing.fake_xtquant import FakeExchange, installed


@pytest.fixture
def xt() -> Iterator[Any]:
    market = SimMarket(SimConfig(clock_mode="real"), ManualClock(datetime(2026, 11, 24, 10)))
    with installed(FakeExchange(market, ["111"])) as exchange:
        import xtquant

        yield xtquant, exchange


def test_constants_account_and_market_data_layout(xt: Any) -> None:
    xtquant, _ = xt
    xc, xtdata = xtquant.xtconstant, xtquant.xtdata
    assert (xc.ORDER_PART_CANCEL, xc.ORDER_CANCELED, xc.ORDER_SUCCEEDED) == (53, 54, 56)
    assert xtquant.xttype.StockAccount("111").account_type == 2
    assert xtquant.xttype.StockAccount(111) == "资金账号必须为字符串类型"
    assert xtdata.get_market_data_ex([], ["600000.SH"], "1d", count=2)["600000.SH"].empty
    xtdata.download_history_data("600000.SH", "1m")
    frame = xtdata.get_market_data_ex([], ["600000.SH"], "1m", start_time="20261124000000",
                                      end_time="20261124093200")["600000.SH"]
    assert list(frame.index) == ["20261124093000", "20261124093100", "20261124093200"]
    assert "settelementPrice" in frame.columns and frame["time"].iloc[0] > 10**12
    tick = xtdata.get_full_tick(["600000.SH"])["600000.SH"]
    assert tick["pvolume"] == tick["volume"] * 100 and "timetag" in tick


def test_trader_traps(xt: Any) -> None:
    xtquant, _ = xt
    received: list[Any] = []
    threads: set[str] = set()
    done = threading.Event()

    class Callback(xtquant.xttrader.XtQuantTraderCallback):
        def on_stock_order(self, order: Any) -> None:
            threads.add(threading.current_thread().name)
            received.append(order)
            try:
                trader.query_stock_orders(account)
            except RuntimeError:
                done.set()

    def build() -> Any:
        t = xtquant.xttrader.XtQuantTrader("C:\\国金QMT\\userdata_mini", 1, Callback())
        assert asyncio.get_event_loop() is t.loop  # __init__ replaced this thread's loop
        return t

    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(build()))
    worker.start()
    worker.join()
    trader = box[0]
    account = xtquant.xttype.StockAccount("111")
    assert trader.start() is None and trader.connect() == 0 and trader.subscribe(account) == 0
    order_id = trader.order_stock(account, "600000.SH", 23, 100, 11, 8.42, "s", "r" * 40)
    assert order_id > 0 and done.wait(5)
    order = received[-1]
    assert not isinstance(order, xtquant.xttype.XtOrder) and order.price_type == 50
    assert len(order.order_remark) == 24 and order.order_time < 10**11
    assert len(threads) == 1
    trader.stop()


def test_xtdata_hang_inside_holds_the_guard(xt: Any) -> None:
    """A call hung *inside* xtdata keeps the not-thread-safe guard: any other call meanwhile
    raises and is recorded; a hang *before* the client leaves the guard free."""
    xtquant, exchange = xt
    xtdata = xtquant.xtdata
    before = exchange.hang("get_instrument_detail")
    waiting = threading.Thread(target=xtdata.get_instrument_detail, args=("600000.SH",))
    waiting.start()
    assert before.entered.wait(5)
    assert xtdata.get_full_tick(["600000.SH"])  # guard free while waiting for the server
    before.set()
    waiting.join()
    inside = exchange.hang("get_full_tick", inside=True)
    hung = threading.Thread(target=xtdata.get_full_tick, args=(["600000.SH"],))
    hung.start()
    assert inside.entered.wait(5)
    with pytest.raises(RuntimeError, match="not thread-safe"):
        xtdata.get_instrument_detail("600000.SH")
    inside.set()
    hung.join()
    assert exchange.faults.violations == ["get_instrument_detail"]
    assert xtdata.get_instrument_detail("600000.SH")["InstrumentName"] == "浦发银行"
