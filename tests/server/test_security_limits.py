"""Output and input bounds of the session layer over loopback (test action table)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bullet_trade.testing.rawclient import RawClient


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return len(body).to_bytes(4, "big") + body


async def test_slow_reader_cannot_make_the_server_buffer_without_bound(make_server, connect) -> None:
    """A peer that never reads: the server stops reading its requests once its output is
    backed up (the client's own sends stall), then closes it as idle; others are served."""
    server = await make_server(idle_timeout=0.3)
    hog = await connect(server)
    payload = {"size": 1_000_000, "pad": "y" * 20_000}
    request = _frame({"type": "request", "id": 1, "action": "huge", "payload": payload})
    sent = 0
    with pytest.raises((ConnectionError, asyncio.TimeoutError)):
        while sent < 2_000:  # 2 GB of replies, 40 MB of requests if the server kept reading
            hog.writer.write(request)
            await asyncio.wait_for(hog.writer.drain(), 1.0)
            sent += 1
    assert sent < 2_000
    other = await connect(server)
    assert (await other.call("whoami"))["payload"]["sessions"] >= 1
    hog.writer.transport.abort()


async def test_oversize_pre_auth_frame_is_refused_without_buffering(make_server) -> None:
    server = await make_server()
    client = await RawClient.connect(server.port)
    await client.send_raw((64 * 1024 + 1).to_bytes(4, "big") + b"x" * 10)
    frame = await client.recv()
    assert frame["code"] == "BAD_REQUEST" and frame["field"] == "frame"
    await client.close()
