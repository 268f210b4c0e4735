"""Orders: ``broker.place_order`` (``wait_timeout`` 0) round trips on the simulator.

8 connections place market buys back to back, each with its own idempotency key (as the
published 0.10.0 client sends): p50/p99 of the round trip and sustained orders/s. The
published server's stub broker is measured with the same load for reference.
"""

from __future__ import annotations

import math
from typing import Any

from bench.loadgen import LoadResult, close_all, closed_loop, open_many
from bench.procs import ServerProcess
from bench.stats import Report, Row, ms, percentile, ratio
from bench.targets import TOKEN, BenchContext, ours, published

CONNECTIONS = 8


def order_payload(conn: int, n: int, run: str) -> dict[str, Any]:
    """A market buy of 100 shares shaped like the published client's."""
    return {
        "account_key": "main", "sub_account_id": None, "wait_timeout": 0.0, "market": True,
        "security": "000001.XSHE", "amount": 100, "side": "BUY",
        "style": {"type": "market"}, "idempotency_key": f"bench-{run}-{conn}-{n}",
    }


async def measure(server: ServerProcess, per_connection: int) -> LoadResult:
    conns = await open_many(server.port, TOKEN, CONNECTIONS)
    try:
        await closed_loop(conns, 5, "broker.place_order", lambda c, n: order_payload(c, n, "w"))
        return await closed_loop(conns, per_connection, "broker.place_order",
                                 lambda c, n: order_payload(c, n, "m"))
    finally:
        await close_all(conns)


async def run(ctx: BenchContext) -> Report:
    report = Report()
    per_connection = ctx.size(150, 15)
    results: dict[str, LoadResult] = {}
    for name, server in (("ours", ours(ctx, "orders")), ("published", published(ctx, "orders"))):
        if server is not None:
            with server:
                results[name] = await measure(server, per_connection)
    o, p = results["ours"], results.get("published")
    p_rate = p.rate if p else math.nan
    p_lat = p.latencies if p else []
    report.add(Row("orders (place_order, no wait)", "orders/s sustained, 8 conns",
                   f"{o.rate:.0f}", f"{p_rate:.0f}", "", ratio(o.rate, p_rate) + " of published"))
    report.add(Row("orders (place_order, no wait)", "p50 / p99 round trip",
                   f"{ms(percentile(o.latencies, 50))} / {ms(percentile(o.latencies, 99))}",
                   f"{ms(percentile(p_lat, 50))} / {ms(percentile(p_lat, 99))}"))
    for name, result in results.items():
        if result.errors:
            report.note(f"orders: {name} answered {result.errors} errors {result.error_codes}")
    return report


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
