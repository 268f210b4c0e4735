"""The demo strategy for two trading days on the simulated exchange (``build_sim_backend``)."""

import math
from datetime import date, datetime
from pathlib import Path

from live_fakes import AutoClock

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.live.runner import run_live
from bullet_trade.model.enums import OrderStatus
from bullet_trade.model.records import AccountConfig

DEMO = Path(__file__).resolve().parents[2] / "strategies" / "demo_strategy.py"


async def test_demo_strategy_two_days_on_sim(tmp_path: Path) -> None:
    clock = AutoClock(datetime(2025, 4, 29, 8, 30))  # Tuesday; 30 Apr is followed by holidays
    data, broker = build_sim_backend(
        SimConfig(clock_mode="real"), [AccountConfig(key="main", account_id="sim-1")], clock
    )
    result = await run_live(DEMO, broker=broker, data=data, clock=clock, account_key="main",
                            runtime_dir=tmp_path / "rt", max_days=2)

    assert result.trading_days == (date(2025, 4, 29), date(2025, 4, 30))
    assert result.stop_reason == "max_days" and result.callback_errors == 0
    summary = [(o.security, o.is_buy, o.add_time.strftime("%m-%d %H:%M")) for o in result.orders]
    assert summary == [
        ("000001.XSHE", True, "04-29 09:30"), ("510300.XSHG", True, "04-29 09:30"),
        ("518880.XSHG", True, "04-29 10:00"),
        ("000001.XSHE", True, "04-30 09:30"), ("510300.XSHG", True, "04-30 09:30"),
        ("518880.XSHG", True, "04-30 10:00"),
        ("000001.XSHE", False, "04-30 14:50"),  # T+1: only the share bought on day 1
    ]
    assert all(o.status is OrderStatus.FILLED and o.filled == o.amount for o in result.orders)
    by_code: dict[str, list[int]] = {}
    for o in result.orders:
        by_code.setdefault(o.security, []).append(o.amount)
    assert by_code["000001.XSHE"] == [100, 100, 100]
    assert by_code["510300.XSHG"] == [100, 100]
    gold = [o for o in result.orders if o.security == "518880.XSHG"]
    for o in gold:  # order_value(5000) rounded down to whole lots at the fill-time price
        assert o.amount == math.floor(5000 / o.price / 100) * 100
    etf = [o for o in result.orders if o.security == "510300.XSHG"]
    assert all(o.order_price is not None and o.price <= o.order_price for o in etf)

    held = {p.security.jq: (p.amount, p.closeable_amount) for p in result.account.positions}
    assert held == {
        "000001.XSHE": (100, 0),
        "510300.XSHG": (200, 100),
        # 518880 (gold ETF) trades T+0: everything bought is closeable at once
        "518880.XSHG": (gold[0].amount + gold[1].amount, gold[0].amount + gold[1].amount),
    }
