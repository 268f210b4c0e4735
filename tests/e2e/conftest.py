"""Fixtures: real servers on loopback with the simulated exchange (or qmt-fake) behind them.

The simulator runs in ``real`` clock mode on a ManualClock parked at 10:00 of a trading day,
so nothing depends on the wall clock or on today's trading hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from e2e_kit import ACCOUNTS, TOKEN, TRADING_MOMENT, Running, ServerFactory, build_backends

from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer
from bullet_trade.testing.rawclient import RawClient


@pytest.fixture
def backend() -> str:
    """Backend behind the server: ``sim`` here; a test module may override this fixture
    with ``params=["sim", "qmt-fake"]`` to run against the qmt adapters on the fake xtquant."""
    return "sim"


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
        built = build_backends(backend, sim, clock, cleanup)
        server = QmtServer(config, data=built.data, broker=built.broker, clock=clock)
        await server.start()
        started.append(server)
        return Running(server, clock, config, built.exchange)

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
