"""Subscriptions and tick fan-out: reference counting across sessions, limits, close cleanup."""

from __future__ import annotations

from bullet_trade.model.codes import parse_security

SZ1 = parse_security("000001.XSHE")
SH6 = parse_security("600000.XSHG")


async def _tick(client):
    frame, _ = await client.recv_until(lambda f: f.get("type") == "event")
    return frame


async def test_tick_pushed_with_subscribed_spelling(make_server, connect) -> None:
    server = await make_server()
    feed = server.state.data
    client = await connect(server)
    reply = await client.call(
        "data.subscribe", {"securities": ["000001.xshe", " 600000.SH "]}, id="r27"
    )
    assert reply["payload"] == {"count": 2}
    feed.emit("000001.SZ", 10.5)
    event = await _tick(client)
    assert event["event"] == "tick"
    assert event["payload"]["symbol"] == "000001.XSHE"
    assert event["payload"]["sid"] == "000001.XSHE"
    assert event["payload"]["last_price"] == 10.5
    assert event["payload"]["dt"] == "2025-01-02 09:31:00"
    feed.emit("600000.XSHG", 7.0)
    assert (await _tick(client))["payload"]["symbol"] == "600000.SH"
    reply = await client.call("data.unsubscribe", {"securities": ["000001.XSHE"]}, id="r28")
    assert reply["payload"] == {"count": 1, "removed": 1}
    assert feed.cancelled == [SZ1]


async def test_refcount_across_sessions(make_server, connect) -> None:
    server = await make_server()
    feed = server.state.data
    a = await connect(server)
    b = await connect(server)
    await a.call("data.subscribe", {"securities": ["000001.XSHE"]})
    await b.call("data.subscribe", {"securities": ["000001.SZ", "600000.XSHG"]})
    assert feed.subscribe_calls == [SZ1, SH6]  # one backend subscription per security

    feed.emit("000001.XSHE", 11.0)
    assert (await _tick(a))["payload"]["symbol"] == "000001.XSHE"
    assert (await _tick(b))["payload"]["symbol"] == "000001.SZ"

    assert (await a.call("data.unsubscribe", {"securities": ["000001.XSHE"]}))["payload"] == {
        "count": 0,
        "removed": 1,
    }
    assert feed.cancelled == []  # b still wants it

    await b.close()  # session close removes b's subscriptions
    await feed.cancel_event.wait()
    while len(feed.cancelled) < 2:  # both cancels happen in the same synchronous close step
        feed.cancel_event.clear()
        await feed.cancel_event.wait()
    assert sorted(feed.cancelled) == sorted([SZ1, SH6])
    assert feed.listeners == {}


async def test_same_session_two_spellings_of_one_security(make_server, connect) -> None:
    server = await make_server()
    feed = server.state.data
    client = await connect(server)
    await client.call("data.subscribe", {"securities": ["000001.XSHE", "000001.SZ"]})
    assert feed.subscribe_calls == [SZ1]
    feed.emit("000001.XSHE", 9.0)
    symbols = {
        (await _tick(client))["payload"]["symbol"],
        (await _tick(client))["payload"]["symbol"],
    }
    assert symbols == {"000001.XSHE", "000001.SZ"}
    await client.call("data.unsubscribe", {"securities": ["000001.SZ"]})
    assert feed.cancelled == []
    await client.call("data.unsubscribe", {})  # None: remove all
    assert feed.cancelled == [SZ1]


async def test_subscription_limit_adds_none(make_server, connect) -> None:
    server = await make_server(max_subscriptions=2)
    client = await connect(server)
    frame = await client.call(
        "data.subscribe", {"securities": ["000001.XSHE", "000002.XSHE", "000003.XSHE"]}
    )
    assert frame["code"] == "BAD_REQUEST"
    assert frame["field"] == "securities"
    assert "2" in frame["message"]
    assert server.state.data.subscribe_calls == []
    reply = await client.call(
        "data.subscribe", {"securities": ["000001.XSHE", "000001.xshe"]}, id="ok"
    )
    assert reply["payload"] == {"count": 1}  # duplicates count once


async def test_invalid_symbol_adds_none(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server)
    frame = await client.call("data.subscribe", {"securities": ["000001.XSHE", "NOPE"]})
    assert frame["code"] == "BAD_REQUEST"
    assert frame["field"] == "securities"
    assert server.state.data.subscribe_calls == []
    assert (await client.call("data.unsubscribe", {}, id="u"))["payload"] == {
        "count": 0,
        "removed": 0,
    }


async def test_server_stop_cancels_backend_subscriptions(make_server, connect) -> None:
    server = await make_server()
    feed = server.state.data
    client = await connect(server)
    await client.call("data.subscribe", {"securities": ["000001.XSHE"]})
    await server.stop()
    assert feed.cancelled == [SZ1]
    await client.expect_eof()
