"""The JoinQuant reference data functions (``get_all_securities``, ``get_index_stocks``,
``get_split_dividend``) in a strategy run on the simulated exchange."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from live_fakes import AutoClock

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.live.runner import run_live
from bullet_trade.model.records import AccountConfig


async def test_reference_functions_on_sim(
    tmp_path: Path, write_strategy: Callable[..., Path]
) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(look, '10:00')
        def look(context):
            df = get_all_securities()
            g.columns = list(df.columns)
            g.stocks = len(df)
            g.pingan = (df.loc['000001.XSHE', 'display_name'], str(df['start_date'].dtype),
                        df.loc['000001.XSHE', 'end_date'].year, df.loc['000001.XSHE', 'type'])
            funds = get_all_securities(['etf', 'index'], date=context.current_dt.date())
            g.kinds = sorted(set(funds['type']))
            g.csi300 = get_index_stocks('000300.XSHG')
            g.sse50 = get_index_stocks('000016.XSHG', date='2025-04-01')
            g.events = get_split_dividend('000001.XSHE', start_date='2016-01-01')
            g.future = get_split_dividend('000001.XSHE', end_date='2030-12-31')
            try:
                get_all_securities('futures')
            except Exception as exc:
                g.error = type(exc).__name__
    """)
    clock = AutoClock(datetime(2025, 4, 29, 8, 30))
    data, broker = build_sim_backend(
        SimConfig(clock_mode="real"), [AccountConfig(key="main", account_id="sim-1")], clock
    )
    result = await run_live(path, broker=broker, data=data, clock=clock, account_key="main",
                            runtime_dir=tmp_path / "rt", max_days=1)
    assert result.callback_errors == 0
    g = pickle.loads((tmp_path / "rt" / "g.pkl").read_bytes())
    assert g["columns"] == ["display_name", "name", "start_date", "end_date", "type"]
    assert g["stocks"] > 2000
    assert g["pingan"] == ("平安银行", "datetime64[ns]", 2200, "stock")
    assert g["kinds"] == ["etf", "index"]
    assert len(g["csi300"]) == 300 and "600519.XSHG" in g["csi300"]
    assert len(g["sse50"]) == 50 and set(g["sse50"]) <= set(g["csi300"])
    events = g["events"]
    assert events and all(isinstance(e["date"], date) for e in events)
    assert all(date(2016, 1, 1) <= e["date"] <= date(2025, 4, 29) for e in events)
    assert events[0]["security"] == "000001.XSHE" and events[0]["per_base"] == 10
    assert g["future"][-1]["date"] <= date(2025, 4, 29)  # capped at the strategy's today
    assert g["error"] == "BadRequest"
