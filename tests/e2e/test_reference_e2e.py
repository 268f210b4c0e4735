"""Reference data end to end: ``AsyncRemoteProvider`` / ``RemoteQmtProvider`` against a real
server on loopback, backed by the simulator (``sim``) or the qmt adapters on the fake xtquant
(``qmt-fake``). The remote answers equal the backend's own, record for record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from e2e_kit import (
    ACCOUNTS,
    BACKENDS,
    TOKEN,
    TRADING_MOMENT,
    Running,
    ServerFactory,
    build_backends,
)

from bullet_trade.adapters.contracts import ReferenceData
from bullet_trade.client import AsyncConnection, AsyncRemoteProvider, RemoteQmtProvider
from bullet_trade.client.loop import LoopThread
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig
from bullet_trade.errors import BadRequest
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.server.app import QmtServer

pytestmark = pytest.mark.e2e

PINGAN = parse_security("000001.XSHE")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def running(start_server: ServerFactory) -> Running:
    return await start_server()


@pytest.fixture
async def provider(running: Running) -> AsyncIterator[AsyncRemoteProvider]:
    conn = AsyncConnection(ClientConfig(port=running.port, token=TOKEN, rpc_timeout=20.0))
    await conn.connect()
    yield AsyncRemoteProvider(conn)
    await conn.close()


def local(running: Running) -> ReferenceData:
    data = running.server.state.data
    assert isinstance(data, ReferenceData)
    return data


async def test_all_securities_over_the_wire(running: Running,
                                            provider: AsyncRemoteProvider) -> None:
    assert isinstance(provider, ReferenceData)
    for types in (["index"], ["etf"], ["stock"]):
        remote = await provider.all_securities(types)
        here = [replace(i, subtype=None) for i in await local(running).all_securities(types)]
        assert remote == here  # the wire frame has no subtype column
    frame = await provider.get_all_securities(["index", "etf"])
    assert frame.index.name == "code"
    assert list(frame.columns) == ["display_name", "name", "start_date", "end_date", "type",
                                   "qmt_code"]
    assert frame.loc["000300.XSHG", "display_name"] == "沪深300"
    assert frame.loc["510300.XSHG", "type"] == "etf"
    assert (await provider.get_all_securities("index", date(2014, 1, 1))).empty
    with pytest.raises(BadRequest) as info:
        await provider.get_all_securities(["stock", "options"])
    assert info.value.field == "types[1]"


async def test_index_stocks_and_split_dividend(running: Running,
                                              provider: AsyncRemoteProvider) -> None:
    csi300 = parse_security("000300.XSHG")
    members = await provider.index_stocks(csi300)
    assert len(members) == 300 and members == await local(running).index_stocks(csi300)
    assert all(m.symbol[:3] in ("000", "001", "002", "003", "300", "301", "600", "601",
                                "603", "605", "688") for m in members)
    assert len(await provider.get_index_stocks("000016.SH")) == 50
    events = await provider.split_dividend(PINGAN)
    assert events and events == await local(running).split_dividend(PINGAN)
    rows = await provider.get_split_dividend("000001.SZ", "2018-01-01", date(2020, 12, 31))
    assert rows == [e.to_wire() for e in events if "2018" <= e.ex_date.isoformat()[:4] <= "2020"]
    with pytest.raises(BadRequest) as info:
        await provider.get_split_dividend("000001.XSHE", "2021-01-01", "2020-01-01")
    assert info.value.field == "start"


@pytest.fixture
def threaded_server(backend: str, tmp_path: Any) -> Iterator[QmtServer]:
    host = LoopThread("e2e-reference-server")
    cleanup: list[Any] = []

    async def start() -> QmtServer:
        sim = SimConfig(clock_mode="real")
        clock = ManualClock(TRADING_MOMENT)
        built = build_backends(backend, sim, clock, cleanup)
        config = ServerConfig(listen="127.0.0.1", port=0, token=TOKEN, accounts=ACCOUNTS,
                              runtime_dir=tmp_path, sim=sim, access_log=False)
        server = QmtServer(config, data=built.data, broker=built.broker, clock=clock)
        await server.start()
        return server

    srv = host.run(start())
    try:
        yield srv
    finally:
        host.run(srv.stop())
        host.close()
        for undo in cleanup:
            undo()


def test_sync_facade(threaded_server: QmtServer) -> None:
    config = ClientConfig(port=threaded_server.port, token=TOKEN, rpc_timeout=20.0)
    with RemoteQmtProvider(config) as provider:
        frame = provider.get_all_securities("index")
        assert "399001.XSHE" in frame.index
        assert "600519.XSHG" in provider.get_index_stocks("000300.XSHG")
        rows = provider.get_split_dividend("000001.XSHE")
        assert rows and rows[0]["security"] == "000001.XSHE" and rows[0]["per_base"] == 10
