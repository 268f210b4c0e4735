"""QmtServer lifecycle: start/stop order, backends, context manager, shutdown with live sessions."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sessionkit import FakeBroker, FakeFeed, base_actions

from bullet_trade.config import ServerConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer, ServerStatus
from bullet_trade.server.context import ActionSpec, RequestContext
from bullet_trade.testing.rawclient import RawClient


def _server(**kw: Any) -> QmtServer:
    actions = kw.pop("actions", base_actions())
    data = kw.pop("data", FakeFeed())
    broker = kw.pop("broker", FakeBroker())
    config = ServerConfig(listen="127.0.0.1", port=0, token="tok", **kw)
    return QmtServer(
        config, data=data, broker=broker, clock=ManualClock(datetime(2025, 1, 2)), actions=actions
    )


async def test_context_manager_starts_and_stops_backends() -> None:
    feed, broker = FakeFeed(), FakeBroker()
    async with _server(data=feed, broker=broker) as server:
        assert server.status is ServerStatus.RUNNING
        assert server.port > 0
        assert (feed.started, broker.started) == (1, 1)
        client = await RawClient.connect(server.port)
        assert (await client.handshake())["type"] == "handshake_ack"
        await client.close()
    assert server.status is ServerStatus.STOPPED
    assert (feed.stopped, broker.stopped) == (1, 1)
    with pytest.raises(RuntimeError):
        _ = server.port


async def test_same_object_as_both_backends_started_once() -> None:
    class Both(FakeFeed):
        pass

    both = Both()
    async with _server(data=both, broker=both):
        assert both.started == 1
    assert both.stopped == 1


async def test_backends_without_lifecycle_methods() -> None:
    async with _server(data=None, broker=object()) as server:
        assert server.state.features() == ["broker"]


async def test_stop_closes_sessions_and_cancels_running_requests() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hang(ctx: RequestContext, payload: dict[str, Any]) -> Any:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    actions = base_actions()
    actions["hang"] = ActionSpec(hang)
    server = _server(actions=actions)
    await server.start()
    client = await RawClient.connect(server.port)
    await client.handshake()
    await client.request("hang", {}, id="h")
    await started.wait()
    assert server.state.sessions == 1
    await server.stop()
    assert cancelled.is_set()
    assert server.state.sessions == 0
    await client.expect_eof()
    await client.close()
    await server.stop()  # idempotent


async def test_serve_forever_returns_after_stop() -> None:
    server = _server()
    await server.start()
    serving = asyncio.create_task(server.serve_forever())
    client = await RawClient.connect(server.port)
    assert (await client.handshake())["type"] == "handshake_ack"
    await server.stop()
    await asyncio.wait_for(serving, 3)
    await client.close()


async def test_start_twice_is_an_error() -> None:
    async with _server() as server:
        with pytest.raises(RuntimeError):
            await server.start()


async def test_bind_failure_stops_backends() -> None:
    async with _server() as first:
        feed = FakeFeed()
        second = QmtServer(
            ServerConfig(listen="127.0.0.1", port=first.port, token="tok"),
            data=feed,
            broker=None,
            clock=ManualClock(datetime(2025, 1, 2)),
            actions=base_actions(),
        )
        with pytest.raises(OSError):
            await second.start()
        assert (feed.started, feed.stopped) == (1, 1)
        assert second.status is ServerStatus.STOPPED


async def test_client_disconnect_releases_session_slot() -> None:
    async with _server(max_connections=1) as server:
        first = await RawClient.connect(server.port)
        await first.handshake()
        await first.close()
        # the server notices the EOF asynchronously; a new session must eventually fit
        for _ in range(200):
            if server.state.sessions == 0:
                break
            await asyncio.sleep(0.005)
        second = await RawClient.connect(server.port)
        assert (await second.handshake())["type"] == "handshake_ack"
        await second.close()


async def test_garbage_bytes_never_crash_the_server() -> None:
    async with _server() as server:
        for junk in (
            b"\xff\xff\xff\xff",
            b"\x00\x00\x00\x02\xff\xfe",
            b"\x00\x00\x00\x00",
            b"GET / HTTP/1.1\r\n\r\n",
        ):
            client = await RawClient.connect(server.port)
            await client.send_raw(junk)
            try:
                frame = await client.recv()
                assert frame["type"] == "error"
            except EOFError:
                pass
            await client.close()
        client = await RawClient.connect(server.port)
        assert (await client.handshake())["type"] == "handshake_ack"
        await client.close()


async def test_default_action_table_is_built_lazily() -> None:
    config = ServerConfig(listen="127.0.0.1", port=0, token="tok")
    server = QmtServer(config, data=None, broker=None, clock=ManualClock(datetime(2025, 1, 2)))
    async with server:
        client = await RawClient.connect(server.port)
        await client.handshake()
        reply = await client.call("admin.health", id="h1")
        assert reply["type"] == "response"
        assert reply["payload"]["value"]["sessions"] == 1
        await client.close()
