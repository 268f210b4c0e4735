"""``bullet-trade server``: build the config, the backends and the server, then serve."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import secrets
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from bullet_trade.cli.backends import build_backends, default_server_type
from bullet_trade.cli.display import account_table, console
from bullet_trade.cli.env import (
    ConfigError,
    get_bool,
    get_float,
    get_int,
    get_str,
    parse_accounts,
)
from bullet_trade.cli.logs import setup_logging
from bullet_trade.cli.security_opts import banner_lines, security_options, security_settings
from bullet_trade.config import DEFAULT_PORT, FaultConfig, ServerConfig, SimConfig
from bullet_trade.errors import BackendUnavailable
from bullet_trade.model.clock import WallClock
from bullet_trade.server.security.tls import SecuritySetupError
from bullet_trade.server.subaccounts.spec import SubAccountError, parse_sub_accounts

log = logging.getLogger("bullet_trade.server")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick(flags: Mapping[str, Any], name: str, env_value: Any) -> Any:
    value = flags.get(name)
    return env_value if value is None else value


def build_sim_config(flags: Mapping[str, Any], env: Mapping[str, str]) -> SimConfig:
    return SimConfig(
        seed=_pick(flags, "sim_seed", get_int(env, "BT_SIM_SEED", 42)),
        initial_cash=_pick(flags, "sim_cash", get_float(env, "BT_SIM_CASH", 1_000_000.0)),
        latency=_pick(flags, "sim_latency", get_float(env, "BT_SIM_LATENCY", 0.0)),
        clock_mode=_pick(flags, "sim_clock", get_str(env, "BT_SIM_CLOCK", "always-open")),
        replay_start=_pick(flags, "sim_replay_start", get_str(env, "BT_SIM_REPLAY_START")),
        replay_speed=_pick(
            flags, "sim_replay_speed", get_float(env, "BT_SIM_REPLAY_SPEED", 60.0)
        ),
        holidays_file=_pick(flags, "holidays", get_str(env, "BT_HOLIDAYS_FILE")),
        faults=FaultConfig.parse(_pick(flags, "sim_faults", get_str(env, "BT_SIM_FAULTS")) or ""),
        durable=_pick(flags, "sim_durable", get_bool(env, "BT_SIM_DURABLE", True)),
    )


def build_server_config(
    flags: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[ServerConfig, bool]:
    """ServerConfig from flags and environment; the bool says the token was generated."""
    listen = _pick(flags, "listen", get_str(env, "QMT_SERVER_LISTEN", "0.0.0.0"))
    token = _pick(flags, "token", get_str(env, "QMT_SERVER_TOKEN"))
    security = security_settings(flags, env)
    generated = False
    if not token and not security["tokens"]:
        if not _is_loopback(listen):
            raise ConfigError(
                f"no token: set --token or QMT_SERVER_TOKEN before listening on {listen} "
                "(a server reachable from the network must not run without one)"
            )
        token, generated = secrets.token_hex(16), True
    data_path = _pick(flags, "data_path", get_str(env, "QMT_DATA_PATH"))
    accounts = parse_accounts(
        _pick(flags, "accounts", get_str(env, "QMT_SERVER_ACCOUNTS")), data_path=data_path
    )
    runtime_dir = Path(_pick(flags, "runtime_dir", get_str(env, "RUNTIME_DIR", "runtime")))
    timeout = get_float(
        env,
        "QMT_SERVER_REQUEST_TIMEOUT_SECONDS",
        get_float(env, "QMT_SERVER_REQUEST_TIMEOUT", 60.0),
    )
    config = ServerConfig(
        listen=listen,
        port=_pick(flags, "port", get_int(env, "QMT_SERVER_PORT", DEFAULT_PORT)),
        token=token,
        enable_data=_pick(flags, "enable_data", get_bool(env, "QMT_SERVER_ENABLE_DATA", True)),
        enable_broker=_pick(
            flags, "enable_broker", get_bool(env, "QMT_SERVER_ENABLE_BROKER", True)
        ),
        accounts=accounts,
        server_type=_pick(
            flags, "server_type", get_str(env, "QMT_SERVER_TYPE", default_server_type())
        ),
        data_path=data_path,
        runtime_dir=runtime_dir,
        max_connections=_pick(
            flags, "max_connections", get_int(env, "QMT_SERVER_MAX_CONNECTIONS", 64)
        ),
        max_subscriptions=_pick(
            flags, "max_subscriptions", get_int(env, "QMT_SERVER_MAX_SUBSCRIPTIONS", 200)
        ),
        request_timeout=timeout,
        trade_max_wait=get_float(env, "TRADE_MAX_WAIT_TIME", 16.0),
        access_log=_pick(flags, "access_log", get_bool(env, "QMT_SERVER_ACCESS_LOG", True)),
        sim=build_sim_config(flags, env),
        **order_settings(flags, env),
        **security,
    )
    return config, generated


def order_settings(flags: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """ServerConfig keyword arguments of the order-safety options (``--sub-accounts``,
    ``--order-rate-limit``, ``--order-rate-burst``).

    Raises:
        SubAccountError: a malformed ``--sub-accounts`` item (a ``ValueError`` naming it).
        ConfigError: a malformed number in the environment.
    """
    return {
        "sub_accounts": parse_sub_accounts(
            _pick(flags, "sub_accounts", get_str(env, "QMT_SERVER_SUB_ACCOUNTS"))
        ),
        "order_rate_limit": _pick(
            flags, "order_rate_limit", get_float(env, "QMT_SERVER_ORDER_RATE_LIMIT", 20.0)
        ),
        "order_rate_burst": _pick(
            flags, "order_rate_burst", get_int(env, "QMT_SERVER_ORDER_RATE_BURST", 40)
        ),
    }


async def serve(
    config: ServerConfig,
    *,
    ready_file: Path | None,
    show_token: bool,
    access_sink: Callable[[str], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (or Ctrl-C on Windows)."""
    from bullet_trade.server.app import QmtServer

    clock = WallClock()
    data, broker = build_backends(
        config.server_type,
        accounts=config.accounts,
        sim=config.sim,
        clock=clock,
        runtime_dir=config.runtime_dir,
    )
    server = QmtServer(
        config,
        data=data if config.enable_data else None,
        broker=broker if config.enable_broker else None,
        clock=clock,
        access_sink=access_sink,
    )
    stop = asyncio.Event()
    _install_stop_signals(asyncio.get_running_loop(), stop)
    async with server:
        await _print_banner(
            config, server.port, broker if config.enable_broker else None, show_token
        )
        if ready_file is not None:
            _write_ready_file(ready_file, config.listen, server.port)
        await stop.wait()
        log.info("shutting down")


def _install_stop_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Portable: signal.signal works on Windows too (unlike loop.add_signal_handler)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(stop.set)

    signal.signal(signal.SIGINT, handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, handler)


def _write_ready_file(path: Path, host: str, port: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"host": host, "port": port, "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(path)


async def _print_banner(config: ServerConfig, port: int, broker: Any, show_token: bool) -> None:
    services = [
        s for s, on in (("data", config.enable_data), ("broker", config.enable_broker)) if on
    ]
    console.print(
        f"[bold]bullet-trade server[/bold] listening on {config.listen}:{port} "
        f"backend={config.server_type} services={','.join(services)} "
        f"TLS={'on' if config.tls_cert else 'off'}"
    )
    for line in banner_lines(config, _is_loopback(config.listen)):
        console.print(line)
    if show_token:
        console.print(f"generated token (shown once, not logged): [bold]{config.token}[/bold]")
    if broker is not None:
        snapshots = [await broker.account(acc.key) for acc in broker.accounts()]
        console.print(account_table(snapshots))


def server_options(func: Any) -> Any:
    options = [
        click.option(
            "--listen", default=None, help="Bind address (QMT_SERVER_LISTEN, default 0.0.0.0)."
        ),
        click.option(
            "--port", type=int, default=None, help="TCP port (QMT_SERVER_PORT, default 58620)."
        ),
        click.option("--token", default=None, help="Shared secret (QMT_SERVER_TOKEN)."),
        click.option("--enable-data/--disable-data", default=None, help="Serve market data."),
        click.option("--enable-broker/--disable-broker", default=None, help="Serve trading."),
        click.option("--accounts", default=None, help="alias=account_id[:type[:data_path]],..."),
        click.option("--data-path", default=None, help="miniQMT userdata_mini (QMT_DATA_PATH)."),
        click.option(
            "--sub-accounts",
            default=None,
            help="Virtual sub-accounts name[@parent][:limit=CNY],... (QMT_SERVER_SUB_ACCOUNTS).",
        ),
        click.option(
            "--order-rate-limit",
            type=float,
            default=None,
            help="Orders+cancels/s per account (QMT_SERVER_ORDER_RATE_LIMIT, 20; 0 = off).",
        ),
        click.option(
            "--order-rate-burst",
            type=int,
            default=None,
            help="Order+cancel burst per account (QMT_SERVER_ORDER_RATE_BURST, 40).",
        ),
        click.option(
            "--server-type",
            type=click.Choice(["sim", "qmt"]),
            default=None,
            help="Backend: sim (simulated exchange) or qmt (miniQMT).",
        ),
        click.option(
            "--runtime-dir", default=None, help="State and logs (RUNTIME_DIR, ./runtime)."
        ),
        click.option("--max-connections", type=int, default=None),
        click.option("--max-subscriptions", type=int, default=None),
        click.option("--access-log/--no-access-log", default=None),
        click.option(
            "--ready-file",
            type=click.Path(path_type=Path),
            default=None,
            help="Write {host, port, pid} as JSON here once listening.",
        ),
        click.option("--sim-cash", type=float, default=None, help="Starting cash of sim accounts."),
        click.option("--sim-seed", type=int, default=None, help="Seed of the simulated prices."),
        click.option(
            "--sim-latency", type=float, default=None, help="Added latency per data call (s)."
        ),
        click.option(
            "--sim-clock", type=click.Choice(["always-open", "real", "replay"]), default=None
        ),
        click.option(
            "--sim-replay-start",
            default=None,
            help="Start of the replay clock: YYYY-MM-DD (09:15) or YYYY-MM-DD HH:MM.",
        ),
        click.option(
            "--sim-replay-speed", type=float, default=None, help="Replay speed (x real time)."
        ),
        click.option(
            "--holidays",
            type=click.Path(dir_okay=False, path_type=str),
            default=None,
            help="Extra holidays, one YYYY-MM-DD a line (BT_HOLIDAYS_FILE); sim calendar only.",
        ),
        click.option(
            "--sim-faults",
            default=None,
            help="Sim broker fault injection (BT_SIM_FAULTS), e.g. 'latency=0.05,"
            "reject_rate=0.1,disconnect_every=60,disconnect_for=5,callback_delay=1,reorder'.",
        ),
        click.option(
            "--sim-durable/--sim-fast-store",
            default=None,
            help="Sim broker state fsynced before every ack (BT_SIM_DURABLE, default) or "
            "written behind (faster; a crash may lose the last changes).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("server")
@server_options
@security_options
@click.pass_obj
def server_command(obj: dict[str, Any], /, ready_file: Path | None, **flags: Any) -> None:
    """Run the server beside miniQMT (or on the simulated exchange)."""
    env = obj["env"]
    try:
        config, generated = build_server_config(flags, env)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    access = setup_logging(
        config.runtime_dir / "logs",
        level=get_str(env, "LOG_LEVEL", "INFO") or "INFO",
        filename="server.log",
    )
    sink = access.write if access is not None and config.access_log else None
    try:
        asyncio.run(serve(config, ready_file=ready_file, show_token=generated, access_sink=sink))
    except (ConfigError, SecuritySetupError, SubAccountError, BackendUnavailable) as exc:
        # BackendUnavailable: miniQMT not running / not logged in at startup (no traceback)
        raise click.ClickException(str(exc)) from None
    finally:
        if access is not None:
            access.close()
