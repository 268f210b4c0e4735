"""Head-of-line: ``broker.account`` latency on a connection while a slow ``data.history``
(2 s of simulated backend latency) runs on the same connection.

Ours: ``SimConfig.latency = 2``. Published: its stub's ``get_history`` wrapped with the same
2 s ``asyncio.sleep`` by the launcher. One connection sends the slow history, then
``broker.account`` requests back to back until the history reply arrives.
"""

from __future__ import annotations

import asyncio
import time

from bench.loadgen import RawConnection
from bench.procs import ServerProcess
from bench.stats import Report, Row, ms, percentile, verdict
from bench.targets import TOKEN, BenchContext, ours, published

DELAY = 2.0
HISTORY = {"security": "000001.XSHE", "count": 5, "frequency": "1d"}
ACCOUNT = {"account_key": "main", "sub_account_id": None}
PACE = 0.01  # 100 requests/s: well inside any per-session quota


async def measure(server: ServerProcess, rounds: int) -> list[float]:
    """Latencies of the account requests issued while a slow history was outstanding."""
    conn = await RawConnection.open(server.port, TOKEN)
    latencies: list[float] = []
    try:
        await conn.request("broker.account", ACCOUNT)
        for _ in range(rounds):
            slow = asyncio.ensure_future(conn.request("data.history", HISTORY, timeout=30))
            await asyncio.sleep(0.05)  # let the history reach the backend first
            while not slow.done():
                started = time.perf_counter()
                await conn.request("broker.account", ACCOUNT, timeout=30)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(PACE)
            await slow
    finally:
        await conn.close()
    return latencies


async def run(ctx: BenchContext) -> Report:
    report = Report()
    rounds = ctx.size(3, 1)
    o = await _with(ours(ctx, "hol", "--latency", str(DELAY)), rounds)
    server = published(ctx, "hol", history_delay=DELAY)
    p = await _with(server, rounds) if server is not None else []
    o99, p99 = percentile(o, 99), percentile(p, 99)
    report.add(Row("head-of-line", f"broker.account p99 behind a {DELAY:g} s history",
                   ms(o99), ms(p99), "", f"{len(o)} / {len(p)} samples", "< 10 ms",
                   verdict(o99 < 0.010)))
    return report


async def _with(server: ServerProcess | None, rounds: int) -> list[float]:
    if server is None:
        return []
    with server:
        return await measure(server, rounds)


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
