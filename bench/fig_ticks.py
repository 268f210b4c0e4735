"""Tick push: latency from the backend's quote callback to the client's handler.

Method: ``bench.launch_ours --stamp-ticks`` writes the wall-clock time (µs) at which the
simulator's quote callback fired into the quote's ``volume``; each client's event handler
subtracts it from its own ``time.time()`` on arrival (same host, same clock). 20 clients each
subscribe the same 500 symbols; the simulator pushes a snapshot of every symbol each
``tick_interval`` (3 s), so every 3 s the server fans out 10,000 tick events in one burst.

Phase 2 adds one deliberately slow client (tiny receive buffer, never reads after subscribing)
and reports the server's RSS growth and the other clients' latency meanwhile.
The published server polls its backend once per second and its stub ticks carry no
timestamp, so its figure is its polling period, not a measurement.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from bench.loadgen import RawConnection, close_all, open_many
from bench.stats import Report, Row, mib, ms, percentile, verdict
from bench.targets import TOKEN, BenchContext, ours

SYMBOLS = [f"{600000 + i:06d}.XSHG" for i in range(500)]


class Collector:
    """Event handler recording callback→handler latencies once ``armed``."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.armed = False

    def __call__(self, frame: dict[str, Any], arrived: float) -> None:
        if not self.armed or frame.get("event") != "tick":
            return
        stamp = frame.get("payload", {}).get("volume")
        if isinstance(stamp, int):
            self.latencies.append(arrived - stamp / 1e6)


async def _slow_client(port: int) -> RawConnection:
    conn = await RawConnection.open(port, TOKEN)
    sock = conn._writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await conn.request("data.subscribe", {"securities": SYMBOLS})
    if conn._task is not None:
        conn._task.cancel()
    return conn


async def run(ctx: BenchContext) -> Report:
    report = Report()
    clients = ctx.size(20, 5)
    window = ctx.size(10, 4)
    collector = Collector()
    server = ours(ctx, "ticks", "--stamp-ticks", "--max-subscriptions", "500",
                  "--tick-interval", "3")
    with server:
        conns = await open_many(server.port, TOKEN, clients, on_event=collector)
        try:
            await asyncio.gather(*(c.request("data.subscribe", {"securities": SYMBOLS})
                                   for c in conns))
            await asyncio.sleep(0.5)
            collector.armed = True
            await asyncio.sleep(window)
            normal, collector.latencies = collector.latencies, []
            rss_before = server.rss_bytes()
            slow = await _slow_client(server.port)
            started = time.monotonic()
            await asyncio.sleep(window)
            slowed, rss_after = collector.latencies, server.rss_bytes()
            await close_all([slow])
            _ = started
        finally:
            await close_all(conns)
    p99 = percentile(normal, 99)
    label = f"tick push {clients}×500 symbols"
    report.add(Row(label, "callback→handler p50 / p99",
                   f"{ms(percentile(normal, 50))} / {ms(p99)}", "1 s polling (not measured)",
                   "", f"{len(normal)} ticks", "p99 < 10 ms", verdict(p99 < 0.010)))
    report.add(Row(label, "p99 with one slow client", ms(percentile(slowed, 99)), "", "",
                   f"{len(slowed)} ticks"))
    report.add(Row(label, "server RSS before → with slow client",
                   f"{mib(rss_before)} → {mib(rss_after)}"))
    return report


if __name__ == "__main__":
    from bench.__main__ import run_single

    run_single(run)
