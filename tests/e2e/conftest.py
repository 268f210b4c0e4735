"""Real servers on loopback with the simulated exchange behind them.

The simulator runs in ``real`` clock mode on a ManualClock parked at 10:00 of a trading day,
so nothing depends on the wall clock or on today's trading hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer
from bullet_trade.testing.rawclient import RawClient

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


@pytest.fixture
def backend() -> str:
    """Backend behind the server: ``sim`` here; a test module may override this fixture
    with ``params=["sim", "qmt-fake"]`` to run against the qmt adapters on the fake xtquant."""
    return "sim"


def _backends(backend: str, sim: SimConfig, clock: ManualClock, cleanup: list[Any]) -> Any:
    if backend == "sim":
        return build_sim_backend(sim, list(ACCOUNTS), clock)
    from bullet_trade.testing.fake_xtquant.backend import build_fake_qmt_backend, remove_fake

    exchange, data, broker = build_fake_qmt_backend(sim, ACCOUNTS, clock)
    cleanup.append(lambda: remove_fake(exchange))
    return data, broker


@pytest.fixture
async def start_server(tmp_path: Any, backend: str) -> AsyncIterator[ServerFactory]:
    started: list[QmtServer] = []
    cleanup: list[Any] = []

    async def start(**overrides: Any) -> Running:
        sim = SimConfig(clock_mode="real", **overrides.pop("sim", {}))
        clock = ManualClock(overrides.pop("now", TRADING_MOMENT))
        config = ServerConfig(
            listen="127.0.0.1", port=0, token=TOKEN, accounts=ACCOUNTS, runtime_dir=tmp_path,
            sim=sim, trade_max_wait=2.0, access_log=False, **overrides,
        )
        data, broker = _backends(backend, sim, clock, cleanup)
        server = QmtServer(config, data=data, broker=broker, clock=clock)
        await server.start()
        started.append(server)
        return Running(server, clock, config)

    yield start
    for server in started:
        await server.stop()
    for undo in cleanup:
        undo()


@pytest.fixture
async def sim_server(start_server: ServerFactory) -> Running:
    return await start_server()


@pytest.fixture
async def raw(sim_server: Running) -> AsyncIterator[RawClient]:
    """A raw v1 client that has completed the handshake (conformance T1)."""
    client = await RawClient.connect(sim_server.port)
    await client.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    ack = await client.recv()
    assert ack["type"] == "handshake_ack"
    yield client
    await client.close()
