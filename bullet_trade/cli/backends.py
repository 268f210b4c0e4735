"""Building backends (simulated exchange, miniQMT, remote) from configuration."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.cli.env import ConfigError
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import AccountConfig

DEFAULT_SIM_ACCOUNT = AccountConfig(key="main", account_id="sim-000001")
#: File of the simulated broker's persistent state, inside the server's runtime directory.
SIM_STATE_FILE = "sim_state.sqlite3"


def xtquant_available() -> bool:
    """Whether the xtquant SDK can be imported on this machine (Windows with miniQMT)."""
    return importlib.util.find_spec("xtquant") is not None


def default_server_type() -> str:
    return "qmt" if xtquant_available() else "sim"


def build_backends(
    server_type: str,
    *,
    accounts: tuple[AccountConfig, ...],
    sim: SimConfig,
    clock: Clock,
    runtime_dir: Path | None = None,
) -> tuple[DataProvider, Broker]:
    """Data and broker adapters for ``server_type`` (``sim`` or ``qmt``).

    With ``runtime_dir`` the simulated broker persists its accounts, orders, trades and
    positions in ``runtime_dir / SIM_STATE_FILE``; without it, state lives in memory.
    """
    if server_type == "sim":
        from bullet_trade.adapters.sim import build_sim_backend
        from bullet_trade.adapters.sim.clocks import sim_calendar, sim_clock
        from bullet_trade.model.calendar import load_holidays_file

        state_path = runtime_dir / SIM_STATE_FILE if runtime_dir is not None else None
        try:  # replay mode runs the simulator on its own accelerated clock
            sim_time = sim_clock(sim, clock)
            holidays = load_holidays_file(sim.holidays_file) if sim.holidays_file else set()
        except (OSError, ValueError) as exc:
            raise ConfigError(str(exc)) from exc
        return build_sim_backend(
            sim,
            list(accounts or (DEFAULT_SIM_ACCOUNT,)),
            sim_time,
            calendar=sim_calendar(sim_time, holidays),
            state_path=state_path,
        )
    if server_type == "qmt":
        return _build_qmt(accounts, sim, clock)
    raise ConfigError(f"unknown --server-type {server_type!r} (choose sim or qmt)")


#: Environment switch: ``BT_FAKE_XTQUANT=1`` with ``--server-type qmt`` serves the qmt adapters
#: on the built-in fake xtquant (driven by the simulator) instead of the real SDK (demos, CI).
FAKE_XTQUANT_ENV = "BT_FAKE_XTQUANT"


def _build_qmt(
    accounts: tuple[AccountConfig, ...], sim: SimConfig, clock: Clock
) -> tuple[DataProvider, Broker]:
    """The miniQMT adapters (real xtquant, or the fake when ``BT_FAKE_XTQUANT=1``)."""
    from bullet_trade.errors import BackendUnavailable

    if not accounts:
        raise ConfigError(
            "--server-type qmt needs --accounts alias=fund_account_id (QMT_SERVER_ACCOUNTS)"
        )
    if os.environ.get(FAKE_XTQUANT_ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend

        _, data, broker = build_fake_qmt_backend(sim, accounts, clock, tick_interval=3.0)
        return data, broker
    from bullet_trade.adapters.qmt import build_qmt_backend

    try:
        return build_qmt_backend(accounts, data_path=accounts[0].data_path, clock=clock)
    except BackendUnavailable as exc:
        raise ConfigError(str(exc)) from None
