"""Hostile input: random and mutated frames (hypothesis) and a garbage-connection flood, against
the real server (simulated exchange) on 127.0.0.1, while a real client keeps trading."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_kit import ACCOUNTS, TOKEN, TRADING_MOMENT, ServerFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.client import AsyncConnection
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer
from bullet_trade.server.context import ServerState
from bullet_trade.server.handlers import build_action_table
from bullet_trade.testing.rawclient import RawClient

pytestmark = pytest.mark.e2e

ACTIONS = sorted(
    build_action_table(
        ServerState(config=ServerConfig(token="t"), clock=ManualClock(TRADING_MOMENT),
                    data=None, broker=None, server_instance="x")
    )
)
ORDER = {"account_key": "main", "security": "000001.XSHE", "side": "BUY", "amount": 100,
         "style": {"type": "market"}, "wait_timeout": 0}


class ThreadServer:
    """The real server on its own event loop thread, so hypothesis can drive it from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        sim = SimConfig(clock_mode="real")
        clock = ManualClock(TRADING_MOMENT)
        config = ServerConfig(listen="127.0.0.1", port=0, token=TOKEN, accounts=ACCOUNTS,
                              runtime_dir=Path(tempfile.mkdtemp(prefix="bt-fuzz-")), sim=sim,
                              access_log=False, handshake_timeout=2.0, rate_limit=0,
                              auth_fail_limit=0, auth_delay=0)  # throttling: see test_security_policy
        data, broker = build_sim_backend(sim, list(ACCOUNTS), clock)
        self.server = self.run(_build(config, data, broker, clock))
        self.run(self.server.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def task_count(self, settle_to: int = 0) -> int:
        """Tasks on the server loop, after giving closing sessions up to 2 s to reach
        ``settle_to`` (the server finishes a session shortly after the peer sees EOF)."""

        async def count() -> int:
            for _ in range(200):
                if len(asyncio.all_tasks()) - 1 <= settle_to:
                    break
                await asyncio.sleep(0.01)
            return len(asyncio.all_tasks()) - 1  # minus this counting task

        return int(self.run(count()))

    def close(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


async def _build(config: ServerConfig, data: Any, broker: Any, clock: Any) -> QmtServer:
    return QmtServer(config, data=data, broker=broker, clock=clock)


@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadServer]:
    server = ThreadServer()
    yield server
    server.close()


def _frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def _exchange(port: int, data: bytes, handshake: bool) -> list[bytes]:
    """Send ``data`` (after a valid handshake when asked), half-close, read to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        hello = {"type": "handshake", "token": TOKEN, "protocol": 1, "features": []}
        chunks = []
        try:
            sock.sendall((_frame(json.dumps(hello).encode()) if handshake else b"") + data)
            sock.shutdown(socket.SHUT_WR)
            while chunk := sock.recv(65536):  # socket.timeout (a failure) if the server hangs
                chunks.append(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed first (e.g. an oversize frame): what it sent still counts
    return _split(b"".join(chunks))


def _split(stream: bytes) -> list[bytes]:
    bodies = []
    while len(stream) >= 4:
        (length,) = struct.unpack(">I", stream[:4])
        bodies.append(stream[4 : 4 + length])
        stream = stream[4 + length :]
    return bodies


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {"type": st.sampled_from(["request", "ping", "handshake", "event", 7, None]),
     "id": st.none() | st.integers() | st.text(max_size=8),
     "action": st.sampled_from(ACTIONS) | st.text(max_size=12),
     "payload": st.dictionaries(
         st.sampled_from(["security", "account_key", "amount", "price", "style", "count",
                          "order_id", "securities", "side", "fields", "start_date", "frequency",
                          "wait_timeout", "sub_account_id", "idempotency_key"]),
         json_values, max_size=6,
     ) | json_values},
)


def _mutate(body: bytes, flips: list[int]) -> bytes:
    data = bytearray(body)
    for position in flips:
        if data:
            data[position % len(data)] ^= 0xFF
    return bytes(data)


frames = st.one_of(
    requests.map(lambda r: _frame(json.dumps(r).encode())),
    st.tuples(requests, st.lists(st.integers(0, 10_000), max_size=3)).map(
        lambda rf: _frame(_mutate(json.dumps(rf[0]).encode(), rf[1]))
    ),
    st.binary(max_size=64).map(_frame),
    st.binary(max_size=64),  # not even framing
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(frames, min_size=1, max_size=6), handshake=st.booleans())
def test_random_and_mutated_frames_never_break_the_server(
    thread_server: ThreadServer, batch: list[bytes], handshake: bool
) -> None:
    replies = _exchange(thread_server.server.port, b"".join(batch), handshake)
    for body in replies:  # whatever came back is well-formed protocol
        message = json.loads(body)
        assert message["type"] in ("handshake_ack", "response", "error", "pong", "event"), message
        if message["type"] == "error":
            assert isinstance(message["code"], str) and isinstance(message["message"], str)


def test_fuzzing_leaves_no_tasks_and_a_healthy_server(thread_server: ThreadServer) -> None:
    baseline = thread_server.task_count(settle_to=0)
    rng = random.Random(5)
    for _ in range(50):
        _exchange(thread_server.server.port, rng.randbytes(rng.randrange(1, 300)), rng.random() < 0.5)
    assert thread_server.task_count(settle_to=baseline) <= baseline
    replies = _exchange(
        thread_server.server.port,
        _frame(json.dumps({"type": "request", "id": "h", "action": "admin.health"}).encode()),
        True,
    )
    assert json.loads(replies[-1])["type"] == "response"


async def _garbage(port: int, rng: random.Random) -> None:
    """One hostile connection: junk, a slowloris partial frame, an oversize header or silence."""
    try:
        client = await RawClient.connect(port)
    except OSError:
        return
    kind = rng.randrange(4)
    try:
        if kind == 0:
            await client.send_raw(rng.randbytes(rng.randrange(1, 200)))
        elif kind == 1:
            await client.send_raw(struct.pack(">I", 1000) + b'{"type":')  # never finished
        elif kind == 2:
            await client.send_raw(struct.pack(">I", 2**31))
        await asyncio.sleep(0)  # kind 3: connect and say nothing
    except OSError:
        pass
    return_value = client
    await asyncio.sleep(rng.random() * 0.5)
    await return_value.close()


async def test_garbage_flood_while_a_real_client_trades(start_server: ServerFactory) -> None:
    running = await start_server(max_pending=64, max_pending_per_ip=64, handshake_timeout=1.0)
    config = ClientConfig(port=running.port, token=TOKEN, connect_timeout=3.0, rpc_timeout=5.0)
    rng = random.Random(7)
    async with AsyncConnection(config) as conn:
        flood = asyncio.gather(*(_garbage(running.port, rng) for _ in range(400)))
        results = []
        for i in range(20):
            placed = await conn.request(
                "broker.place_order", {**ORDER, "idempotency_key": f"flood-{i}"}
            )
            results.append(placed["status"])
            await conn.request("broker.account", {"account_key": "main"})
        await flood
        assert len(results) == 20 and all(isinstance(s, str) for s in results)
        assert (await conn.request("admin.health"))["value"]["process_alive"] is True
