"""``bullet-trade demo``: the whole path in one command.

Starts ``bullet-trade server`` on the simulated exchange (in this process, on a free loopback
port, with a fresh token), connects to it over TCP exactly as ``--broker qmt-remote`` does,
replays two past trading days of ``strategies/demo_strategy.py`` on a stepped clock shared with
the simulator (so a day passes in well under a second and T+1 rules apply), prints the orders
and the final positions, stops the server and exits 0.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bullet_trade.cli.backends import DEFAULT_SIM_ACCOUNT, build_backends
from bullet_trade.cli.display import console
from bullet_trade.cli.live_cmd import print_result, remote_backends, replay_start
from bullet_trade.cli.logs import setup_logging
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import SteppedClock, WallClock

DEMO_STRATEGY = Path(__file__).resolve().parents[2] / "strategies" / "demo_strategy.py"


async def run_demo(
    strategy: Path, runtime_dir: Path, days: int, start: datetime | None = None
) -> Any:
    """Server + qmt-remote client + runner on one stepped clock; returns the LiveResult.

    ``start`` defaults to 09:00 of the trading day before the last completed one.
    """
    from bullet_trade.live.runner import run_live
    from bullet_trade.server.app import QmtServer

    clock = SteppedClock(start or replay_start(WallClock().now().date()))
    config = ServerConfig(
        listen="127.0.0.1",
        port=0,
        token=secrets.token_hex(16),
        accounts=(DEFAULT_SIM_ACCOUNT,),
        server_type="sim",
        runtime_dir=runtime_dir / "server",
        sim=SimConfig(clock_mode="real"),
        trade_max_wait=0.0,
        access_log=False,
    )
    data, broker = build_backends("sim", accounts=config.accounts, sim=config.sim, clock=clock)
    async with QmtServer(config, data=data, broker=broker, clock=clock) as server:
        console.print(
            f"[bold]server[/bold] sim exchange on 127.0.0.1:{server.port}; "
            f"replaying from {clock.now():%Y-%m-%d %H:%M} for {days} trading days"
        )
        async with remote_backends(
            {},
            host="127.0.0.1",
            port=server.port,
            token=config.token,
            account_key=DEFAULT_SIM_ACCOUNT.key,
        ) as (rdata, rbroker, key):
            return await run_live(
                strategy,
                broker=rbroker,
                data=rdata,
                clock=clock,
                account_key=key,
                runtime_dir=runtime_dir / "live",
                max_days=days,
            )


@click.command("demo")
@click.option(
    "--strategy", type=click.Path(path_type=Path), default=DEMO_STRATEGY, show_default=True
)
@click.option(
    "--runtime-dir",
    type=click.Path(path_type=Path),
    default=Path("runtime/demo"),
    show_default=True,
    help="Wiped at start so every demo run is the same.",
)
@click.option("--days", type=int, default=2, show_default=True)
def demo_command(strategy: Path, runtime_dir: Path, days: int) -> int:
    """Run the demo strategy through a local server on the simulated exchange."""
    if not strategy.is_file():
        raise click.ClickException(f"strategy file not found: {strategy}")
    shutil.rmtree(runtime_dir, ignore_errors=True)
    setup_logging(runtime_dir / "logs", level="INFO", filename="demo.log")
    result = asyncio.run(run_demo(strategy.resolve(), runtime_dir, days))
    print_result(result)
    placed = [o for o in result.orders if o.order_id]
    if not placed:
        raise click.ClickException("the demo placed no order")
    console.print(
        f"[bold green]demo finished:[/bold green] {len(placed)} orders placed, "
        f"stop reason {result.stop_reason}"
    )
    return 0
