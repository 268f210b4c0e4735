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
  The stand-in has the optional ``history_batch`` capability, as an array backend (or
  xtdata with its stock list) has: all codes of a request in one vectorised computation.

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.batch import history_batch_via_frames
from bullet_trade.adapters.contracts import HISTORY_COLUMNS, HistoryBatch
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

    async def history_batch(self, queries: Sequence[HistoryQuery]) -> HistoryBatch:
        """Every query at once when they are synthetic daily bars of one window, else
        :meth:`history` per query."""
        windows = {(q.start, q.end, q.count) for q in queries}
        if self._fast_daily and len(windows) == 1 and all(q.frequency == "1d" for q in queries):
            return synthetic_daily_batch(queries)
        return await history_batch_via_frames(self, queries)


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


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _uniform(seeds: np.ndarray[Any, Any], n: int, salt: int) -> np.ndarray[Any, Any]:
    """codes × n values in (0, 1): a splitmix64 hash of (seed, salt, day), so a code's bars
    do not depend on which other codes share the request."""
    x = (seeds[:, None] ^ np.uint64(salt)) + np.arange(1, n + 1, dtype=np.uint64) * _GOLDEN
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    values: np.ndarray[Any, Any] = ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return values


def synthetic_daily_batch(queries: Sequence[HistoryQuery]) -> HistoryBatch:
    """Deterministic random-walk daily bars (weekdays) for queries sharing one window.

    Computed for all codes at once as codes × days arrays (what a columnar backend hands
    over), so the stand-in costs well under 10 µs per code and the figure measures the
    server and the wire, not it.
    """
    days = _business_days(queries[0]) if queries else pd.DatetimeIndex([], name="time")
    n, count = len(days), len(queries)
    seeds = np.array([
        int.from_bytes(hashlib.sha256(str(q.security).encode()).digest()[:8], "little")
        for q in queries
    ], dtype=np.uint64)
    close = 10.0 * np.exp(np.cumsum((_uniform(seeds, n, 1) - 0.5) * 0.07, axis=1))
    columns = {
        "open": close * (1 + (_uniform(seeds, n, 2) - 0.5) * 0.017),
        "close": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "volume": np.floor(1_000 + _uniform(seeds, n, 3) * 999_000),
        "money": close * 1e5,
        "paused": np.zeros((count, n)),
    }
    return HistoryBatch(
        lengths=np.full(count, n, dtype=np.int64),
        times=np.tile(days.to_numpy(), count),
        columns={name: columns[name].ravel() for name in (*HISTORY_COLUMNS, "paused")},
    )


def synthetic_daily(query: HistoryQuery) -> pd.DataFrame:
    """:func:`synthetic_daily_batch` of one query, as a ``history`` frame."""
    return synthetic_daily_batch([query]).frames()[0]


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
    if "max_pending_per_ip" in names:  # ... all of them from 127.0.0.1
        extra["max_pending_per_ip"] = max(32, args.max_connections)
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
