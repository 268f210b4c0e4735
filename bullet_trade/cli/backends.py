"""Building backends (simulated exchange, miniQMT, remote) from configuration."""

from __future__ import annotations

import importlib.util

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.cli.env import ConfigError
from bullet_trade.config import SimConfig
from bullet_trade.model.clock import Clock
from bullet_trade.model.records import AccountConfig

DEFAULT_SIM_ACCOUNT = AccountConfig(key="main", account_id="sim-000001")


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
) -> tuple[DataProvider, Broker]:
    """Data and broker adapters for ``server_type`` (``sim`` or ``qmt``)."""
    if server_type == "sim":
        from bullet_trade.adapters.sim import build_sim_backend

        return build_sim_backend(sim, list(accounts or (DEFAULT_SIM_ACCOUNT,)), clock)
    if server_type == "qmt":
        if not xtquant_available():
            raise ConfigError(
                "--server-type qmt needs the xtquant SDK (Windows, miniQMT installed and "
                "logged in); use --server-type sim on other machines"
            )
        raise ConfigError("the qmt backend is not part of this build yet; use --server-type sim")
    raise ConfigError(f"unknown --server-type {server_type!r} (choose sim or qmt)")
