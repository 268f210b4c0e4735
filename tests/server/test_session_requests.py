"""Steady state: pings, framing errors, dispatch outcomes, timeouts and head-of-line freedom."""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from sessionkit import base_actions

from bullet_trade.server.context import ActionSpec, RequestContext


async def test_ping_pong(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.send({"type": "ping", "id": "p1"})
    assert await client.recv() == {"type": "pong", "id": "p1"}
    await client.send({"type": "ping"})
    assert await client.recv() == {"type": "pong", "id": None}


async def test_unknown_type_unsupported_and_open(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.send({"type": "bogus", "id": "b1"})
    frame = await client.recv()
    assert frame["type"] == "error"
    assert frame["code"] == "UNSUPPORTED"
    assert frame["id"] == "b1"
    assert "bogus" in frame["message"]
    await client.send({"type": "ping", "id": "p1"})
    assert await client.recv() == {"type": "pong", "id": "p1"}


async def test_malformed_json_bad_request_and_open(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.send_body(b"{bad")
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    assert frame["field"] == "frame"
    assert "id" not in frame
    await client.send_body(b"[1,2]")  # valid JSON, not an object
    assert (await client.recv())["code"] == "BAD_REQUEST"
    await client.send({"type": "ping", "id": "p1"})
    assert await client.recv() == {"type": "pong", "id": "p1"}


async def test_oversize_frame_after_auth_error_then_eof(make_server, connect) -> None:
    client = await connect(await make_server(max_frame_size=1024))
    await client.send_raw(struct.pack(">I", 1025))
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    await client.expect_eof()


async def test_frame_at_limit_is_accepted_after_auth(make_server, connect) -> None:
    client = await connect(await make_server(max_frame_size=200_000))
    body = b'{"type":"ping","id":"big","pad":"' + b"x" * 100_000 + b'"}'
    await client.send_body(body)  # larger than the 64 KiB pre-auth limit
    assert await client.recv() == {"type": "pong", "id": "big"}


async def test_missing_action_bad_request_field_action(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.send({"type": "request", "id": "r3", "payload": {}})
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    assert frame["field"] == "action"
    assert frame["id"] == "r3"


async def test_unknown_action_unsupported(make_server, connect) -> None:
    client = await connect(await make_server())
    frame = await client.call("nope.x", id="r2")
    assert frame["type"] == "error"
    assert frame["code"] == "UNSUPPORTED"
    assert frame["message"] == "unknown action: nope.x"


async def test_dunder_action_is_just_unknown(make_server, connect) -> None:
    client = await connect(await make_server())
    for action in ("broker.__init__", "__class__", "echo.__call__"):
        assert (await client.call(action, id=action))["code"] == "UNSUPPORTED"


async def test_request_without_id_no_response_errors_still_sent(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.request("echo", {"a": 1})  # no id: executed, response suppressed
    await client.send({"type": "ping", "id": "p1"})
    assert await client.recv() == {"type": "pong", "id": "p1"}
    await client.request("nope", {}, id="")  # falsy id: the error goes out without id
    frame = await client.recv()
    assert frame["code"] == "UNSUPPORTED"
    assert "id" not in frame
    await client.request("echo", {}, id="r9")
    assert (await client.recv())["id"] == "r9"  # no stray response of the id-less request


async def test_missing_type_means_request(make_server, connect) -> None:
    client = await connect(await make_server())
    await client.send({"id": "r1", "action": "echo", "payload": {"x": 1}})
    assert await client.recv() == {"type": "response", "id": "r1", "payload": {"echo": {"x": 1}}}


async def test_disabled_services_unsupported(make_server, connect) -> None:
    server = await make_server(data=None, broker=None)
    client = await connect(server, handshake=False)
    ack = await client.handshake()
    assert ack["features"] == []
    data = await client.call("data.echo", id="d")
    assert data["code"] == "UNSUPPORTED"
    assert "data service is disabled" in data["message"]
    broker = await client.call("broker.echo", id="b")
    assert broker["code"] == "UNSUPPORTED"
    assert "broker service is disabled" in broker["message"]
    assert (await client.call("echo", id="e"))["type"] == "response"


async def test_config_flags_disable_services(make_server, connect) -> None:
    server = await make_server(enable_broker=False)
    client = await connect(server, handshake=False)
    assert (await client.handshake())["features"] == ["data"]
    assert (await client.call("broker.echo", id="b"))["code"] == "UNSUPPORTED"


async def test_bullet_trade_error_fields(make_server, connect) -> None:
    client = await connect(await make_server())
    frame = await client.call("fail.bad", id="x1")
    assert frame == {
        "type": "error",
        "code": "BAD_REQUEST",
        "message": "amount must be positive",
        "field": "amount",
        "id": "x1",
    }


async def test_handler_exception_internal_and_session_survives(
    make_server, connect, caplog
) -> None:
    client = await connect(await make_server())
    with caplog.at_level(logging.ERROR, logger="bullet_trade.server"):
        frame = await client.call("fail.boom", id="x2")
    assert frame["code"] == "INTERNAL"
    assert frame["message"] == "internal error; see server log"
    assert "kaboom" not in frame["message"]
    assert any(r.exc_info and "kaboom" in str(r.exc_info[1]) for r in caplog.records)
    assert (await client.call("echo", id="after"))["type"] == "response"


async def test_unencodable_response_internal_and_session_survives(make_server, connect) -> None:
    client = await connect(await make_server())
    frame = await client.call("unencodable", id="u1")
    assert frame["type"] == "error"
    assert frame["code"] == "INTERNAL"
    await client.send({"type": "ping", "id": "p"})
    assert await client.recv() == {"type": "pong", "id": "p"}


async def test_oversize_response_internal_and_session_survives(make_server, connect) -> None:
    client = await connect(await make_server(max_frame_size=10_000))
    frame = await client.call("huge", {"size": 20_000}, id="big")
    assert frame["code"] == "INTERNAL"
    assert (await client.call("huge", {"size": 10}, id="small"))["payload"] == "x" * 10


async def test_timeout_request_timeout(make_server, connect) -> None:
    client = await connect(await make_server())
    frame = await client.call("hang.read", id="t1")
    assert frame["code"] == "REQUEST_TIMEOUT"
    assert "0.05" in frame["message"]


async def test_timeout_on_money_path_is_submit_unknown(make_server, connect) -> None:
    client = await connect(await make_server())
    frame = await client.call("hang.order", id="t2")
    assert frame["code"] == "SUBMIT_UNKNOWN"
    assert "may or may not" in frame["message"]


async def test_default_request_timeout_applies(make_server, connect) -> None:
    actions = {"hang": ActionSpec(base_actions()["hang.read"].handler)}
    client = await connect(await make_server(actions, request_timeout=0.05))
    assert (await client.call("hang", id="t3"))["code"] == "REQUEST_TIMEOUT"


async def test_no_head_of_line_blocking(make_server, connect) -> None:
    gate = asyncio.Event()
    started = asyncio.Event()

    async def slow(ctx: RequestContext, payload: dict[str, Any]) -> Any:
        started.set()
        await gate.wait()
        return "slow done"

    actions = base_actions()
    actions["slow"] = ActionSpec(slow)
    client = await connect(await make_server(actions))
    await client.request("slow", {}, id="slow")
    await started.wait()
    await client.send({"type": "ping", "id": "p1"})
    await client.request("echo", {"n": 2}, id="fast")
    first = await client.recv()
    second = await client.recv()
    assert {first.get("id"), second.get("id")} == {"p1", "fast"}
    assert not gate.is_set()  # the slow request is still pending
    gate.set()
    assert await client.recv() == {"type": "response", "id": "slow", "payload": "slow done"}


async def test_access_log_line(make_server, connect, caplog) -> None:
    client = await connect(await make_server(), account_key="main")
    with caplog.at_level(logging.INFO, logger="bullet_trade.server.access"):
        await client.call("echo", {"secret": "payload-value"}, id="a1")
        await client.call("fail.bad", id="a2")
        await client.call("hang.read", id="a3")
    lines = [r.getMessage() for r in caplog.records if r.name == "bullet_trade.server.access"]
    assert len(lines) == 3
    assert "id=a1 action=echo account=main status=ok" in lines[0]
    assert "127.0.0.1:" in lines[0]
    assert "status=error:BAD_REQUEST" in lines[1]
    assert "status=timeout" in lines[2]
    assert all("payload-value" not in line and "tok" not in line for line in lines)


async def test_access_log_can_be_disabled(make_server, connect, caplog) -> None:
    client = await connect(await make_server(access_log=False))
    with caplog.at_level(logging.INFO, logger="bullet_trade.server.access"):
        await client.call("echo", id="a1")
    assert not [r for r in caplog.records if r.name == "bullet_trade.server.access"]


async def test_idle_session_closed(make_server, connect) -> None:
    client = await connect(await make_server(idle_timeout=0.1))
    await client.expect_eof()


async def test_idle_timeout_spares_a_session_waiting_for_a_reply(make_server, connect) -> None:
    gate = asyncio.Event()

    async def slow(ctx: RequestContext, payload: dict[str, Any]) -> Any:
        await gate.wait()
        return "done"

    actions = base_actions()
    actions["slow"] = ActionSpec(slow)
    client = await connect(await make_server(actions, idle_timeout=0.05))
    await client.request("slow", {}, id="s1")
    await asyncio.sleep(0.2)  # several idle periods pass while the request runs
    gate.set()
    assert await client.recv() == {"type": "response", "id": "s1", "payload": "done"}
    await client.expect_eof()  # silent and nothing pending: now it is idle
