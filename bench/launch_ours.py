"""Launcher of *our* server for the benchmarks (a separate process, so its CPU is its own).

It builds :class:`~bullet_trade.server.app.QmtServer` on the simulated exchange with the knobs
the figures need, and logs like ``bullet-trade server`` does (INFO, access log on, to the
console and to a rotating file, as the published server does too).

* ``--latency S``: ``SimConfig.latency`` (every data call waits S seconds; head-of-line figure).
* ``--stamp-ticks``: wraps the backend's quote listener so each quote's ``volume`` carries the
  wall-clock time (µs since the epoch) at which the backend's callback fired; the tick figure
  subtracts it from the client's arrival time. Only for the benchmark.
* The per-session request quota (``rate_limit``) is switched off: the figures measure
  capacity, and the published server has no quota.
* ``--fast-daily``: daily bars come from a synthetic numpy random walk instead of the
  simulator's price model (about 19 ms per code there, which would make 5,000 codes a
  simulator figure, not a transport one). Minute bars always come from the simulator.

Run: ``python -m bench.launch_ours --port N --token T [...]``; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS
from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.cli.logs import setup_logging
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import WallClock
from bullet_trade.model.records import AccountConfig, HistoryQuery, Quote
from bullet_trade.server.app import QmtServer


class BenchData:
    """Delegates to the simulator's data adapter, with the benchmark's two hooks."""

    def __init__(self, inner: Any, *, stamp_ticks: bool, fast_daily: bool) -> None:
        self._inner = inner
        self._stamp = stamp_ticks
        self._fast_daily = fast_daily

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def subscribe_quotes(
        self, securities: list[Any], listener: Callable[[Quote], None]
    ) -> Callable[[], None]:
        if not self._stamp:
            result: Callable[[], None] = await self._inner.subscribe_quotes(securities, listener)
            return result

        def stamped(quote: Quote) -> None:
            listener(dataclasses.replace(quote, volume=time.time_ns() // 1000))

        result = await self._inner.subscribe_quotes(securities, stamped)
        return result

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        if self._fast_daily and query.frequency == "1d":
            return synthetic_daily(query)
        frame: pd.DataFrame = await self._inner.history(query)
        return frame


_DAYS: dict[tuple[Any, Any, Any], pd.DatetimeIndex] = {}


def _business_days(query: HistoryQuery) -> pd.DatetimeIndex:
    """The query's weekdays, computed once per window (every code of a request shares it)."""
    key = (query.start, query.end, query.count)
    days = _DAYS.get(key)
    if days is None:
        end = pd.Timestamp(query.end or pd.Timestamp.now()).normalize()
        if query.start is not None:
            days = pd.bdate_range(pd.Timestamp(query.start).normalize(), end, name="time")
        else:
            days = pd.bdate_range(end=end, periods=query.count or 1, name="time")
        _DAYS[key] = days
    return days


def synthetic_daily(query: HistoryQuery) -> pd.DataFrame:
    """Deterministic random-walk daily bars (weekdays) for the query's window.

    Built as one float64 block (what a columnar backend hands over), so the stand-in costs
    a few tens of µs per code and the figure measures the server and the wire, not it.
    """
    days = _business_days(query)
    n = len(days)
    seed = int.from_bytes(hashlib.sha256(str(query.security).encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    close = 10.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    columns = {
        "open": close * (1 + rng.normal(0, 0.005, n)),
        "close": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "volume": rng.integers(1_000, 1_000_000, n).astype(float),
        "money": close * 1e5,
        "paused": np.zeros(n),
    }
    block = np.column_stack([columns.get(c, close) for c in HISTORY_COLUMNS])
    frame: pd.DataFrame = pd.DataFrame(block, index=days, columns=list(HISTORY_COLUMNS))
    return frame


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--tick-interval", type=float, default=3.0)
    parser.add_argument("--max-connections", type=int, default=64)
    parser.add_argument("--max-subscriptions", type=int, default=200)
    parser.add_argument("--stamp-ticks", action="store_true")
    parser.add_argument("--fast-daily", action="store_true")
    parser.add_argument("--no-access-log", action="store_true")
    return parser.parse_args()


async def _serve(
    args: argparse.Namespace, runtime: Path, access_sink: Callable[[str], None] | None
) -> None:
    sim = SimConfig(latency=args.latency, tick_interval=args.tick_interval, initial_cash=1e12)
    accounts = (AccountConfig(key="main", account_id="100001"),)
    extra: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(ServerConfig)}
    if "rate_limit" in names:  # measure capacity, not the per-session request quota
        extra["rate_limit"] = 0.0
    if "order_rate_limit" in names:  # nor the per-account order guard (20/s by default)
        extra["order_rate_limit"] = 0.0
    if "max_pending" in names:  # the load generator opens connections in batches
        extra["max_pending"] = max(32, args.max_connections)
    config = ServerConfig(
        listen="127.0.0.1", port=args.port, token=args.token, accounts=accounts,
        max_connections=args.max_connections, max_subscriptions=args.max_subscriptions,
        access_log=not args.no_access_log, runtime_dir=runtime, sim=sim, **extra,
    )
    clock = WallClock()
    data, broker = build_sim_backend(sim, list(accounts), clock)
    wrapped = BenchData(data, stamp_ticks=args.stamp_ticks, fast_daily=args.fast_daily)
    server = QmtServer(config, data=wrapped, broker=broker, clock=clock, access_sink=access_sink)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    args = _parse()
    with tempfile.TemporaryDirectory(prefix="bt-bench-") as runtime:
        # exactly like ``bullet-trade server``: INFO, console plus server.log, and every
        # request in access.log through the server's access sink (the published server
        # writes its access lines to console and file through logging)
        access = setup_logging(Path(runtime) / "logs", level="INFO", filename="server.log")
        sink = access.write if access is not None and not args.no_access_log else None
        try:
            asyncio.run(_serve(args, Path(runtime), sink))
        finally:
            if access is not None:
                access.close()


if __name__ == "__main__":
    main()
