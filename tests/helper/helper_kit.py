"""Shared helpers of the JoinQuant-helper tests: the helper file, imported by path as a standalone module, against a real
``QmtServer`` on the simulated exchange.

The helper is synchronous (blocking sockets), so the server and the test proxies run on an
event loop in a background thread and the tests themselves are plain synchronous functions.
"""

from __future__ import annotations

import importlib.util
import itertools
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from jq_proxy import FrameProxy

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.client.loop import LoopThread
from bullet_trade.config import ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer

REPO = Path(__file__).resolve().parents[2]
HELPER_PATH = REPO / "helpers" / "bullet_trade_jq_remote_helper.py"
TOKEN = "tok"
ACCOUNTS = (AccountConfig(key="main", account_id="111"),)
TRADING_MOMENT = datetime(2026, 11, 24, 10, 0)
_counter = itertools.count()


def load_helper() -> ModuleType:
    """A fresh, independent copy of the helper module (its globals start empty)."""
    name = f"bt_helper_under_test_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, HELPER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Served:
    host: LoopThread
    server: QmtServer
    clock: ManualClock

    @property
    def port(self) -> int:
        return self.server.port

    def order_count(self, account: str = "main") -> int:
        broker = self.server.state.broker
        assert broker is not None
        return len(self.host.run(broker.orders(account)))

    def proxy(self, ssl_context: ssl.SSLContext | None = None) -> FrameProxy:
        proxy = FrameProxy(self.port, ssl_context)
        self.host.run(proxy.start())
        self._proxies.append(proxy)
        return proxy

    def __post_init__(self) -> None:
        self._proxies: list[FrameProxy] = []

    def close(self) -> None:
        for proxy in self._proxies:
            self.host.run(proxy.stop())
        self.host.run(self.server.stop())
        self.host.close()


def start_served(runtime_dir: Path, **overrides: Any) -> Served:
    """A QmtServer on the simulator in a loop thread; ``overrides`` go to ServerConfig."""
    host = LoopThread("helper-e2e-server")
    sim = SimConfig(clock_mode="real")
    clock = ManualClock(TRADING_MOMENT)
    config = ServerConfig(
        listen="127.0.0.1", port=0, token=TOKEN, accounts=ACCOUNTS, runtime_dir=runtime_dir,
        sim=sim, trade_max_wait=2.0, access_log=False, **overrides,
    )
    data, broker = build_sim_backend(sim, list(ACCOUNTS), clock)

    async def start() -> QmtServer:
        server = QmtServer(config, data=data, broker=broker, clock=clock)
        await server.start()
        return server

    try:
        return Served(host, host.run(start()), clock)
    except BaseException:
        host.close()
        raise


@dataclass
class Tls:
    server_context: ssl.SSLContext
    ca_file: str
    fingerprint: str
    cert_file: Path
    key_file: Path
