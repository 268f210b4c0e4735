"""``bullet-trade halt``: a real server on its own event-loop thread (the command runs its own
``asyncio.run``), driven through the CLI entry point."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.cli.main import main
from bullet_trade.config import ServerConfig, SimConfig, TokenGrant
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderType, Side
from bullet_trade.model.records import AccountConfig, PlaceOrder
from bullet_trade.server.app import QmtServer

ADMIN, TRADER = "admin-token-0123456789", "trade-token-0123456789"


class ThreadServer:
    def __init__(self, runtime: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        sim = SimConfig(clock_mode="real")
        clock = ManualClock(datetime(2026, 11, 24, 10, 0))
        accounts = (AccountConfig(key="main", account_id="111"),)
        grants = (TokenGrant(name="ops", token=ADMIN),
                  TokenGrant(name="bot", token=TRADER, scopes=frozenset({"data", "trade"})))
        config = ServerConfig(listen="127.0.0.1", port=0, tokens=grants, accounts=accounts,
                              runtime_dir=runtime, sim=sim, access_log=False)
        self.data, self.broker = build_sim_backend(sim, list(accounts), clock)
        self.server = self.run(self._start(config, clock))

    async def _start(self, config: ServerConfig, clock: ManualClock) -> QmtServer:
        server = QmtServer(config, data=self.data, broker=self.broker, clock=clock)
        await server.start()
        return server

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def rest_an_order(self) -> str:
        async def place() -> str:
            security = parse_security("000001.XSHE")
            quote = await self.data.quote(security)
            command = PlaceOrder(security=security, side=Side.BUY, amount=100,
                                 order_type=OrderType.LIMIT, price=round(quote.low_limit + 0.01, 2))
            return (await self.broker.place_order("main", command)).order_id

        return str(self.run(place()))

    def close(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadServer]:
    monkeypatch.chdir(tmp_path)  # no ./.env of the checkout
    for name in ("QMT_SERVER_HOST", "QMT_SERVER_TOKEN", "QMT_SERVER_TLS_CERT",
                 "QMT_SERVER_TLS_FINGERPRINT"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadServer(tmp_path / "runtime")
    monkeypatch.setenv("QMT_SERVER_PORT", str(server.server.port))
    yield server
    server.close()


def test_halt_cancels_open_orders_and_resume_lifts_it(
    served: ThreadServer, capsys: pytest.CaptureFixture[str]
) -> None:
    order_id = served.rest_an_order()
    assert main(["halt", "--account", "main", "--token", ADMIN, "--reason", "drill"]) == 0
    out = capsys.readouterr().out
    assert "trading halted on account main: drill" in out
    assert f"canceled 1 open order(s) / 已撤 1 笔: {order_id}" in out
    assert main(["halt", "--account", "main", "--resume", "--token", ADMIN]) == 0
    assert "trading resumed on account main (it was halted)" in capsys.readouterr().out


def test_token_from_the_environment_and_scope_enforced(
    served: ThreadServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QMT_SERVER_TOKEN", TRADER)
    assert main(["halt", "--account", "main"]) == 1
    assert "FORBIDDEN" in capsys.readouterr().err
    monkeypatch.setenv("QMT_SERVER_TOKEN", ADMIN)
    assert main(["halt", "--account", "nope"]) == 1
    assert "UNKNOWN_ACCOUNT" in capsys.readouterr().err
    assert main(["halt", "--account", "main"]) == 0
    assert "canceled 0 open order(s)" in capsys.readouterr().out


def test_missing_token_is_a_clear_error(
    served: ThreadServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["halt", "--account", "main"]) == 1
    assert "QMT_SERVER_TOKEN" in capsys.readouterr().err
