"""A raw protocol-v1 client for black-box server tests: 4-byte big-endian length + UTF-8 JSON.

Deliberately independent of ``bullet_trade.wire`` so the tests check the bytes on the wire,
not our own codec against itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from typing import Any

#: Safety net only: every wait below ends on an event (a frame or EOF) long before this.
WAIT = 3.0


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> RawClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    # ------------------------------------------------------------ sending

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_body(self, body: bytes) -> None:
        await self.send_raw(struct.pack(">I", len(body)) + body)

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_body(json.dumps(message, ensure_ascii=False).encode("utf-8"))

    async def request(
        self, action: str, payload: dict[str, Any] | None = None, id: Any = None
    ) -> None:
        frame: dict[str, Any] = {"type": "request", "action": action, "payload": payload or {}}
        if id is not None:
            frame["id"] = id
        await self.send(frame)

    # ------------------------------------------------------------ receiving

    async def recv(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next frame; raises ``EOFError`` when the server closed the connection."""
        try:
            header = await asyncio.wait_for(self.reader.readexactly(4), timeout)
            (length,) = struct.unpack(">I", header)
            body = await asyncio.wait_for(self.reader.readexactly(length), timeout)
        except asyncio.IncompleteReadError as exc:
            raise EOFError("server closed the connection") from exc
        value = json.loads(body.decode("utf-8"))
        assert isinstance(value, dict)
        return value

    async def recv_until(
        self, predicate: Any, timeout: float = WAIT
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until a frame matches; returns it and the frames read before it."""
        before: list[dict[str, Any]] = []
        while True:
            frame = await self.recv(timeout)
            if predicate(frame):
                return frame, before
            before.append(frame)

    async def reply_to(self, id: Any) -> dict[str, Any]:
        """The response or error carrying ``id`` (ticks and other frames skipped)."""
        frame, _ = await self.recv_until(
            lambda f: f.get("type") in ("response", "error") and f.get("id") == id
        )
        return frame

    async def expect_eof(self, timeout: float = WAIT) -> None:
        data = await asyncio.wait_for(self.reader.read(1), timeout)
        assert data == b"", f"expected EOF, got {data!r}"

    async def call(
        self, action: str, payload: dict[str, Any] | None = None, id: Any = "r1"
    ) -> dict[str, Any]:
        await self.request(action, payload, id)
        return await self.reply_to(id)

    async def handshake(self, token: Any = "tok", **extra: Any) -> dict[str, Any]:
        await self.send(
            {"type": "handshake", "token": token, "protocol": 1, "features": [], **extra}
        )
        return await self.recv()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
