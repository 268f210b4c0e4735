"""Fixtures for the session/app tests: a loopback server factory and raw clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sessionkit import FakeBroker, FakeFeed, base_actions

from bullet_trade.config import ServerConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer
from bullet_trade.server.context import ActionSpec
from bullet_trade.testing.rawclient import RawClient

# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server built without runtime_dir writes ./runtime; keep that out of the checkout."""
    monkeypatch.chdir(tmp_path)

ServerFactory = Callable[..., Awaitable[QmtServer]]


@pytest.fixture
async def make_server(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    servers: list[QmtServer] = []

    async def make(
        actions: dict[str, ActionSpec] | None = None,
        *,
        data: Any = "fake",
        broker: Any = "fake",
        **config: Any,
    ) -> QmtServer:
        config.setdefault("runtime_dir", tmp_path)
        cfg = ServerConfig(listen="127.0.0.1", port=0, token="tok", **config)
        server = QmtServer(
            cfg,
            data=FakeFeed() if data == "fake" else data,
            broker=FakeBroker() if broker == "fake" else broker,
            clock=ManualClock(datetime(2025, 1, 2, 9, 30)),
            actions=base_actions() if actions is None else actions,
        )
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    clients: list[RawClient] = []

    async def open_client(server: QmtServer, *, handshake: bool = True, **extra: Any) -> RawClient:
        client = await RawClient.connect(server.port)
        clients.append(client)
        if handshake:
            ack = await client.handshake(**extra)
            assert ack["type"] == "handshake_ack", ack
        return client

    yield open_client
    for client in clients:
        await client.close()
