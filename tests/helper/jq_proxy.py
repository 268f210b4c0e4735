"""A frame-aware loopback proxy for the helper tests.

It sits between the helper and the real server, records every client frame, can terminate TLS
(so the helper's TLS code is tested even while the server speaks plain TCP) and can simulate a
connection that dies after the server has processed a request but before the client saw the
reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import struct
from typing import Any


async def _read_frame(reader: asyncio.StreamReader) -> bytes | None:
    try:
        header = await reader.readexactly(4)
        (length,) = struct.unpack(">I", header)
        return header + await reader.readexactly(length)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def _decode(frame: bytes) -> dict[str, Any]:
    value = json.loads(frame[4:].decode("utf-8"))
    return value if isinstance(value, dict) else {}


class FrameProxy:
    """Forward frames from 127.0.0.1:<port> to ``127.0.0.1:upstream_port``.

    Attributes:
        requests: every request frame seen from clients, in order.
        connections: number of client connections accepted.
        drop_replies_to: action names; the next reply to a request with such an action is
            swallowed and the client connection closed instead (one drop per listed entry).
    """

    def __init__(self, upstream_port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.upstream_port = upstream_port
        self.ssl_context = ssl_context
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.drop_replies_to: list[str] = []
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def actions(self) -> list[str]:
        return [str(r.get("action")) for r in self.requests if r.get("type") == "request"]

    async def start(self) -> FrameProxy:
        self._server = await asyncio.start_server(
            self._on_client, "127.0.0.1", 0, ssl=self.ssl_context
        )
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def disconnect_all(self) -> None:
        """Close every client connection, as a server restart or an idle timeout would."""
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_client(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            await self._relay(c_reader, c_writer)
        finally:
            self._handlers.discard(handler)

    async def _relay(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        u_reader, u_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.update((c_writer, u_writer))
        pending: dict[Any, str] = {}  # request id -> action, on this connection
        up = asyncio.ensure_future(self._client_to_server(c_reader, u_writer, pending))
        down = asyncio.ensure_future(self._server_to_client(u_reader, c_writer, pending))
        self._tasks.update((up, down))
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        self._tasks.difference_update((up, down))
        for writer in (c_writer, u_writer):
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: dict[Any, str]
    ) -> None:
        while (frame := await _read_frame(reader)) is not None:
            message = _decode(frame)
            self.requests.append(message)
            if message.get("type") == "request":
                pending[message.get("id")] = str(message.get("action"))
            writer.write(frame)
            await writer.drain()

    async def _server_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pending: dict[Any, str]
    ) -> None:
        while (frame := await _read_frame(reader)) is not None:
            action = pending.pop(_decode(frame).get("id"), None)
            if action is not None and action in self.drop_replies_to:
                # the server has done the work; the client only sees the connection die
                self.drop_replies_to.remove(action)
                return
            writer.write(frame)
            await writer.drain()
