"""A loopback TCP proxy that understands v1 framing, for connection-loss tests.

``Proxy.drop_reply_to(action)``: the next request with that action is forwarded to the
server, the server's reply to it is swallowed and the client connection is cut — the
client never learns the outcome of a request the server did execute.
``Proxy.cut()`` aborts every connection now (a network outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Callable

Verdict = Callable[[dict[str, object]], bool]  # True: forward the frame


class Proxy:
    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._drop_action: str | None = None
        self._swallow: set[object] = set()
        self.dropped = asyncio.Event()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_reply_to(self, action: str) -> None:
        self._drop_action = action
        self.dropped.clear()

    def cut(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        self._writers += [writer, up_writer]

        def upward(frame: dict[str, object]) -> bool:
            if self._drop_action is not None and frame.get("action") == self._drop_action:
                self._drop_action = None
                self._swallow.add(frame.get("id"))
            return True

        def downward(frame: dict[str, object]) -> bool:
            if frame.get("id") in self._swallow and frame.get("type") in ("response", "error"):
                self._swallow.discard(frame.get("id"))
                writer.transport.abort()
                up_writer.close()
                self.dropped.set()
                return False
            return True

        await asyncio.gather(
            _pump(reader, up_writer, upward), _pump(up_reader, writer, downward),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            w.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, verdict: Verdict) -> None:
    try:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(struct.unpack(">I", header)[0])
            if not verdict(json.loads(body)):
                return
            writer.write(header + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
