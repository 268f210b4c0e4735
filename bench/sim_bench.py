"""Benchmark of the simulated exchange (not a timed test): ``python -m bench.sim_bench``.

Prints, against the targets of issue #3:

* daily bars, 5,000 codes × 1 year, through ``SimDataAdapter.history`` (target < 1 s);
* one code × 1 year of 1-minute bars (~58k rows) (target < 100 ms);
* matching throughput of ``SimBrokerAdapter`` in orders per second (target ≥ 1,000).

Each figure is measured on a fresh simulator (cold caches), so it includes path generation.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import SimConfig
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import AccountConfig, HistoryQuery, PlaceOrder

NOW = datetime(2026, 12, 31, 10, 0)
START = datetime(2026, 1, 1)
ACCOUNTS = [AccountConfig(key="main", account_id="bench")]
CALENDAR = TradingCalendar()


def _backend(**config: object):  # type: ignore[no-untyped-def]
    clock = ManualClock(NOW)
    sim = SimConfig(clock_mode="always-open", initial_cash=1e12, **config)  # type: ignore[arg-type]
    return build_sim_backend(sim, ACCOUNTS, clock, calendar=CALENDAR)


async def daily_bars(codes: int = 5000) -> float:
    data, _ = _backend()
    securities = [parse_security(f"{600000 + i:06d}.XSHG") for i in range(codes)]
    start = time.perf_counter()
    for security in securities:
        await data.history(HistoryQuery(security=security, start=START, end=NOW, fq="none"))
    return time.perf_counter() - start


async def minute_bars() -> tuple[float, int]:
    data, _ = _backend()
    query = HistoryQuery(
        security=parse_security("000001.XSHE"), frequency="1m", start=START, end=NOW, fq="none"
    )
    start = time.perf_counter()
    frame = await data.history(query)
    return time.perf_counter() - start, len(frame)


async def matching(orders: int = 5000) -> float:
    _, broker = _backend(fill_ratio=1.0)
    security = parse_security("000001.XSHE")
    command = PlaceOrder(security=security, side=Side.BUY, amount=100, order_type=OrderType.MARKET)
    await broker.place_order("main", command)  # warm the price caches
    start = time.perf_counter()
    for _ in range(orders):
        await broker.place_order("main", command)
    await broker.match_now()
    return orders / (time.perf_counter() - start)


async def main() -> None:
    elapsed = await daily_bars()
    print(f"daily bars, 5,000 codes x 1 year : {elapsed:8.3f} s    (target < 1 s)")
    elapsed, rows = await minute_bars()
    print(f"1m bars, 1 code x 1 year ({rows} rows): {elapsed * 1000:8.1f} ms (target < 100 ms)")
    rate = await matching()
    print(f"matching throughput               : {rate:8.0f} orders/s (target >= 1,000)")


if __name__ == "__main__":
    asyncio.run(main())
