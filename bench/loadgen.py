"""The one load generator used against every server (bare, published, ours).

It speaks raw protocol v1 (4-byte big-endian length + UTF-8 JSON, encoded with orjson) with a
reader task per connection that resolves replies by request id, so several requests may be in
flight on one connection (needed for the head-of-line figure). Loads are closed loops with a
fixed number of requests: they always stop by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

_HEADER = struct.Struct(">I")
EventHandler = Callable[[dict[str, Any], float], None]


class ServerError(Exception):
    """The server answered with an ``error`` frame."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.code = str(frame.get("code"))


class RawConnection:
    """One authenticated protocol-v1 connection with a demultiplexing reader.

    Args:
        on_event: called with (frame, arrival ``time.time()``) for every ``event`` frame.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: EventHandler | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0
        self._task: asyncio.Task[None] | None = None
        self.ack: dict[str, Any] = {}

    @classmethod
    async def open(
        cls,
        port: int,
        token: str,
        *,
        extensions: tuple[str, ...] = (),
        on_event: EventHandler | None = None,
        timeout: float = 10.0,
    ) -> RawConnection:
        """Connect to 127.0.0.1:``port`` and handshake like the published client.

        Raises:
            ServerError: the handshake was refused.
        """
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, limit=2**20), timeout
        )
        conn = cls(reader, writer, on_event)
        handshake: dict[str, Any] = {
            "type": "handshake", "protocol": 1, "token": token,
            "features": ["tick", "order_stream"],
        }
        if extensions:
            handshake["extensions"] = list(extensions)
        conn._send(handshake)
        ack = await asyncio.wait_for(conn._read_frame(), timeout)
        if ack.get("type") != "handshake_ack":
            writer.close()
            raise ServerError(ack)
        conn.ack = ack
        conn._task = asyncio.get_running_loop().create_task(conn._read_loop())
        return conn

    def _send(self, message: dict[str, Any]) -> None:
        body = orjson.dumps(message)
        self._writer.write(_HEADER.pack(len(body)) + body)

    async def _read_frame(self) -> dict[str, Any]:
        header = await self._reader.readexactly(4)
        body = await self._reader.readexactly(_HEADER.unpack(header)[0])
        try:
            frame: dict[str, Any] = orjson.loads(body)
        except orjson.JSONDecodeError:  # v1 peers may send NaN tokens
            import json

            frame = json.loads(body)
        return frame

    async def _read_loop(self) -> None:
        error: BaseException = ConnectionError("connection closed")
        try:
            while True:
                frame = await self._read_frame()
                kind = frame.get("type")
                if kind == "event":
                    if self._on_event is not None:
                        self._on_event(frame, time.time())
                    continue
                future = self._pending.pop(str(frame.get("id")), None)
                if future is None or future.done():
                    continue
                if kind == "error":
                    future.set_exception(ServerError(frame))
                else:
                    future.set_result(frame)
        except (asyncio.IncompleteReadError, OSError) as exc:
            error = exc
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(str(error)))
            self._pending.clear()

    async def request(
        self, action: str, payload: dict[str, Any] | None = None, timeout: float = 60.0
    ) -> Any:
        """Send one request; return the response ``payload``.

        Raises:
            ServerError: an ``error`` frame. ConnectionError: the link closed.
            TimeoutError: no reply within ``timeout``.
        """
        self._next += 1
        request_id = f"b{self._next}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send({"type": "request", "id": request_id, "action": action,
                    "payload": payload or {}})
        try:
            frame = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        return frame.get("payload")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), 2.0)


@dataclass(slots=True)
class LoadResult:
    """Outcome of one closed-loop load."""

    requests: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_codes: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0


PayloadFactory = Callable[[int, int], dict[str, Any]]


async def _worker(
    conn: RawConnection, index: int, count: int, action: str, payload: PayloadFactory,
    result: LoadResult,
) -> None:
    for i in range(count):
        started = time.perf_counter()
        try:
            await conn.request(action, payload(index, i))
        except ServerError as exc:
            result.errors += 1
            result.error_codes[exc.code] = result.error_codes.get(exc.code, 0) + 1
        except (ConnectionError, asyncio.TimeoutError) as exc:
            result.errors += 1
            name = type(exc).__name__
            result.error_codes[name] = result.error_codes.get(name, 0) + 1
            return
        result.latencies.append(time.perf_counter() - started)
        result.requests += 1


async def closed_loop(
    conns: list[RawConnection], per_connection: int, action: str, payload: PayloadFactory
) -> LoadResult:
    """Every connection sends ``per_connection`` requests, one at a time, back to back."""
    result = LoadResult()
    started = time.perf_counter()
    await asyncio.gather(
        *(_worker(c, i, per_connection, action, payload, result) for i, c in enumerate(conns))
    )
    result.elapsed = time.perf_counter() - started
    return result


async def open_many(
    port: int, token: str, count: int, *, batch: int = 16, **kwargs: Any
) -> list[RawConnection]:
    """Open ``count`` connections, ``batch`` at a time (keeps the accept backlog sane)."""
    conns: list[RawConnection] = []
    try:
        while len(conns) < count:
            size = min(batch, count - len(conns))
            conns.extend(
                await asyncio.gather(*(RawConnection.open(port, token, **kwargs)
                                       for _ in range(size)))
            )
    except BaseException:
        await close_all(conns)
        raise
    return conns


async def close_all(conns: list[RawConnection]) -> None:
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
