from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from fake_qmt_server import FakeServer, FakeSession, routes

from bullet_trade.client.connection import AsyncConnection, backoff_delays
from bullet_trade.errors import (
    AuthFailed,
    BadRequest,
    BulletTradeError,
    ConnectionLost,
    RequestTimeout,
)
from bullet_trade.wire.messages import Event


def _client_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("bt-client") and not t.done()]


async def test_handshake_sends_token_features_and_extensions(make_config) -> None:
    async with FakeServer(ack_extra={"server_instance": "inst-1", "extensions": ["events.v1"]}) as srv:
        conn = AsyncConnection(make_config(srv.port), extensions=("events.v1",))
        await conn.connect()
        try:
            hs = srv.handshakes[0]
            assert hs["type"] == "handshake" and hs["token"] == "secret" and hs["protocol"] == 1
            assert hs["features"] == ["tick", "order_stream"]
            assert hs["extensions"] == ["events.v1"]
            assert conn.connected
            assert conn.session_id == "s000000000001"
            assert conn.server_instance == "inst-1"
            assert conn.features == ("data", "broker")
            assert conn.extensions == ("events.v1",)
            assert "account_key" not in hs and "sub_account_id" not in hs  # none configured
            assert await conn.request("admin.health") == {"ok": True}
        finally:
            await conn.close()


async def test_handshake_carries_the_configured_routing(make_config) -> None:
    async with FakeServer() as srv:
        config = dataclasses.replace(make_config(srv.port), account_key="main",
                                     sub_account_id="demo")
        conn = AsyncConnection(config)
        await conn.connect()
        try:
            hs = srv.handshakes[0]
            assert (hs["account_key"], hs["sub_account_id"]) == ("main", "demo")
        finally:
            await conn.close()
        assert not conn.connected and conn.closed
        assert _client_tasks() == []


async def test_auth_failure_raises_typed_error_and_leaves_nothing_running(make_config) -> None:
    async with FakeServer(token="other") as srv:
        conn = AsyncConnection(make_config(srv.port))
        with pytest.raises(AuthFailed) as info:
            await conn.connect()
        assert info.value.code == "AUTH_FAILED"
        assert not conn.connected
        assert _client_tasks() == []


async def test_unreachable_server_raises_connection_lost(make_config) -> None:
    async with FakeServer() as srv:
        port = srv.port
    conn = AsyncConnection(make_config(port))
    with pytest.raises(ConnectionLost):
        await conn.connect()
    assert _client_tasks() == []


async def test_silent_server_times_out_handshake(make_config) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await reader.read(1 << 16)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        conn = AsyncConnection(make_config(port, connect_timeout=0.2))
        with pytest.raises(ConnectionLost, match="within"):
            await conn.connect()
        assert _client_tasks() == []
    finally:
        server.close()
        await server.wait_closed()


async def test_error_frame_becomes_typed_exception_with_code_and_field(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.error(frame, "BAD_REQUEST", "amount must be positive", field="amount")

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        with pytest.raises(BadRequest) as info:
            await conn.request("broker.positions")
        assert info.value.code == "BAD_REQUEST"
        assert info.value.field == "amount"
        assert conn.connected  # request errors keep the link


async def test_unknown_v1_error_code_keeps_its_code(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.error(frame, "REQUEST_FAILED", "未知 action: nope")

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        with pytest.raises(BulletTradeError) as info:
            await conn.request("nope")
        assert info.value.code == "REQUEST_FAILED"


async def test_out_of_order_responses_are_matched_by_id(make_config) -> None:
    first_seen = asyncio.Event()
    release_first = asyncio.Event()

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        if frame["action"] == "slow":
            first_seen.set()
            await release_first.wait()
        await session.reply(frame, {"action": frame["action"]})

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        slow = asyncio.ensure_future(conn.request("slow"))
        await first_seen.wait()
        assert await conn.request("fast") == {"action": "fast"}
        assert not slow.done()
        release_first.set()
        assert await slow == {"action": "slow"}


async def test_events_dispatched_while_request_pending(make_config) -> None:
    got_event = asyncio.Event()
    received: list[Event] = []

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        await session.event("tick", {"symbol": "000001.XSHE", "last_price": 10.0})
        await got_event.wait()  # the reply only comes after the client saw the event
        await session.reply(frame, {"done": True})

    def on_tick(event: Event) -> None:
        received.append(event)
        got_event.set()

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        conn.add_event_listener("tick", on_tick)
        assert await conn.request("data.history") == {"done": True}
    assert received[0].event == "tick"
    assert received[0].payload["last_price"] == 10.0


async def test_failing_handler_is_logged_and_others_still_run(make_config, caplog) -> None:
    done = asyncio.Event()

    def bad(event: Event) -> None:
        raise RuntimeError("boom")

    async with FakeServer(routes({"go": {}})) as srv, AsyncConnection(make_config(srv.port)) as conn:
        conn.add_event_listener("tick", bad)
        conn.add_event_listener("tick", lambda e: done.set())
        await srv.sessions[0].event("tick", {"symbol": "X"})
        await asyncio.wait_for(done.wait(), 2)
    assert "boom" in caplog.text


async def test_duplicate_seq_events_are_dropped(make_config) -> None:
    seen: list[int] = []
    third = asyncio.Event()

    def on_order(event: Event) -> None:
        assert event.seq is not None
        seen.append(event.seq)
        if event.seq == 3:
            third.set()

    async with FakeServer() as srv, AsyncConnection(make_config(srv.port)) as conn:
        conn.add_event_listener("order", on_order)
        for seq in (1, 2, 2, 1, 3):
            await srv.sessions[0].event("order", {}, seq=seq)
        await asyncio.wait_for(third.wait(), 2)
    assert seen == [1, 2, 3]


async def test_pending_requests_fail_with_connection_lost_on_disconnect(make_config) -> None:
    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        if frame["action"] == "drop":
            session.drop()

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        waiting = asyncio.ensure_future(conn.request("hang"))
        await srv.next_request()
        with pytest.raises(ConnectionLost) as info:
            await conn.request("drop")
        assert info.value.details["sent"] is True
        with pytest.raises(ConnectionLost):
            await waiting
        assert not conn.connected
        with pytest.raises(ConnectionLost) as not_sent:
            await conn.request("after")
        assert not_sent.value.details["sent"] is False


async def test_request_timeout(make_config) -> None:
    async def never(session: FakeSession, frame: dict[str, Any]) -> None:
        return None

    async with FakeServer(never) as srv, AsyncConnection(make_config(srv.port)) as conn:
        with pytest.raises(RequestTimeout) as info:
            await conn.request("data.history", timeout=0.05)
        assert info.value.details["action"] == "data.history"
        assert conn.connected


async def test_dead_link_detected_without_pongs(make_config) -> None:
    async def never(session: FakeSession, frame: dict[str, Any]) -> None:
        return None

    async with FakeServer(never, answer_pings=False) as srv:
        conn = AsyncConnection(make_config(srv.port), ping_interval=0.02, idle_timeout=0.15)
        await conn.connect()
        try:
            with pytest.raises(ConnectionLost, match="no frame"):
                await conn.request("hang", timeout=5)
            assert srv.pings >= 1
        finally:
            await conn.close()


async def test_pongs_keep_the_link_alive(make_config) -> None:
    async def late(session: FakeSession, frame: dict[str, Any]) -> None:
        for _ in range(5):  # the reply comes long after the idle timeout would have fired
            await srv.ping_queue.get()
        await session.reply(frame, "alive")

    async with FakeServer(late) as srv:
        conn = AsyncConnection(make_config(srv.port), ping_interval=0.02, idle_timeout=0.1)
        await conn.connect()
        try:
            assert await conn.request("wait", timeout=5) == "alive"
        finally:
            await conn.close()


async def test_ensure_connected_reconnects_and_resubscribes(make_config) -> None:
    async with FakeServer(routes({"data.subscribe": {"count": 2}, "x": 1})) as srv:
        conn = AsyncConnection(make_config(srv.port))
        await conn.connect()
        try:
            await conn.subscribe(["600000.xshg", "000001.XSHE"])
            await srv.next_request()
            srv.sessions[0].drop()
            with pytest.raises(ConnectionLost):
                while True:  # the drop is noticed by the reader; requests then fail fast
                    await conn.request("x")
            assert await conn.ensure_connected() is True
            resub = await srv.next_request()
            assert resub["action"] == "data.subscribe"
            assert resub["payload"]["securities"] == ["000001.XSHE", "600000.XSHG"]
            assert await conn.ensure_connected() is False
        finally:
            await conn.close()


async def test_ensure_connected_gives_up_after_attempts(make_config) -> None:
    async with FakeServer() as srv:
        port = srv.port
    conn = AsyncConnection(make_config(port))
    with pytest.raises(ConnectionLost, match="after 2 attempts"):
        await conn.ensure_connected(attempts=2, base_delay=0.01)


async def test_read_retries_idempotent_actions_once(make_config) -> None:
    calls = 0

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            session.drop()
        else:
            await session.reply(frame, [1, 2])

    async with FakeServer(handler) as srv, AsyncConnection(make_config(srv.port)) as conn:
        assert await conn.read("broker.positions") == [1, 2]
        assert calls == 2
        with pytest.raises(ValueError):
            await conn.read("broker.place_order", {})


async def test_closed_connection_refuses_to_reconnect(make_config) -> None:
    async with FakeServer() as srv:
        conn = AsyncConnection(make_config(srv.port))
        await conn.connect()
        await conn.close()
        with pytest.raises(ConnectionLost):
            await conn.ensure_connected()
        with pytest.raises(ConnectionLost):
            await conn.connect()


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    assert list(backoff_delays(7, 1.0, 30.0, rng=lambda: 0.0)) == [0, 1, 2, 4, 8, 16, 30]
    jittered = list(backoff_delays(4, 1.0, 30.0, rng=lambda: 1.0))
    assert jittered == [0, 1.25, 2.5, 5.0]
    assert max(backoff_delays(20, 1.0, 30.0, rng=lambda: 1.0)) == 30.0


def _order_frame(seq: int) -> dict[str, Any]:
    return {"type": "event", "event": "order", "payload": {"n": seq}, "seq": seq}


async def test_replay_retries_a_failed_page_and_delivers_every_missed_event_once(
    make_config,
) -> None:
    """A RATE_LIMITED ``broker.events`` is retried after ``retry_after``; no event is lost
    and the push held during the replay is delivered after the replayed ones."""
    calls: list[dict[str, Any]] = []

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        if frame["action"] != "broker.events":
            await session.reply(frame, {"ok": True})
            return
        calls.append(frame["payload"])
        if len(calls) == 1:
            # a live push arrives while the replay is in progress: held back
            await session.event("order", {"n": 9}, seq=9)
            await session.error(frame, "RATE_LIMITED", "slow down", retry_after=0.05)
            return
        since = frame["payload"]["since_seq"]
        await session.reply(frame, {"events": [_order_frame(s) for s in range(since + 1, 9)],
                                    "more": False})

    seen: list[int] = []
    ninth = asyncio.Event()

    def on_order(event: Event) -> None:
        assert event.seq is not None
        seen.append(event.seq)
        if event.seq == 9:
            ninth.set()

    ack = {"extensions": ["events.v1"], "last_seq": 5}
    async with FakeServer(handler, ack_extra=ack) as srv:
        conn = AsyncConnection(make_config(srv.port), extensions=("events.v1",))
        conn.add_event_listener("order", on_order)
        try:
            await conn.connect()
            assert conn.last_seq == 5
            srv.sessions[0].drop()
            for _ in range(100):
                if not conn.connected:
                    break
                await asyncio.sleep(0.01)
            srv.ack_extra["last_seq"] = 9
            assert await conn.ensure_connected(attempts=2, base_delay=0.01)
            await asyncio.wait_for(ninth.wait(), 2)
            assert [c["since_seq"] for c in calls] == [5, 5]
            assert seen == [6, 7, 8, 9]
            assert conn.last_seq == 9
        finally:
            await conn.close()


async def test_replay_that_keeps_failing_never_advances_past_the_gap(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When every ``broker.events`` fails, held pushes are not delivered, ``last_seq`` stays
    put and the link is dropped; the next connect replays the gap."""
    monkeypatch.setattr("bullet_trade.client.eventstream.REPLAY_BASE_DELAY", 0.01)
    fail = True

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        if fail:
            await session.event("order", {"n": 9}, seq=9)
            await session.error(frame, "INTERNAL", "journal busy")
            return
        since = frame["payload"]["since_seq"]
        await session.reply(frame, {"events": [_order_frame(s) for s in range(since + 1, 10)]})

    seen: list[int] = []
    ack = {"extensions": ["events.v1"], "last_seq": 5}
    async with FakeServer(handler, ack_extra=ack) as srv:
        conn = AsyncConnection(make_config(srv.port), extensions=("events.v1",))
        conn.add_event_listener("order", lambda e: seen.append(e.seq))
        try:
            await conn.connect()
            srv.sessions[0].drop()
            for _ in range(100):
                if not conn.connected:
                    break
                await asyncio.sleep(0.01)
            srv.ack_extra["last_seq"] = 9
            with pytest.raises(ConnectionLost) as info:
                await conn.connect()
            assert info.value.details["cause"] == "INTERNAL"
            await asyncio.sleep(0.05)
            assert seen == [] and conn.last_seq == 5 and not conn.connected
            fail = False
            await conn.connect()
            for _ in range(100):
                if len(seen) == 4:
                    break
                await asyncio.sleep(0.01)
            assert seen == [6, 7, 8, 9] and conn.last_seq == 9
        finally:
            await conn.close()
