"""Bulk history, request → pandas DataFrame in the client, v1 envelope vs columnar.

Both use our client (``AsyncRemoteProvider.get_price``) against our server; one connection
negotiates ``history.columnar.v1``, the other does not (so it gets the v1 envelope, exactly
what a published client gets).

* 1 code × 1 year of 1m bars (~58k rows) from the simulator;
* 5,000 codes × 1 year of daily bars, ``panel=False``, in 10 requests of 500 codes sent
  concurrently (the server accepts up to 1,000 codes per request), concatenated. Daily bars
  come from ``--fast-daily`` (synthetic, see ``bench.launch_ours``), whose backend has the
  optional ``history_batch`` capability, so both encodings get the server's batch path.

Each case runs ``repeat`` times per encoding, alternating, and reports the median.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import pandas as pd

from bench.stats import Report, Row, ms, verdict
from bench.targets import TOKEN, BenchContext, ours
from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.provider import PROVIDER_EXTENSIONS, AsyncRemoteProvider
from bullet_trade.config import ClientConfig

CODES = [f"{600000 + i:06d}.XSHG" for i in range(2500)] + [
    f"{1 + i:06d}.XSHE" for i in range(2500)
]
CHUNK = 500

Case = Callable[[AsyncRemoteProvider], Awaitable[pd.DataFrame]]


async def minute_year(provider: AsyncRemoteProvider) -> pd.DataFrame:
    return await provider.get_price("000001.XSHE", "2025-01-01 09:00:00",
                                    "2025-12-31 15:00:00", frequency="1m")


def daily_universe(codes: list[str]) -> Case:
    async def case(provider: AsyncRemoteProvider) -> pd.DataFrame:
        import asyncio

        parts = await asyncio.gather(*(
            provider.get_price(codes[i : i + CHUNK], "2025-01-01", "2025-12-31",
                               frequency="daily", panel=False)
            for i in range(0, len(codes), CHUNK)
        ))
        return pd.concat(parts, ignore_index=True)

    return case


async def _timed(provider: AsyncRemoteProvider, case: Case) -> tuple[float, int]:
    started = time.perf_counter()
    frame = await case(provider)
    return time.perf_counter() - started, len(frame)


async def run(ctx: BenchContext) -> Report:
    report = Report()
    repeat = ctx.size(3, 1)
    codes = CODES if not ctx.quick else CODES[:1000]
    cases: list[tuple[str, Case]] = [
        ("1 code × 1 year of 1m bars", minute_year),
        (f"{len(codes)} codes × 1 year daily", daily_universe(codes)),
    ]
    server = ours(ctx, "history", "--fast-daily")
    with server:
        config = ClientConfig(host="127.0.0.1", port=server.port, token=TOKEN, rpc_timeout=300)
        v1_conn = AsyncConnection(config)
        col_conn = AsyncConnection(config, extensions=PROVIDER_EXTENSIONS)
        await v1_conn.connect()
        await col_conn.connect()
        try:
            if "history.columnar.v1" not in col_conn.extensions:
                report.note("history: the server did not grant history.columnar.v1")
            v1, col = AsyncRemoteProvider(v1_conn), AsyncRemoteProvider(col_conn)
            for name, case in cases:
                await _timed(col, case)  # warm caches on both sides
                times: dict[str, list[float]] = {"v1": [], "col": []}
                rows = 0
                for _ in range(repeat):
                    t, rows = await _timed(v1, case)
                    times["v1"].append(t)
                    t, rows = await _timed(col, case)
                    times["col"].append(t)
                tv1, tcol = statistics.median(times["v1"]), statistics.median(times["col"])
                speedup = tv1 / tcol if tcol else float("nan")
                target, met = "columnar ≥ 5× v1", speedup >= 5
                if name.startswith("1 code"):
                    target += "; < 200 ms"
                    met = met and tcol < 0.200
                report.add(Row(f"bulk history: {name}", f"request → DataFrame ({rows} rows)",
                               f"columnar {ms(tcol)} / v1 envelope {ms(tv1)}", "", "",
                               f"{speedup:.1f}× faster", target, verdict(met)))
        finally:
            await v1_conn.close()
            await col_conn.close()
    return report


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
