"""Shared constants and helpers of the e2e tests (servers on loopback, sim or qmt-fake behind them).

The simulator runs in ``real`` clock mode on a ManualClock parked at 10:00 of a trading day,
so nothing depends on the wall clock or on today's trading hours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer

if TYPE_CHECKING:
    from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

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
    #: the fake counter behind a ``qmt-fake`` server (fault injection); None for ``sim``
    exchange: FakeExchange | None = None

    @property
    def port(self) -> int:
        return self.server.port


ServerFactory = Callable[..., Awaitable[Running]]

#: Backends a backend-neutral e2e module runs against (``params`` of its ``backend`` fixture).
BACKENDS = ["sim", "qmt-fake"]


@dataclass
class Backend:
    """What :func:`build_backends` built: the adapters, and the fake counter when qmt-fake."""

    data: Any
    broker: Any
    exchange: FakeExchange | None = None


def build_backends(
    backend: str,
    sim: SimConfig,
    clock: ManualClock,
    cleanup: list[Any],
    accounts: Sequence[AccountConfig] = ACCOUNTS,
) -> Backend:
    """The simulator's adapters (``sim``) or the qmt adapters on the fake xtquant
    (``qmt-fake``, which needs ``sim.latency == 0``); undo actions are appended to ``cleanup``."""
    if backend == "sim":
        return Backend(*build_sim_backend(sim, list(accounts), clock))
    if backend != "qmt-fake":
        raise ValueError(f"unknown e2e backend {backend!r}")
    from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend, remove_fake

    exchange, data, broker = build_fake_qmt_backend(sim, accounts, clock)
    cleanup.append(lambda: remove_fake(exchange))
    return Backend(data, broker, exchange)
