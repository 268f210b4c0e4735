"""``bullet-trade live STRATEGY``: run a JoinQuant-style strategy on a broker.

Settings, highest precedence first: command-line flags > ``--env-file FILE`` (global or on
this command) > the process environment > ``./.env``. Variables read here: ``DEFAULT_BROKER``,
``RUNTIME_DIR``, ``LOG_DIR``, ``LOG_LEVEL``, ``TRADE_MAX_WAIT_TIME``, ``STRATEGY_NAME`` and,
for ``qmt-remote``, ``QMT_SERVER_*`` (see ``bullet_trade.client.envconfig``).
"""

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
from bullet_trade.cli.env import ConfigError, get_float, get_str, load_environment
from bullet_trade.cli.logs import setup_logging
from bullet_trade.config import SimConfig
from bullet_trade.errors import BulletTradeError
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import Clock, SteppedClock, WallClock
from bullet_trade.model.records import AccountConfig

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
    trade_max_wait: float = 0.0
    strategy_name: str = "bullet-trade"


def live_config(options: LiveOptions) -> Any:
    """The runner's LiveConfig. A replayed clock never waits for fills in wall time."""
    from bullet_trade.live.config import LiveConfig

    wait = options.trade_max_wait if options.clock == "real" else 0.0
    return LiveConfig(trade_max_wait=wait, strategy_name=options.strategy_name)


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
    config = live_config(options)
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
                config=config,
            )
    data, broker, key = local_backends(options, env, clock)
    return await run_live(
        options.strategy,
        broker=broker,
        data=data,
        clock=clock,
        account_key=key,
        runtime_dir=live_dir,
        max_days=max_days,
        config=config,
    )


def local_backends(
    options: LiveOptions, env: Mapping[str, str], clock: Clock
) -> tuple[DataProvider, Broker, str]:
    """In-process backends: the simulator (state kept in ``<runtime-dir>/sim``) or miniQMT
    (``QMT_ACCOUNT_ID``; a clear ConfigError where xtquant or the adapter is missing)."""
    if options.broker == "sim":
        account = DEFAULT_SIM_ACCOUNT
        sim = SimConfig(clock_mode="real")
    else:
        account_id = get_str(env, "QMT_ACCOUNT_ID")
        if account_id is None:
            raise ConfigError("--broker qmt needs QMT_ACCOUNT_ID (the miniQMT fund account)")
        account = AccountConfig(key="main", account_id=account_id,
                                data_path=get_str(env, "QMT_DATA_PATH"))
        sim = SimConfig()
    data, broker = build_backends(options.broker, accounts=(account,), sim=sim, clock=clock,
                                  runtime_dir=options.runtime_dir / "sim")
    return data, broker, account.key


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
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=None,
    help="dotenv file; overrides the process environment and ./.env (flags still win).",
)
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
    env_file: Path | None,
) -> int:
    """Run STRATEGY (a JoinQuant-style .py file)."""
    try:
        env = load_environment(env_file) if env_file is not None else obj["env"]
        options = _options(env, strategy, broker, runtime_dir, clock, start, days)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    runtime = options.runtime_dir
    logs = Path(log_dir or get_str(env, "LOG_DIR", str(runtime / "logs")) or runtime / "logs")
    setup_logging(logs, level=get_str(env, "LOG_LEVEL", "INFO") or "INFO", filename="live.log")
    return _execute(options, env)


def _options(env: Mapping[str, str], strategy: Path, broker: str | None,
             runtime_dir: str | None, clock: str, start: datetime | None, days: int | None
             ) -> LiveOptions:
    """Merge flags over the environment (raises ConfigError / ClickException)."""
    if not strategy.is_file():
        raise click.ClickException(f"strategy file not found: {strategy}")
    runtime = Path(runtime_dir or get_str(env, "RUNTIME_DIR", "runtime") or "runtime")
    options = LiveOptions(
        strategy=strategy.resolve(),
        broker=broker or get_str(env, "DEFAULT_BROKER", "qmt-remote") or "qmt-remote",
        runtime_dir=runtime,
        clock=clock,
        start=start,
        days=days,
        trade_max_wait=max(get_float(env, "TRADE_MAX_WAIT_TIME", 0.0), 0.0),
        strategy_name=get_str(env, "STRATEGY_NAME", strategy.stem) or strategy.stem,
    )
    if options.broker not in BROKERS:
        raise click.ClickException(f"DEFAULT_BROKER={options.broker!r}: choose one of {BROKERS}")
    return options


def _execute(options: LiveOptions, env: Mapping[str, str]) -> int:
    from bullet_trade.live.lock import RuntimeDirLocked

    try:
        result = asyncio.run(run_strategy(options, env))
    except (ConfigError, BulletTradeError, RuntimeDirLocked) as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        return 0
    print_result(result)
    return 0
