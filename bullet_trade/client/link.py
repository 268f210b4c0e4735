"""One authenticated network link: the reader task, the heartbeat task and the request
registry of that link.

A :class:`Link` never reconnects. When it drops (EOF, I/O error, protocol error, dead
heartbeat or :meth:`Link.drop`), every pending request fails with ``ConnectionLost`` and the
owner is told through ``on_drop``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import uuid4

from bullet_trade.client.registry import RequestRegistry
from bullet_trade.client.transport import READ_CHUNK, OpenedLink, close_writer
from bullet_trade.errors import BadRequest, ConnectionLost, RequestTimeout, error_from_wire
from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.errors import EncodeError, MalformedMessage, WireError
from bullet_trade.wire.framing import encode_frame
from bullet_trade.wire.messages import (
    ErrorMessage,
    Event,
    Ping,
    Request,
    Response,
    parse_server_message,
)

log = logging.getLogger(__name__)


def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    """Create a named task (``bt-client-<name>``) whose failure is logged with traceback."""
    task = asyncio.get_running_loop().create_task(coro, name=f"bt-client-{name}")
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("client task %s failed", task.get_name(), exc_info=task.exception())


class Link:
    """A connected, authenticated stream.

    Args:
        opened: result of :func:`~bullet_trade.client.transport.open_link`.
        on_event: called (synchronously, by the reader) for each ``event`` frame.
        on_drop: called once when the link drops, with the reason.
        ping_interval: seconds between pings.
        idle_timeout: seconds without any received frame before the link is declared dead.
    """

    def __init__(
        self,
        opened: OpenedLink,
        *,
        on_event: Callable[[Event], None],
        on_drop: Callable[[Link, str], None],
        ping_interval: float,
        idle_timeout: float,
    ) -> None:
        self.opened = opened
        self._on_event = on_event
        self._on_drop = on_drop
        self._ping_interval = ping_interval
        self._idle_timeout = idle_timeout
        self._registry = RequestRegistry()
        self._write_lock = asyncio.Lock()
        self._last_rx = asyncio.get_running_loop().time()
        self._dropped = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def dropped(self) -> bool:
        return self._dropped

    def start(self) -> None:
        self._tasks = [spawn(self._read_loop(), "reader"), spawn(self._heartbeat(), "heartbeat")]

    async def request(self, action: str, payload: dict[str, Any], timeout: float) -> Any:
        """Send one request and await its reply (see ``AsyncConnection.request``)."""
        request_id = uuid4().hex
        future = self._registry.open(request_id)
        try:
            await self.write(Request(request_id, action, payload).to_wire())
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise RequestTimeout(
                f"no reply to {action} within {timeout:g}s",
                details={"action": action, "request_id": request_id},
            ) from None
        finally:
            self._registry.discard(request_id)

    async def write(self, message: dict[str, Any]) -> None:
        """Write one frame.

        Raises:
            BadRequest: the message cannot be encoded (field ``payload``).
            ConnectionLost: the link is down; ``details["sent"]`` says whether bytes may
                have left.
        """
        try:
            frame = encode_frame(encode_json(message))
        except EncodeError as exc:
            raise BadRequest(f"request cannot be encoded: {exc.message}", field="payload") from exc
        if self._dropped:
            raise ConnectionLost("the connection dropped", details={"sent": False})
        writer = self.opened.writer
        async with self._write_lock:
            try:
                writer.write(frame)
                await writer.drain()
            except (OSError, RuntimeError) as exc:
                self.drop(f"write failed: {exc}")
                raise ConnectionLost(f"write failed: {exc}", details={"sent": True}) from exc

    def drop(self, reason: str) -> None:
        """Tear the link down (idempotent): fail pending requests, abort the socket."""
        if self._dropped:
            return
        self._dropped = True
        failed = self._registry.fail_all(
            lambda: ConnectionLost(f"connection lost: {reason}", details={"sent": True})
        )
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self.opened.writer.transport.abort()
        self.opened.writer.close()
        log.info("link dropped (%s); %d pending request(s) failed", reason, failed)
        self._on_drop(self, reason)

    async def wait_closed(self) -> None:
        """Wait for the link's tasks and socket after :meth:`drop`."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await close_writer(self.opened.writer)

    async def _read_loop(self) -> None:
        reason = "the server closed the connection"
        opened = self.opened
        try:
            for body in opened.leftover:
                self._on_body(body)
            while True:
                data = await opened.reader.read(READ_CHUNK)
                if not data:
                    break
                for body in opened.decoder.feed(data):
                    self._on_body(body)
        except (OSError, WireError) as exc:
            reason = f"connection error: {exc}"
        finally:
            self.drop(reason)

    def _on_body(self, body: bytes) -> None:
        self._last_rx = asyncio.get_running_loop().time()
        frame = decode_json(body)
        try:
            message = parse_server_message(frame)
        except MalformedMessage as exc:
            log.warning("ignoring malformed frame from the server: %s", exc.message)
            return
        if isinstance(message, Response):
            if not self._registry.resolve(message.id, message.payload):
                log.debug("reply for unknown request id %r (timed out?)", message.id)
        elif isinstance(message, ErrorMessage):
            error = error_from_wire(frame)
            if not self._registry.fail(message.id, error):
                log.warning("server error without a pending request: %s %s", error.code,
                            error.message)
        elif isinstance(message, Event):
            self._on_event(message)

    async def _heartbeat(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._dropped:
            await asyncio.sleep(min(self._ping_interval, self._idle_timeout))
            if loop.time() - self._last_rx > self._idle_timeout:
                log.warning("no frame from the server for %.1fs; closing the link",
                            self._idle_timeout)
                self.drop(f"no frame from the server for {self._idle_timeout:g}s")
                return
            try:
                await self.write(Ping(id=uuid4().hex).to_wire())
            except ConnectionLost:
                return
