"""``bullet-trade live STRATEGY``: run a JoinQuant-style strategy on a broker.

Settings, highest precedence first: command-line flags > ``--env-file FILE`` (global or on
this command) > the process environment > ``./.env``. Variables read here: ``DEFAULT_BROKER``,
``RUNTIME_DIR``, ``LOG_DIR``, ``LOG_LEVEL``, ``TRADE_MAX_WAIT_TIME``, ``STRATEGY_NAME``,
``RISK_MAX_*`` (:mod:`bullet_trade.live.risk`); for ``qmt-remote`` ``QMT_SERVER_*`` (see
``bullet_trade.client.envconfig``); for ``qmt`` ``QMT_ACCOUNT_ID``, ``QMT_ACCOUNT_TYPE``,
``QMT_DATA_PATH`` and ``BT_FAKE_XTQUANT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.cli.backends import DEFAULT_SIM_ACCOUNT, FAKE_XTQUANT_ENV, build_backends
from bullet_trade.cli.display import console, orders_table, positions_table
from bullet_trade.cli.env import (
    ConfigError,
    get_bool,
    get_float,
    get_int,
    get_str,
    load_environment,
)
from bullet_trade.cli.logs import setup_logging
from bullet_trade.client.provider import PROVIDER_EXTENSIONS
from bullet_trade.config import SimConfig
from bullet_trade.errors import BulletTradeError
from bullet_trade.live.risk import RiskLimits
from bullet_trade.model.calendar import TradingCalendar
from bullet_trade.model.clock import Clock, SteppedClock, WallClock
from bullet_trade.model.records import AccountConfig

log = logging.getLogger("bullet_trade.live")

BROKERS = ("qmt-remote", "sim", "qmt")
QMT_ACCOUNT_TYPES = ("stock", "credit")


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
    risk: RiskLimits = field(default_factory=RiskLimits)


def live_config(options: LiveOptions) -> Any:
    """The runner's LiveConfig. A replayed clock never waits for fills in wall time."""
    from bullet_trade.live.config import LiveConfig

    wait = options.trade_max_wait if options.clock == "real" else 0.0
    return LiveConfig(trade_max_wait=wait, strategy_name=options.strategy_name, risk=options.risk)


def replay_start(today: date) -> datetime:
    """09:00 of the trading day before the last completed one (so two full days fit)."""
    days = TradingCalendar().trade_days(end=today - timedelta(days=1), count=2)
    return datetime.combine(days[0], time(9, 0))


def make_clock(options: LiveOptions) -> Clock:
    if options.clock == "real":
        return WallClock()
    start = options.start or replay_start(WallClock().now().date())
    return SteppedClock(start)


#: Extensions the live runner's single connection asks for: the broker event stream (order
#: waits end on events) and the fast history encoding; a server that lacks one ignores it.
LIVE_EXTENSIONS: tuple[str, ...] = ("events.v1", *PROVIDER_EXTENSIONS)


@contextlib.asynccontextmanager
async def remote_backends(
    env: Mapping[str, str],
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    account_key: str | None = None,
) -> AsyncIterator[tuple[DataProvider, Broker, str]]:
    """Connect to a server as ``qmt-remote`` (asking for :data:`LIVE_EXTENSIONS`); yields
    (data, broker, account_key)."""
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
    conn = AsyncConnection(config, extensions=LIVE_EXTENSIONS)
    await conn.connect()
    try:
        broker = AsyncRemoteBroker(
            conn, account_key=config.account_key, sub_account_id=config.sub_account_id
        )
        key = broker.accounts()[0].key
        yield AsyncRemoteProvider(conn), broker, key
    finally:
        await conn.close()


def qmt_account(env: Mapping[str, str], *, fake: bool) -> AccountConfig:
    """The miniQMT account from ``QMT_ACCOUNT_ID``, ``QMT_ACCOUNT_TYPE`` (stock/credit, default
    stock) and ``QMT_DATA_PATH`` (required unless the fake xtquant is used)."""
    account_id = get_str(env, "QMT_ACCOUNT_ID")
    if account_id is None:
        raise ConfigError("--broker qmt needs QMT_ACCOUNT_ID (the miniQMT fund account)")
    account_type = (get_str(env, "QMT_ACCOUNT_TYPE", "stock") or "stock").lower()
    if account_type not in QMT_ACCOUNT_TYPES:
        raise ConfigError(f"QMT_ACCOUNT_TYPE={account_type!r}: choose one of {QMT_ACCOUNT_TYPES}")
    data_path = get_str(env, "QMT_DATA_PATH")
    if data_path is None and not fake:
        raise ConfigError("--broker qmt needs QMT_DATA_PATH (miniQMT's userdata_mini folder)")
    return AccountConfig(key="main", account_id=account_id, account_type=account_type,
                         data_path=data_path)


@contextlib.asynccontextmanager
async def qmt_backends(
    env: Mapping[str, str], clock: Clock
) -> AsyncIterator[tuple[DataProvider, Broker, str]]:
    """In-process miniQMT (xtquant), started and stopped around the run. With
    ``BT_FAKE_XTQUANT=1`` the adapters run on the built-in fake xtquant over the simulator,
    driven by ``clock`` (tests, demos); the fake is uninstalled afterwards."""
    from bullet_trade.adapters.qmt import build_qmt_backend

    fake = get_bool(env, FAKE_XTQUANT_ENV, False)
    account = qmt_account(env, fake=fake)
    undo: Callable[[], None] | None = None
    if fake:
        from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend, remove_fake

        exchange, data, broker = build_fake_qmt_backend(
            SimConfig(clock_mode="real"), (account,), clock, tick_interval=3.0)
        undo = functools.partial(remove_fake, exchange)
    else:
        data, broker = build_qmt_backend((account,), data_path=account.data_path, clock=clock)
    try:
        await data.start()
        await broker.start()
        yield data, broker, account.key
    finally:
        await broker.stop()
        await data.stop()
        if undo is not None:
            undo()


@contextlib.asynccontextmanager
async def open_backends(
    options: LiveOptions, env: Mapping[str, str], clock: Clock
) -> AsyncIterator[tuple[DataProvider, Broker, str]]:
    """The (data, broker, account key) named by ``options.broker``, for the run's duration."""
    if options.broker == "qmt-remote":
        async with remote_backends(env) as found:
            yield found
    elif options.broker == "qmt":
        async with qmt_backends(env, clock) as found:
            yield found
    else:  # the simulator keeps its state in <runtime-dir>/sim
        data, broker = build_backends(
            "sim", accounts=(DEFAULT_SIM_ACCOUNT,), sim=SimConfig(clock_mode="real"),
            clock=clock, runtime_dir=options.runtime_dir / "sim")
        yield data, broker, DEFAULT_SIM_ACCOUNT.key


async def run_strategy(options: LiveOptions, env: Mapping[str, str]) -> Any:
    """Build the backends named by ``options.broker`` and run the strategy on them."""
    from bullet_trade.live.runner import run_live

    clock = make_clock(options)
    max_days = (
        options.days if options.days is not None else (2 if options.clock == "replay" else None)
    )
    async with open_backends(options, env, clock) as (data, broker, key):
        return await run_live(
            options.strategy, broker=broker, data=data, clock=clock, account_key=key,
            runtime_dir=options.runtime_dir / "live", max_days=max_days,
            config=live_config(options),
        )


def risk_limits(env: Mapping[str, str]) -> RiskLimits:
    """Local pre-trade limits from ``RISK_MAX_ORDER_VALUE``, ``RISK_MAX_DAILY_ORDERS`` and
    ``RISK_MAX_POSITION_RATIO`` (each unset = off)."""
    order_value = get_str(env, "RISK_MAX_ORDER_VALUE")
    daily = get_str(env, "RISK_MAX_DAILY_ORDERS")
    ratio = get_str(env, "RISK_MAX_POSITION_RATIO")
    try:
        return RiskLimits(
            max_order_value=None if order_value is None else get_float(
                env, "RISK_MAX_ORDER_VALUE", 0.0),
            max_daily_orders=None if daily is None else get_int(env, "RISK_MAX_DAILY_ORDERS", 0),
            max_position_ratio=None if ratio is None else get_float(
                env, "RISK_MAX_POSITION_RATIO", 0.0),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


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
        risk=risk_limits(env),
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
