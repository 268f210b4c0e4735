"""Small requests: ``broker.account`` round trips over 8 and 64 connections.

For each server: requests/s, p50/p99 latency and server CPU µs per request (the server
process's own user+system time over the measured phase, from ``/proc``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.loadgen import close_all, closed_loop, open_many
from bench.procs import ServerProcess
from bench.stats import Report, Row, ms, percentile, ratio, verdict
from bench.targets import TOKEN, BenchContext, bare, ours, published

ACCOUNT_PAYLOAD: dict[str, Any] = {"account_key": "main", "sub_account_id": None}


@dataclass(slots=True)
class SmallFigure:
    rate: float = math.nan
    p50: float = math.nan
    p99: float = math.nan
    cpu_us: float = math.nan
    errors: int = 0


async def measure(server: ServerProcess, connections: int, per_connection: int) -> SmallFigure:
    """Warm up, then one bounded closed loop; CPU is read around the measured phase only."""
    conns = await open_many(server.port, TOKEN, connections)
    try:
        await closed_loop(conns, max(5, per_connection // 10), "broker.account",
                          lambda i, n: ACCOUNT_PAYLOAD)
        cpu_before = server.cpu_seconds()
        result = await closed_loop(conns, per_connection, "broker.account",
                                   lambda i, n: ACCOUNT_PAYLOAD)
        cpu = server.cpu_seconds() - cpu_before
    finally:
        await close_all(conns)
    return SmallFigure(
        rate=result.rate, p50=percentile(result.latencies, 50),
        p99=percentile(result.latencies, 99),
        cpu_us=cpu / result.requests * 1e6 if result.requests else math.nan,
        errors=result.errors,
    )


def _cpu(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.0f} µs"


async def run(ctx: BenchContext) -> Report:
    report = Report()
    loads = [(8, ctx.size(600, 60)), (64, ctx.size(100, 10))]
    servers = {"ours": ours(ctx, "small", "--max-connections", "100"),
               "published": published(ctx, "small", extra=["--max-connections", "100"]),
               "bare": bare(ctx, "small")}
    figures: dict[tuple[str, int], SmallFigure] = {}
    for name, server in servers.items():
        if server is None:
            continue
        with server:
            for connections, per_connection in loads:
                figures[(name, connections)] = await measure(server, connections, per_connection)
    nan = SmallFigure()
    for connections, _ in loads:
        o = figures.get(("ours", connections), nan)
        p = figures.get(("published", connections), nan)
        b = figures.get(("bare", connections), nan)
        label = f"small requests ×{connections} conns"
        report.add(Row(label, "requests/s", f"{o.rate:.0f}", f"{p.rate:.0f}", f"{b.rate:.0f}",
                       ratio(o.rate, p.rate) + " of published"))
        report.add(Row(label, "p50 / p99 latency", f"{ms(o.p50)} / {ms(o.p99)}",
                       f"{ms(p.p50)} / {ms(p.p99)}", f"{ms(b.p50)} / {ms(b.p99)}"))
        met = None if math.isnan(p.cpu_us) else o.cpu_us <= 0.7 * p.cpu_us
        report.add(Row(label, "server CPU per request", _cpu(o.cpu_us), _cpu(p.cpu_us),
                       _cpu(b.cpu_us), ratio(o.cpu_us, p.cpu_us) + " of published",
                       "≤ 0.7× published", verdict(met)))
        errors = o.errors + (0 if math.isnan(p.rate) else p.errors) + b.errors
        if errors:
            report.note(f"small requests ×{connections}: {errors} error replies "
                        f"(ours {o.errors}, published {p.errors}, bare {b.errors})")
    return report


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
