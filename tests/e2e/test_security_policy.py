"""Token scopes and account binding, auth throttling, allowlist, limits and the audit log,
against the real server (simulated exchange) over loopback sockets."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from e2e_kit import TOKEN, TRADING_MOMENT, Running, ServerFactory

from bullet_trade.config import ServerConfig, TokenGrant
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer
from bullet_trade.testing.rawclient import RawClient

pytestmark = pytest.mark.e2e

DATA_TOKEN = "data-only-secret-0001"
MAIN_TOKEN = "trade-main-secret-0002"
GRANTS = (
    TokenGrant(name="quotes", token=DATA_TOKEN, scopes=frozenset({"data"})),
    TokenGrant(
        name="jq-main", token=MAIN_TOKEN, scopes=frozenset({"data", "trade"}),
        accounts=frozenset({"main"}),
    ),
)
ORDER = {"security": "000001.XSHE", "side": "BUY", "amount": 100, "style": {"type": "market"},
         "wait_timeout": 1.0}


async def _session(port: int, token: Any, host: str = "127.0.0.1", **extra: Any) -> RawClient:
    client = await RawClient.connect(port, host)
    ack = await client.handshake(token=token, **extra)
    assert ack["type"] == "handshake_ack", ack
    return client


async def _expect_closed(client: RawClient) -> None:
    """EOF or a reset: the server closed (or aborted) the connection without a frame."""
    try:
        data = await asyncio.wait_for(client.reader.read(1), 3.0)
    except ConnectionResetError:
        return
    assert data == b""


def _audit(running: Running) -> list[dict[str, Any]]:
    path = Path(running.config.runtime_dir) / "logs" / "audit.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_data_only_token_cannot_trade(start_server: ServerFactory) -> None:
    running = await start_server(tokens=GRANTS)
    client = await _session(running.port, DATA_TOKEN)
    quote = await client.call("data.live_current", {"security": "000001.XSHE"}, id="q")
    assert quote["type"] == "response"
    for action in ("broker.place_order", "broker.account", "admin.print_account"):
        err = await client.call(action, {"account_key": "main", **ORDER}, id=action)
        assert (err["type"], err["code"], err["field"]) == ("error", "FORBIDDEN", "action"), err
    assert (await client.call("admin.health", id="h"))["type"] == "response"
    await client.close()


async def test_token_bound_to_main_cannot_touch_hedge(start_server: ServerFactory) -> None:
    running = await start_server(tokens=GRANTS, audit_log=True)
    client = await _session(running.port, MAIN_TOKEN)
    ok = await client.call("broker.place_order", {"account_key": "main", **ORDER}, id="o1")
    assert ok["type"] == "response" and ok["payload"]["status"] == "filled"
    for action in ("broker.place_order", "broker.positions", "broker.cancel_order"):
        payload = {"account_key": "hedge", "order_id": "x", **ORDER}
        err = await client.call(action, payload, id=action)
        assert (err["code"], err["field"]) == ("FORBIDDEN", "account_key"), err
    # the handshake default account is checked the same way
    hedge = await _session(running.port, MAIN_TOKEN, account_key="hedge")
    assert (await hedge.call("broker.account", id="a"))["code"] == "FORBIDDEN"
    assert (await client.call("broker.orders", {"account_key": "hedge"}, id="l"))["code"] == "FORBIDDEN"
    await client.close()
    await hedge.close()
    records = _audit(running)
    orders = [r for r in records if r["event"] == "order"]
    assert [(r["account"], r["outcome"], r["token"]) for r in orders] == [
        ("main", "ok", "jq-main"),
        ("hedge", "forbidden", "jq-main"),
    ]
    assert orders[0]["order_id"] and orders[0]["security"] == "000001.XSHE"
    text = json.dumps(records)
    assert MAIN_TOKEN not in text and DATA_TOKEN not in text


async def test_legacy_token_is_unrestricted_alongside_the_tokens_file(
    start_server: ServerFactory,
) -> None:
    running = await start_server(tokens=GRANTS)
    client = await _session(running.port, TOKEN)
    resp = await client.call("broker.account", {"account_key": "hedge"}, id="a")
    assert resp["type"] == "response"
    await client.close()


async def test_failed_handshakes_are_throttled_then_banned(start_server: ServerFactory) -> None:
    running = await start_server(auth_fail_limit=3, auth_delay=0.01, audit_log=True)
    live = await _session(running.port, TOKEN)  # an established session is never affected
    for attempt in range(3):
        client = await RawClient.connect(running.port)
        frame = await client.handshake(token=f"guess-{attempt}")
        assert frame["code"] == "AUTH_FAILED"
        await client.expect_eof()
        await client.close()
    banned = await RawClient.connect(running.port)
    await banned.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    await _expect_closed(banned)  # closed before any frame, even with the right token
    await banned.close()
    assert (await live.call("admin.health", id="h"))["type"] == "response"
    await live.close()
    events = [(r["event"], r["outcome"]) for r in _audit(running)]
    assert events.count(("auth", "failed")) == 3
    assert ("ban", "banned") in events and ("connection", "rejected") in events
    assert all("guess-" not in json.dumps(r) for r in _audit(running))


async def test_allowlist_rejects_before_any_frame(start_server: ServerFactory) -> None:
    running = await start_server(allowlist=("10.0.0.0/8", "2001:db8::/32"))
    client = await RawClient.connect(running.port)
    await client.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    await _expect_closed(client)
    await client.close()
    allowed = await start_server(allowlist=("10.0.0.0/8", "127.0.0.0/8"))
    await (await _session(allowed.port, TOKEN)).close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
@pytest.mark.parametrize(("entry", "allowed"), [("::1/128", True), ("127.0.0.1", False)])
async def test_allowlist_ipv6(tmp_path: Path, entry: str, allowed: bool) -> None:
    config = ServerConfig(listen="::1", port=0, token=TOKEN, allowlist=(entry,), runtime_dir=tmp_path)
    async with QmtServer(config, data=None, broker=None, clock=ManualClock(TRADING_MOMENT)) as server:
        if allowed:
            await (await _session(server.port, TOKEN, host="::1")).close()
        else:
            client = await RawClient.connect(server.port, "::1")
            await _expect_closed(client)
            await client.close()


async def test_rate_limit_answers_rate_limited_with_retry_after(start_server: ServerFactory) -> None:
    running = await start_server(rate_limit=1.0, rate_burst=3)
    client = await _session(running.port, TOKEN)
    for i in range(4):
        await client.request("admin.health", id=f"r{i}")
    replies = sorted([await client.recv() for _ in range(4)], key=lambda f: f["id"])
    assert [r["type"] for r in replies[:3]] == ["response"] * 3
    assert replies[3]["code"] == "RATE_LIMITED" and 0 < replies[3]["retry_after"] <= 1.0
    await client.send({"type": "ping", "id": "p"})  # pings are never rate limited
    assert (await client.recv_until(lambda f: f.get("type") == "pong"))[0]["id"] == "p"
    await client.close()


async def test_pending_connections_are_limited(start_server: ServerFactory) -> None:
    running = await start_server(max_pending=2)
    session = await _session(running.port, TOKEN)
    strangers = [await RawClient.connect(running.port) for _ in range(2)]
    third = await RawClient.connect(running.port)
    frame = await third.recv()
    assert frame["code"] == "SERVER_BUSY" and "id" not in frame
    await third.expect_eof()
    assert (await session.call("admin.health", id="h"))["type"] == "response"
    for client in [*strangers, third, session]:
        await client.close()


async def test_pending_connections_per_address_are_limited(start_server: ServerFactory) -> None:
    running = await start_server(max_pending=10, max_pending_per_ip=2)
    strangers = [await RawClient.connect(running.port) for _ in range(2)]
    third = await RawClient.connect(running.port)
    frame = await third.recv()
    assert frame["code"] == "SERVER_BUSY" and "from 127.0.0.1" in frame["message"]
    await third.expect_eof()
    for client in [*strangers, third]:
        await client.close()


async def test_silent_session_is_closed_after_idle_timeout(start_server: ServerFactory) -> None:
    running = await start_server(idle_timeout=0.2)
    client = await _session(running.port, TOKEN)
    await client.expect_eof(timeout=3.0)
    await client.close()
