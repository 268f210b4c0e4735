"""Handshake phase: acceptance, refusals, timeouts and pre-auth limits (real loopback sockets)."""

from __future__ import annotations

import re
import struct

import bullet_trade
from bullet_trade.testing.rawclient import RawClient


async def test_handshake_ack_shape(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, handshake=False)
    ack = await client.handshake(extensions=["events.v1", "nope"])
    assert ack["type"] == "handshake_ack"
    assert re.fullmatch(r"s[0-9a-f]{12}", ack["session_id"])
    assert ack["keepalive"] == 20
    assert ack["protocol"] == 1
    assert ack["features"] == ["data", "broker"]
    assert ack["extensions"] == ["events.v1"]  # unknown ones are ignored
    assert re.fullmatch(r"[0-9a-f]{16}", ack["server_instance"])
    assert ack["server_instance"] == server.state.server_instance
    assert ack["server_version"] == bullet_trade.__version__
    assert "id" not in ack


async def test_handshake_defaults_reach_handlers(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, account_key="main", sub_account_id="demo")
    reply = await client.call("whoami")
    value = reply["payload"]
    assert value["account_key"] == "main"
    assert value["sub_account_id"] == "demo"
    assert value["sessions"] == 1
    assert value["peer"].startswith("127.0.0.1:")


async def test_session_ids_differ(make_server, connect) -> None:
    server = await make_server()
    a = await (await connect(server)).call("whoami")
    b = await (await connect(server)).call("whoami")
    assert a["payload"]["session_id"] != b["payload"]["session_id"]


async def test_wrong_token_auth_failed_with_id_then_eof(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, handshake=False)
    await client.send({"type": "handshake", "token": "bad", "id": "h1"})
    frame = await client.recv()
    assert frame["type"] == "error"
    assert frame["code"] == "AUTH_FAILED"
    assert frame["id"] == "h1"
    assert frame["message"]
    await client.expect_eof()
    assert server.state.sessions == 0


async def test_non_string_token_is_auth_failed(make_server, connect) -> None:
    server = await make_server()
    for token in (None, 123, ["tok"], {"t": "tok"}):
        client = await connect(server, handshake=False)
        frame = await client.handshake(token=token)
        assert frame["code"] == "AUTH_FAILED", token
        assert "id" not in frame
        await client.expect_eof()


async def test_first_frame_not_handshake_is_bad_request_then_eof(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, handshake=False)
    await client.request("echo", {}, id="1")
    frame = await client.recv()
    assert frame["type"] == "error"
    assert frame["code"] == "BAD_REQUEST"
    assert "handshake" in frame["message"]
    await client.expect_eof()


async def test_first_frame_malformed_json(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, handshake=False)
    await client.send_body(b"{bad")
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    await client.expect_eof()


async def test_handshake_timeout_closes(make_server, connect) -> None:
    server = await make_server(handshake_timeout=0.05)
    client = await connect(server, handshake=False)
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    assert "handshake" in frame["message"]
    await client.expect_eof()


async def test_pre_auth_frame_limited_to_64k(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server, handshake=False)
    await client.send_raw(struct.pack(">I", 64 * 1024 + 1))
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST"
    await client.expect_eof()


async def test_max_connections_server_busy(make_server, connect) -> None:
    server = await make_server(max_connections=1)
    first = await connect(server)
    second = await connect(server, handshake=False)
    await second.send({"type": "handshake", "token": "tok", "id": "h2"})
    frame = await second.recv()
    assert frame == {
        "type": "error",
        "code": "SERVER_BUSY",
        "message": frame["message"],
        "id": "h2",
    }
    await second.expect_eof()
    # the first session is unaffected and still counted once
    assert (await first.call("whoami"))["payload"]["sessions"] == 1


async def test_unauthenticated_connection_is_not_counted(make_server, connect) -> None:
    server = await make_server(max_connections=1)
    await connect(server, handshake=False)  # idle stranger
    client = await connect(server)
    assert (await client.call("whoami"))["payload"]["sessions"] == 1


async def test_second_handshake_after_auth_is_unsupported(make_server, connect) -> None:
    server = await make_server()
    client = await connect(server)
    await client.send({"type": "handshake", "token": "tok", "id": "again"})
    frame = await client.recv()
    assert frame["code"] == "UNSUPPORTED"
    assert frame["id"] == "again"


async def test_frames_pipelined_after_handshake_are_served(make_server) -> None:
    server = await make_server()
    client = await RawClient.connect(server.port)
    try:
        hs = b'{"type":"handshake","token":"tok"}'
        ping = b'{"type":"ping","id":"p0"}'
        await client.send_raw(struct.pack(">I", len(hs)) + hs + struct.pack(">I", len(ping)) + ping)
        assert (await client.recv())["type"] == "handshake_ack"
        assert await client.recv() == {"type": "pong", "id": "p0"}
    finally:
        await client.close()
