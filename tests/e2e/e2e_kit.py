"""Shared constants and helpers of the e2e tests (servers on loopback, sim or qmt-fake behind them).

The simulator runs in ``real`` clock mode on a ManualClock parked at 10:00 of a trading day,
so nothing depends on the wall clock or on today's trading hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer

TOKEN = "tok"
ACCOUNTS = (
    AccountConfig(key="main", account_id="111"),
    AccountConfig(key="hedge", account_id="222"),
)
TRADING_MOMENT = datetime(2026, 11, 24, 10, 0)


@dataclass
class Running:
    server: QmtServer
    clock: ManualClock
    config: ServerConfig

    @property
    def port(self) -> int:
        return self.server.port


ServerFactory = Callable[..., Awaitable[Running]]


def build_backends(backend: str, sim: SimConfig, clock: ManualClock, cleanup: list[Any]) -> Any:
    if backend == "sim":
        return build_sim_backend(sim, list(ACCOUNTS), clock)
    from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend, remove_fake

    exchange, data, broker = build_fake_qmt_backend(sim, ACCOUNTS, clock)
    cleanup.append(lambda: remove_fake(exchange))
    return data, broker
