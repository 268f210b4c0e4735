"""Connections: server RSS with 500 idle authenticated sessions; then all 500 active.

Every server is started with ``max_connections`` 600. RSS is read from ``/proc`` after the
sessions are open (and after they are all active). "Active" = every session sends
``broker.account`` requests back to back; the figure counts error replies and failures.
"""

from __future__ import annotations

import asyncio
import math

from bench.fig_small import ACCOUNT_PAYLOAD
from bench.loadgen import LoadResult, close_all, closed_loop, open_many
from bench.procs import ServerProcess
from bench.stats import Report, Row, mib, ratio, verdict
from bench.targets import TOKEN, BenchContext, ours, published


async def measure(
    server: ServerProcess, sessions: int, per_session: int
) -> tuple[float, float, float, LoadResult]:
    """(RSS at start, RSS with idle sessions, RSS after activity, the active load)."""
    await asyncio.sleep(0.5)
    base = server.rss_bytes()
    conns = await open_many(server.port, TOKEN, sessions)
    try:
        await asyncio.sleep(1.0)
        idle = server.rss_bytes()
        result = await closed_loop(conns, per_session, "broker.account",
                                   lambda i, n: ACCOUNT_PAYLOAD)
        active = server.rss_bytes()
    finally:
        await close_all(conns)
    return base, idle, active, result


def _per_session(growth: float, sessions: int) -> str:
    return "n/a" if math.isnan(growth) else f"{growth / sessions / 1024:.0f} KiB"


async def run(ctx: BenchContext) -> Report:
    report = Report()
    sessions = ctx.size(500, 100)
    per_session = ctx.size(10, 3)
    out: dict[str, tuple[float, float, float, LoadResult]] = {}
    targets = {
        "ours": ours(ctx, "conns", "--max-connections", "600"),
        "published": published(ctx, "conns", extra=["--max-connections", "600"]),
    }
    for name, server in targets.items():
        if server is not None:
            with server:
                out[name] = await measure(server, sessions, per_session)
    nan = (math.nan, math.nan, math.nan, LoadResult())
    o, p = out["ours"], out.get("published", nan)
    label = f"connections ×{sessions}"
    report.add(Row(label, "server RSS, idle sessions (process baseline)",
                   f"{mib(o[1])} ({mib(o[0])})", f"{mib(p[1])} ({mib(p[0])})", "",
                   ratio(o[1], p[1]) + " of published", "< 200 MB",
                   verdict(o[1] < 200e6)))
    report.add(Row(label, "RSS growth per idle session",
                   _per_session(o[1] - o[0], sessions), _per_session(p[1] - p[0], sessions)))
    report.add(Row(label, f"all active ({per_session} requests each): errors / RSS",
                   f"{o[3].errors} / {mib(o[2])}",
                   f"{p[3].errors} / {mib(p[2])}" if "published" in out else "",
                   "", "", "no errors", verdict(o[3].errors == 0)))
    for name, result in out.items():
        if result[3].errors:
            report.note(f"connections: {name} errors {result[3].error_codes}")
    return report


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
