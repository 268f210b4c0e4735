"""A tiny scripted server speaking the v1 frame format, for client tests.

Each test gives a ``handler(session, frame)`` coroutine that decides what to do with every
request: reply, fail, push events, reply out of order, or drop the link. Received requests
are also put on a queue so tests can await them instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.framing import FrameDecoder, encode_frame

Handler = Callable[["FakeSession", dict[str, Any]], Awaitable[None]]


class FakeSession:
    """One accepted connection on the fake server."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def send(self, frame: dict[str, Any]) -> None:
        self.writer.write(encode_frame(encode_json(frame)))
        await self.writer.drain()

    async def reply(self, request: dict[str, Any], payload: Any) -> None:
        await self.send({"type": "response", "id": request["id"], "payload": payload})

    async def error(self, request: dict[str, Any] | None, code: str, message: str, **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message, **extra}
        if request is not None and request.get("id"):
            frame["id"] = request["id"]
        await self.send(frame)

    async def event(self, name: str, payload: dict[str, Any], **extra: Any) -> None:
        await self.send({"type": "event", "event": name, "payload": payload, **extra})

    def drop(self) -> None:
        """Abort the TCP connection (the client sees the link die)."""
        self.writer.transport.abort()


class FakeServer:
    """Scripted v1 server on 127.0.0.1, ephemeral port.

    Args:
        handler: called for every request frame; default answers ``{"ok": True}``.
        token: expected handshake token (``AUTH_FAILED`` otherwise).
        keepalive: advertised in the ack.
        answer_pings: when False, pings are swallowed (dead-link tests).
        ack_extra: extra fields merged into ``handshake_ack``.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        token: str = "secret",
        keepalive: int = 20,
        answer_pings: bool = True,
        ack_extra: dict[str, Any] | None = None,
        ssl: Any = None,
    ) -> None:
        self.ssl = ssl
        self.handler = handler or _ok_handler
        self.token = token
        self.keepalive = keepalive
        self.answer_pings = answer_pings
        self.ack_extra = dict(ack_extra or {})
        self.requests: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []
        self.handshakes: list[dict[str, Any]] = []
        self.sessions: list[FakeSession] = []
        self.pings = 0
        self.ping_queue: asyncio.Queue[Any] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FakeServer:
        self.loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for session in self.sessions:
            session.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def next_request(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.requests.get(), timeout)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        session = FakeSession(writer)
        try:
            await self._session(session, reader)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _session(self, session: FakeSession, reader: asyncio.StreamReader) -> None:
        decoder = FrameDecoder()
        authed = False
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for body in decoder.feed(data):
                frame = decode_json(body)
                if not authed:
                    if not await self._handshake(session, frame):
                        return
                    authed = True
                    continue
                await self._frame(session, frame)

    async def _handshake(self, session: FakeSession, frame: dict[str, Any]) -> bool:
        self.handshakes.append(frame)
        if frame.get("token") != self.token:
            await session.error(frame, "AUTH_FAILED", "token mismatch")
            return False
        self.sessions.append(session)
        ack = {
            "type": "handshake_ack",
            "session_id": f"s{len(self.sessions):012x}",
            "keepalive": self.keepalive,
            "protocol": 1,
            "features": ["data", "broker"],
            **self.ack_extra,
        }
        await session.send(ack)
        return True

    async def _frame(self, session: FakeSession, frame: dict[str, Any]) -> None:
        if frame.get("type") == "ping":
            self.pings += 1
            self.ping_queue.put_nowait(frame.get("id"))
            if self.answer_pings:
                await session.send({"type": "pong", "id": frame.get("id")})
            return
        self.received.append(frame)
        self.requests.put_nowait(frame)
        # handlers run concurrently so a test can answer out of order
        task = asyncio.get_running_loop().create_task(self.handler(session, frame))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _ok_handler(session: FakeSession, frame: dict[str, Any]) -> None:
    await session.reply(frame, {"ok": True})


def routes(table: dict[str, Any]) -> Handler:
    """A handler answering each action with a fixed payload (or ``callable(frame)``)."""

    async def handler(session: FakeSession, frame: dict[str, Any]) -> None:
        action = frame.get("action", "")
        if action not in table:
            await session.error(frame, "UNSUPPORTED", f"unknown action {action}")
            return
        value = table[action]
        await session.reply(frame, value(frame) if callable(value) else value)

    return handler
