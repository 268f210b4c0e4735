"""One client connection: handshake, then concurrent requests, pings and pushed ticks.

Lifecycle (``SessionState``): ``HANDSHAKE`` → ``OPEN`` → ``CLOSED``.

* **Handshake.** The first frame must arrive within ``config.handshake_timeout`` seconds and
  may be at most 64 KiB. Anything but a valid handshake is answered with an ``error`` frame
  (``BAD_REQUEST``, ``AUTH_FAILED`` or ``SERVER_BUSY``) and the connection is closed.
* **Steady state.** Each request runs in its own task, so a slow request never delays a ping
  or another request (responses carry ids and may come out of order). Framing errors that
  leave the stream intact (bad JSON, bad message) get a ``BAD_REQUEST`` and the session stays
  open; an oversize frame gets ``BAD_REQUEST`` and closes it (the stream cannot be
  resynchronised). A request without a (truthy) id runs but its response is suppressed;
  its errors are still sent, without ``id`` (v1).
* **Close.** Request tasks are cancelled, subscriptions dropped, queued frames flushed (within
  a short timeout) and the socket closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
from collections.abc import Mapping
from typing import Any

from bullet_trade.config import TokenGrant
from bullet_trade.errors import AuthFailed, BadRequest, BulletTradeError, Unsupported
from bullet_trade.server.context import ActionSpec, ServerState
from bullet_trade.server.dispatch import Dispatcher, error_reply
from bullet_trade.server.events import EXTENSION as EVENTS_EXTENSION
from bullet_trade.server.events import EventHub
from bullet_trade.server.handshake import (
    PRE_AUTH_MAX_FRAME,
    SUPPORTED_EXTENSIONS,
    build_ack,
    check_handshake,
    granted_extensions,
    new_session_id,
)
from bullet_trade.server.idle import IdleWatchdog, idle_timeout
from bullet_trade.server.outbox import Outbox
from bullet_trade.server.push import TickFanout
from bullet_trade.server.requests import RequestRunner
from bullet_trade.server.security import Security
from bullet_trade.server.security.allowlist import parse_peer_ip, peer_key
from bullet_trade.server.security.guard import SessionGuard
from bullet_trade.server.subscriptions import Subscriptions
from bullet_trade.server.tasks import bounded, cancel_tasks, spawn
from bullet_trade.wire.codec import decode_json
from bullet_trade.wire.errors import FrameTooLarge, WireError
from bullet_trade.wire.framing import FrameDecoder
from bullet_trade.wire.messages import (
    Event,
    Handshake,
    Ping,
    Pong,
    Request,
    UnknownMessage,
    parse_client_message,
    parse_handshake,
)

__all__ = ["MAX_INFLIGHT_REQUESTS", "SUPPORTED_EXTENSIONS", "Session", "SessionState"]

logger = logging.getLogger("bullet_trade.server.session")

#: Requests of one session running at once; the session stops reading beyond this.
MAX_INFLIGHT_REQUESTS = 256
#: Seconds allowed, on close, for cancelled requests to finish and queued frames to flush.
CLOSE_TIMEOUT = 2.0
_READ_CHUNK = 64 * 1024


class SessionState(enum.Enum):
    HANDSHAKE = "handshake"
    OPEN = "open"
    CLOSED = "closed"


class _Closing(Exception):
    """Internal: the session must end (the reason was already logged or sent)."""


class Session:
    """Implements :class:`~bullet_trade.server.context.SessionHandle` for one connection.

    Args:
        reader / writer: the connection's streams.
        state: process-wide services and counters.
        actions: the action table.
        fanout: the tick fan-out, or ``None`` when the data service is disabled.
        security: tokens, throttling, rate limit and audit of the server.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        state: ServerState,
        actions: Mapping[str, ActionSpec],
        fanout: TickFanout | None,
        security: Security,
        events: EventHub | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._state = state
        self._config = state.config
        self._fanout = fanout
        self._events = events  # events.v1 hub (attached at handshake when granted)
        peername = writer.get_extra_info("peername")
        self._peer = _format_peer(peername)
        ip = parse_peer_ip(peername[0] if isinstance(peername, tuple) else None)
        self._host = peer_key(ip) if ip is not None else None
        self._guard = SessionGuard(security, peername, self._peer)
        self._session_id = new_session_id()
        self._decoder = FrameDecoder(max_size=PRE_AUTH_MAX_FRAME)
        self._outbox = Outbox(
            writer,
            max_frame_size=self._config.max_frame_size,
            tick_capacity=self._config.max_subscriptions,
            label=f"{self._peer} {self._session_id}",
        )
        self._status = SessionState.HANDSHAKE
        self._registered = False
        self._account_key: str | None = None
        self._sub_account_id: str | None = None
        self._extensions: frozenset[str] = frozenset()
        self._subs = Subscriptions(
            self, fanout, self._config.max_subscriptions,
            lambda: self._status is SessionState.CLOSED,
        )
        self._pending: list[bytes] = []
        self._runner = RequestRunner(
            state=state,
            dispatcher=Dispatcher(state, actions),
            session=self,
            outbox=self._outbox,
            guard=self._guard,
            audit=security.audit,
            is_open=lambda: self._status is SessionState.OPEN,
        )
        self._requests = self._runner.running

    # ------------------------------------------------------------ SessionHandle

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def host(self) -> str | None:
        """The peer's address (IPv6: its /64) without the port, for per-address limits."""
        return self._host

    @property
    def account_key(self) -> str | None:
        return self._account_key

    @property
    def sub_account_id(self) -> str | None:
        return self._sub_account_id

    @property
    def grant(self) -> TokenGrant | None:
        """The token the session authenticated with (``None`` before the handshake); the
        events.v1 hub filters the stream by it."""
        return self._guard.grant

    @property
    def extensions(self) -> frozenset[str]:
        return self._extensions

    @property
    def status(self) -> SessionState:
        return self._status

    def subscriptions(self) -> frozenset[str]:
        return self._subs.symbols()

    async def subscribe(self, symbols: list[str]) -> int:
        """See :meth:`~bullet_trade.server.subscriptions.Subscriptions.add`."""
        return await self._subs.add(symbols)

    async def unsubscribe(self, symbols: list[str] | None) -> tuple[int, int]:
        """Remove ``symbols`` (all when ``None``); returns (count now, removed)."""
        return await self._subs.remove(symbols)

    def push_tick(self, symbol: str, event: Event) -> None:
        """Fan-out entry point: queue a tick (conflated per symbol)."""
        if self._status is SessionState.OPEN:
            self._outbox.push_tick(symbol, event)

    def push_event(self, event: Event) -> None:
        """events.v1 hub entry point: queue a journaled broker event (never dropped)."""
        if self._status is SessionState.OPEN:
            self._outbox.send(event)

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Serve the connection until it ends. Never raises for client input; cancelling
        the task that runs it closes the session (cleanup still happens)."""
        writer_task = spawn(self._outbox.run(), name=f"writer {self._session_id}")
        try:
            if await self._handshake():
                await self._serve()
        except _Closing:
            pass
        except (ConnectionError, OSError) as exc:
            logger.debug("%s %s: connection error: %s", self._peer, self._session_id, exc)
        finally:
            await self._shutdown(writer_task)

    async def _handshake(self) -> bool:
        try:
            body = await bounded(self._first_frame(), self._config.handshake_timeout)
        except asyncio.TimeoutError:
            timeout = self._config.handshake_timeout
            logger.info("%s: no handshake within %g s; closing", self._peer, timeout)
            self._send_error(BadRequest(f"no handshake received within {timeout:g} s"), None)
            return False
        if body is None:
            return False
        try:
            handshake = parse_handshake(decode_json(body))
        except WireError as exc:
            self._send_error(BadRequest(f"handshake expected: {exc.message}", field=exc.field))
            return False
        outcome = check_handshake(self._state, handshake, self._guard.tokens)
        if isinstance(outcome, AuthFailed):
            await self._guard.auth_failed()  # throttling delay before the answer
            self._send_error(outcome, handshake.id)
            return False
        if isinstance(outcome, BulletTradeError):
            logger.info("%s: handshake refused: %s", self._peer, outcome.code)
            self._send_error(outcome, handshake.id)
            return False
        self._guard.authenticated(outcome, self._session_id)
        self._open(handshake)
        return True

    async def _first_frame(self) -> bytes | None:
        """The first frame body, or ``None`` at EOF. Extra frames are kept for later."""
        while True:
            frames = await self._read_frames()
            if frames is None:
                return None
            if frames:
                self._pending = frames[1:]
                return frames[0]

    def _open(self, handshake: Handshake) -> None:
        self._state.sessions += 1
        self._registered = True
        self._status = SessionState.OPEN
        self._account_key = handshake.account_key
        self._sub_account_id = handshake.sub_account_id
        granted = granted_extensions(handshake.extensions)
        self._extensions = frozenset(granted)
        self._decoder.set_max_size(self._config.max_frame_size)
        ack = build_ack(self._state, self._session_id, granted)
        if self._events is not None and EVENTS_EXTENSION in granted:
            ack = dataclasses.replace(ack, last_seq=self._events.last_seq)
            self._events.attach(self)  # no await since last_seq was read: no gap, no repeat
        self._outbox.send(ack)
        logger.info(
            "%s: session %s opened (token=%s, account=%s, client=%s)",
            self._peer,
            self._session_id,
            self._guard.token_name,
            self._account_key or "-",
            handshake.client_version or "-",
        )

    async def _serve(self) -> None:
        """The read loop. Idleness is watched by one timer (:mod:`~bullet_trade.server.idle`),
        so a read costs no timer or extra task."""
        watchdog = IdleWatchdog(
            idle_timeout(self._config.idle_timeout, self._config.keepalive), self._busy
        )
        watchdog.start()
        frames, self._pending = self._pending, []
        try:
            while True:
                for body in frames:
                    self._on_frame(body)
                if not self._outbox.has_room or len(self._requests) >= MAX_INFLIGHT_REQUESTS:
                    await self._wait_for_room()
                frames_or_eof = await self._read_frames()
                if frames_or_eof is None:
                    # EOF may come in the same read as the last requests: give the tasks just
                    # started their first step (a synchronous handler answers) before closing
                    await asyncio.sleep(0)
                    return
                watchdog.touch()
                frames = frames_or_eof
        except asyncio.CancelledError:
            if not watchdog.absorb():
                raise
            logger.info("%s %s: idle; closing", self._peer, self._session_id)
        finally:
            watchdog.stop()

    def _busy(self) -> bool:
        """A client waiting for a long request is not idle; a peer not reading is."""
        return bool(self._requests) and self._outbox.has_room

    async def _read_frames(self) -> list[bytes] | None:
        """Frames completed by the next read; ``None`` at EOF.

        Raises:
            _Closing: an oversize frame (a ``BAD_REQUEST`` was queued).
        """
        data = await self._reader.read(_READ_CHUNK)
        if not data:
            return None
        try:
            return self._decoder.feed(data)
        except FrameTooLarge as exc:
            logger.info("%s %s: %s; closing", self._peer, self._session_id, exc.message)
            self._send_error(BadRequest(f"{exc.message}; closing the connection", field="frame"))
            raise _Closing from exc

    async def _wait_for_room(self) -> None:
        """Backpressure: pause reading while output or running requests pile up."""
        await self._outbox.wait_room()
        while len(self._requests) >= MAX_INFLIGHT_REQUESTS:
            await asyncio.wait(set(self._requests), return_when=asyncio.FIRST_COMPLETED)

    async def _shutdown(self, writer_task: asyncio.Task[None]) -> None:
        was_open = self._status is SessionState.OPEN
        self._status = SessionState.CLOSED
        if self._registered:
            self._registered = False
            self._state.sessions -= 1
        if self._fanout is not None:
            self._fanout.remove_sink(self)
        if self._events is not None:
            self._events.detach(self)
        self._subs.clear()
        flushed = False
        try:
            await cancel_tasks(self._requests, CLOSE_TIMEOUT)
            self._outbox.close()
            await asyncio.wait({writer_task}, timeout=CLOSE_TIMEOUT)
            flushed = writer_task.done() and not self._outbox.broken.is_set()
        finally:
            writer_task.cancel()
            if flushed:
                self._writer.close()
            else:  # the peer is not reading: do not wait for the kernel buffer to drain
                self._writer.transport.abort()
            if was_open:
                logger.info("%s: session %s closed", self._peer, self._session_id)
        with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT)

    # ------------------------------------------------------------ frames

    def _on_frame(self, body: bytes) -> None:
        data: dict[str, Any] = {}
        try:
            data = decode_json(body)
            message = parse_client_message(data)
        except WireError as exc:
            self._send_error(BadRequest(exc.message, field=exc.field), data.get("id"))
            return
        if isinstance(message, Ping):
            self._outbox.send(Pong(id=message.id))
        elif isinstance(message, Request):
            limited = self._guard.rate_limited()
            if limited is not None:
                self._send_error(limited, message.id)
                return
            self._runner.start(message)
        elif isinstance(message, UnknownMessage):
            self._send_error(
                Unsupported(
                    f"unsupported message type {message.type!r} (不支持的消息类型 {message.type})",
                    field="type",
                ),
                message.id,
            )

    def _send_error(self, exc: BulletTradeError, request_id: Any = None) -> None:
        self._outbox.send(error_reply(request_id, exc))


def _format_peer(peername: Any) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "?")
