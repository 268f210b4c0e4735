"""``bullet-trade live STRATEGY``: run a JoinQuant-style strategy on a broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.cli.backends import DEFAULT_SIM_ACCOUNT, build_backends
from bullet_trade.cli.display import console, orders_table, positions_table
from bullet_trade.cli.env import ConfigError, get_str
from bullet_trade.cli.logs import setup_logging
from bullet_trade.config import SimConfig
from bullet_trade.errors import BulletTradeError
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import Clock, SteppedClock, WallClock

log = logging.getLogger("bullet_trade.live")

BROKERS = ("qmt-remote", "sim", "qmt")


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveOptions:
    strategy: Path
    broker: str
    runtime_dir: Path
    clock: str  # real | replay
    start: datetime | None
    days: int | None


def replay_start(today: date) -> datetime:
    """09:00 of the trading day before the last completed one (so two full days fit)."""
    days = TradingCalendar().trade_days(end=today - timedelta(days=1), count=2)
    return datetime.combine(days[0], time(9, 0))


def make_clock(options: LiveOptions) -> Clock:
    if options.clock == "real":
        return WallClock()
    start = options.start or replay_start(WallClock().now().date())
    return SteppedClock(start)


@contextlib.asynccontextmanager
async def remote_backends(
    env: Mapping[str, str],
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    account_key: str | None = None,
) -> AsyncIterator[tuple[DataProvider, Broker, str]]:
    """Connect to a server as ``qmt-remote``; yields (data, broker, account_key)."""
    from bullet_trade.client import AsyncConnection, AsyncRemoteBroker, AsyncRemoteProvider
    from bullet_trade.client.envconfig import client_config_from_env

    overrides = {
        "QMT_SERVER_HOST": host,
        "QMT_SERVER_PORT": None if port is None else str(port),
        "QMT_SERVER_TOKEN": token,
        "QMT_SERVER_ACCOUNT_KEY": account_key,
    }
    merged = {**env, **{k: v for k, v in overrides.items() if v is not None}}
    config = client_config_from_env(merged)
    conn = AsyncConnection(config)
    await conn.connect()
    try:
        broker = AsyncRemoteBroker(
            conn, account_key=config.account_key, sub_account_id=config.sub_account_id
        )
        key = broker.accounts()[0].key
        yield AsyncRemoteProvider(conn), broker, key
    finally:
        await conn.close()


async def run_strategy(options: LiveOptions, env: Mapping[str, str]) -> Any:
    """Build the broker named by ``options.broker`` and run the strategy on it."""
    from bullet_trade.live.runner import run_live

    clock = make_clock(options)
    max_days = (
        options.days if options.days is not None else (2 if options.clock == "replay" else None)
    )
    live_dir = options.runtime_dir / "live"
    if options.broker == "qmt-remote":
        async with remote_backends(env) as (data, broker, key):
            return await run_live(
                options.strategy,
                broker=broker,
                data=data,
                clock=clock,
                account_key=key,
                runtime_dir=live_dir,
                max_days=max_days,
            )
    if options.broker == "sim":
        sim = SimConfig(clock_mode="real")
        data, broker = build_backends("sim", accounts=(DEFAULT_SIM_ACCOUNT,), sim=sim, clock=clock)
        return await run_live(
            options.strategy,
            broker=broker,
            data=data,
            clock=clock,
            account_key=DEFAULT_SIM_ACCOUNT.key,
            runtime_dir=live_dir,
            max_days=max_days,
        )
    raise ConfigError(
        "--broker qmt (in-process miniQMT) is not part of this build yet; "
        "run `bullet-trade server` on the QMT machine and use --broker qmt-remote"
    )


def print_result(result: Any) -> None:
    """Orders placed and the final account, as tables."""
    console.print(orders_table(result.orders))
    console.print(positions_table(result.account.positions))
    console.print(
        f"cash {result.account.available_cash:,.2f}  total value {result.account.total_value:,.2f}"
    )


@click.command("live")
@click.argument("strategy", type=click.Path(path_type=Path))
@click.option(
    "--broker",
    type=click.Choice(BROKERS),
    default=None,
    help="qmt-remote (default from DEFAULT_BROKER), sim (in-process simulator) or qmt.",
)
@click.option("--runtime-dir", default=None, help="State directory (RUNTIME_DIR, ./runtime).")
@click.option("--log-dir", default=None, help="Log directory (LOG_DIR, <runtime-dir>/logs).")
@click.option(
    "--clock",
    type=click.Choice(["real", "replay"]),
    default="real",
    help="real: wall clock. replay: run past trading days as fast as possible.",
)
@click.option("--start", type=click.DateTime(), default=None, help="Replay start moment.")
@click.option("--days", type=int, default=None, help="Stop after N trading days.")
@click.pass_obj
def live_command(
    obj: dict[str, Any],
    strategy: Path,
    broker: str | None,
    runtime_dir: str | None,
    log_dir: str | None,
    clock: str,
    start: datetime | None,
    days: int | None,
) -> int:
    """Run STRATEGY (a JoinQuant-style .py file)."""
    env = obj["env"]
    if not strategy.is_file():
        raise click.ClickException(f"strategy file not found: {strategy}")
    runtime = Path(runtime_dir or get_str(env, "RUNTIME_DIR", "runtime") or "runtime")
    logs = Path(log_dir or get_str(env, "LOG_DIR", str(runtime / "logs")) or runtime / "logs")
    setup_logging(logs, level=get_str(env, "LOG_LEVEL", "INFO") or "INFO", filename="live.log")
    options = LiveOptions(
        strategy=strategy.resolve(),
        broker=broker or get_str(env, "DEFAULT_BROKER", "qmt-remote") or "qmt-remote",
        runtime_dir=runtime,
        clock=clock,
        start=start,
        days=days,
    )
    if options.broker not in BROKERS:
        raise click.ClickException(f"DEFAULT_BROKER={options.broker!r}: choose one of {BROKERS}")
    try:
        result = asyncio.run(run_strategy(options, env))
    except (ConfigError, BulletTradeError) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        return 0
    print_result(result)
    return 0
