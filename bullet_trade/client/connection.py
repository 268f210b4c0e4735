"""The asynchronous client connection: requests, events, heartbeat and explicit reconnect.

Contract (see ``shared/ARCHITECTURE.md`` principles 5 and 6):

* One link at a time; one :class:`~bullet_trade.client.registry.RequestRegistry` per link.
  When a link drops, every pending request fails with ``ConnectionLost`` at once.
* Nothing is ever re-sent silently. :meth:`AsyncConnection.ensure_connected` re-establishes the
  link (and re-sends ``data.subscribe`` for remembered symbols); retrying a request is the
  caller's decision. :meth:`AsyncConnection.read` does that for idempotent actions only.
* Event handlers run via ``loop.call_soon``, never inline in the reader; their exceptions are
  logged. Listeners, ``events.v1`` tracking and replay live in :mod:`.eventstream`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bullet_trade.client.eventstream import (
    EVENTS_EXTENSION,
    REPLAY_PAGE,
    EventHandler,
    EventStream,
)
from bullet_trade.client.link import Link
from bullet_trade.client.transport import OpenedLink, close_writer, connect_with_timeout
from bullet_trade.config import ClientConfig
from bullet_trade.errors import BulletTradeError, ConnectionLost
from bullet_trade.wire.messages import Handshake

log = logging.getLogger(__name__)

__all__ = [
    "EVENTS_EXTENSION",
    "NON_IDEMPOTENT_ACTIONS",
    "REPLAY_PAGE",
    "AsyncConnection",
    "ConnectionState",
    "EventHandler",
    "backoff_delays",
]

#: Actions that change broker state; never retried by :meth:`AsyncConnection.read`.
NON_IDEMPOTENT_ACTIONS = frozenset({"broker.place_order", "broker.cancel_order"})


class ConnectionState(str, enum.Enum):
    IDLE = "idle"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


def backoff_delays(
    attempts: int, base: float = 1.0, cap: float = 30.0, rng: Callable[[], float] = random.random
) -> Iterator[float]:
    """Delays before each of ``attempts`` connection attempts: 0 first, then ``base``
    doubling up to ``cap``, each with up to +25 % jitter (never above ``cap``)."""
    delay = base
    for attempt in range(attempts):
        if attempt == 0:
            yield 0.0
            continue
        yield min(cap, delay * (1.0 + 0.25 * rng()))
        delay = min(cap, delay * 2)


class AsyncConnection:
    """One client connection to a bullet-trade (protocol v1) server.

    Args:
        config: where to connect and the token; ``rpc_timeout`` is the default request timeout.
        features: v1 ``features`` announced in the handshake.
        extensions: negotiated extensions to ask for (e.g. ``"events.v1"``).
        ping_interval: seconds between pings; default ``max(keepalive / 2, 5)``.
        idle_timeout: seconds without any frame after which the link is declared dead;
            default ``3 * keepalive``.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        features: Iterable[str] = ("tick", "order_stream"),
        extensions: Iterable[str] = (),
        ping_interval: float | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self._config = config
        self._features = tuple(features)
        self._extensions = tuple(extensions)
        self._ping_interval = ping_interval
        self._idle_timeout = idle_timeout
        self._state = ConnectionState.IDLE
        self._link: Link | None = None
        self._events = EventStream()
        self._subscriptions: set[str] = set()
        self._reconnect_lock: asyncio.Lock | None = None
        self._server_instance: str | None = None
        self._session_id: str | None = None
        self._server_features: tuple[str, ...] = ()
        self._granted_extensions: tuple[str, ...] = ()

    # ------------------------------------------------------------------ properties

    @property
    def config(self) -> ClientConfig:
        return self._config

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def closed(self) -> bool:
        """True after :meth:`close`; a closed connection never reconnects."""
        return self._state is ConnectionState.CLOSED

    @property
    def server_instance(self) -> str | None:
        """Random id of the server process (extension); changes when the server restarts."""
        return self._server_instance

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def features(self) -> tuple[str, ...]:
        """Services the server granted in ``handshake_ack`` (``data``, ``broker``)."""
        return self._server_features

    @property
    def extensions(self) -> tuple[str, ...]:
        """Extensions the server granted (empty for a v1 server)."""
        return self._granted_extensions

    @property
    def subscriptions(self) -> frozenset[str]:
        """Symbols this connection keeps subscribed (re-sent after a reconnect)."""
        return frozenset(self._subscriptions)

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Open the link and handshake within ``config.connect_timeout``. No-op if connected.

        Raises:
            AuthFailed, ServerBusy, ...: the server refused the handshake.
            ConnectionLost: unreachable / silent server, or the connection was closed.
            On any failure nothing stays open and no task keeps running.
        """
        if self._state is ConnectionState.CLOSED:
            raise ConnectionLost("the connection was closed", details={"sent": False})
        if self._link is not None:
            return
        # the account routing travels in the handshake too, so a sub-account session is
        # bound to its sub-account server-side (its event stream is filtered to its orders)
        handshake = Handshake(
            token=self._config.token, features=self._features, extensions=self._extensions,
            account_key=self._config.account_key, sub_account_id=self._config.sub_account_id,
        )
        opened = await connect_with_timeout(self._config, handshake)
        if self.closed:  # closed while we were connecting
            await close_writer(opened.writer)
            raise ConnectionLost("the connection was closed", details={"sent": False})
        replay_from = self._adopt(opened)
        link = self._link
        if replay_from is not None and link is not None:
            try:
                await self._events.replay(self.request, replay_from)
            except BaseException:
                # never keep a link whose missed events were not replayed: the next
                # connect replays from the last delivered seq
                link.drop("the replay of missed events failed")
                await link.wait_closed()
                raise

    def _adopt(self, opened: OpenedLink) -> int | None:
        """Install the link; returns the seq to replay events after, or ``None``."""
        ack = opened.ack
        if self._server_instance and ack.server_instance != self._server_instance:
            log.warning("server restarted (instance %s -> %s)", self._server_instance,
                        ack.server_instance)
        # before the reader starts: no push can slip past the replay
        replay_from = self._events.replay_start(ack.extensions, ack.last_seq)
        self._server_instance = ack.server_instance
        self._session_id = ack.session_id
        self._server_features = ack.features
        self._granted_extensions = ack.extensions
        keepalive = ack.keepalive or 20
        link = Link(
            opened,
            on_event=self._events.dispatch,
            on_drop=self._link_dropped,
            ping_interval=self._ping_interval or max(keepalive / 2, 5.0),
            idle_timeout=self._idle_timeout or 3.0 * keepalive,
        )
        self._link = link
        self._state = ConnectionState.CONNECTED
        link.start()
        log.info("connected to %s:%s (session %s)", self._config.host, self._config.port,
                 ack.session_id)
        return replay_from

    @property
    def last_seq(self) -> int | None:
        """Highest event ``seq`` delivered to listeners (``events.v1`` only)."""
        return self._events.last_seq

    async def close(self) -> None:
        """Close for good: pending requests fail with ``ConnectionLost``; tasks are awaited."""
        self._state = ConnectionState.CLOSED
        link = self._link
        if link is not None:
            link.drop("the connection was closed by the client")
            await link.wait_closed()
        await self._events.close()

    async def __aenter__(self) -> AsyncConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def ensure_connected(
        self, *, attempts: int = 10, base_delay: float = 1.0, max_delay: float = 30.0
    ) -> bool:
        """Reconnect if needed, with exponential backoff and jitter, then re-subscribe.

        Returns:
            True when a new link was opened, False when already connected.

        Raises:
            ConnectionLost: still unreachable after ``attempts`` tries, or closed.
            AuthFailed and other non-retryable handshake refusals, at once.
        """
        if self._reconnect_lock is None:
            self._reconnect_lock = asyncio.Lock()
        async with self._reconnect_lock:
            if self._link is not None:
                return False
            last: BulletTradeError | None = None
            for delay in backoff_delays(attempts, base_delay, max_delay):
                if self._state is ConnectionState.CLOSED:
                    break
                if delay:
                    await asyncio.sleep(delay)
                try:
                    await self.connect()
                    await self._resubscribe()
                    return True
                except BulletTradeError as exc:
                    if not exc.retryable:
                        raise
                    last = exc
                    log.warning("reconnect to %s:%s failed: %s", self._config.host,
                                self._config.port, exc.message)
            raise ConnectionLost(
                f"could not reconnect after {attempts} attempts: {last}", details={"sent": False}
            )

    # ------------------------------------------------------------------ requests

    async def request(
        self, action: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one request and wait for its reply. Never retried here.

        Args:
            timeout: seconds to wait for the reply (default ``config.rpc_timeout``).

        Returns:
            The response ``payload`` (any JSON value).

        Raises:
            BulletTradeError subclass: the server answered with an error frame.
            RequestTimeout: no reply in time (``details`` has ``action`` and ``request_id``).
            ConnectionLost: not connected, or the link dropped; ``details["sent"]`` tells
                whether the request may have reached the server.
        """
        link = self._link
        if link is None:
            raise ConnectionLost("not connected", details={"sent": False, "action": action})
        wait = self._config.rpc_timeout if timeout is None else timeout
        return await link.request(action, dict(payload or {}), wait)

    async def read(
        self, action: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """:meth:`request` for idempotent actions: on ``ConnectionLost`` reconnect once and
        retry once.

        Raises:
            ValueError: ``action`` changes broker state (place/cancel are never retried here).
        """
        if action in NON_IDEMPOTENT_ACTIONS:
            raise ValueError(f"{action} is not idempotent; it cannot be retried blindly")
        try:
            return await self.request(action, payload, timeout=timeout)
        except ConnectionLost as exc:
            if self._state is ConnectionState.CLOSED:
                raise
            log.info("%s: %s; reconnecting and retrying once", action, exc.message)
        await self.ensure_connected()
        return await self.request(action, payload, timeout=timeout)

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(self, symbols: Iterable[str]) -> Any:
        """Subscribe to ticks for ``symbols`` (uppercased) and remember them for reconnects.

        Only symbols not yet subscribed are sent. Returns the server reply (``{"count": n}``)
        or ``None`` when nothing new was asked.
        """
        new = sorted({s.strip().upper() for s in symbols if s.strip()} - self._subscriptions)
        if not new:
            return None
        self._subscriptions.update(new)
        try:
            return await self.request("data.subscribe", {"securities": new})
        except ConnectionLost:
            raise  # kept: re-sent by ensure_connected
        except BaseException:
            self._subscriptions.difference_update(new)
            raise

    async def unsubscribe(self, symbols: Iterable[str] | None = None) -> Any:
        """Stop ticks for ``symbols`` (all remembered symbols when ``None``)."""
        chosen = (
            set(self._subscriptions)
            if symbols is None
            else {s.strip().upper() for s in symbols} & self._subscriptions
        )
        if not chosen:
            return None
        self._subscriptions.difference_update(chosen)
        if self._link is None:
            return None
        return await self.request("data.unsubscribe", {"securities": sorted(chosen)})

    async def _resubscribe(self) -> None:
        if not self._subscriptions:
            return
        try:
            await self.request("data.subscribe", {"securities": sorted(self._subscriptions)})
        except ConnectionLost:
            raise
        except BulletTradeError as exc:
            log.warning("re-subscribing %d symbols failed: %s", len(self._subscriptions), exc)

    # ------------------------------------------------------------------ events

    def add_event_listener(self, event: str, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(Event)`` for every pushed event named ``event`` (``tick``,
        ``order``, ``trade``...). Handlers run via ``loop.call_soon``; coroutine results are
        run as tasks. Returns a function removing the handler."""
        return self._events.add_listener(event, handler)

    def _link_dropped(self, link: Link, reason: str) -> None:
        if self._link is link:
            self._link = None
            if not self.closed:
                self._state = ConnectionState.DISCONNECTED
        log.info("disconnected from %s:%s: %s", self._config.host, self._config.port, reason)
