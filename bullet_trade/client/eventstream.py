"""Pushed events of one client connection: listeners, ``events.v1`` sequence tracking and the
replay of missed events after a reconnect (used by :class:`~bullet_trade.client.connection.
AsyncConnection`).

Contract:

* Handlers run via ``loop.call_soon``, never inline in the reader; coroutine results run as
  tasks; exceptions are logged.
* With ``events.v1`` every delivered event has a ``seq``; an event with ``seq <= last seen``
  is dropped (a replayed or duplicated one). The first link only starts tracking at the
  server's ``last_seq``; a later link holds pushes back, pages through ``broker.events``
  from the last delivered seq, then releases the held pushes: no gap, no repeat, in order.
  A replay that keeps failing never advances past the gap: the held pushes are dropped with
  the link and the next connect replays from the last delivered seq.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bullet_trade.client.link import spawn
from bullet_trade.errors import BulletTradeError, ConnectionLost
from bullet_trade.wire.errors import MalformedMessage
from bullet_trade.wire.messages import Event, parse_server_message

log = logging.getLogger("bullet_trade.client.connection")

EventHandler = Callable[[Event], Any]
Requester = Callable[[str, dict[str, Any]], Awaitable[Any]]

#: The negotiated event-stream extension (persistent ``seq``, replay by ``broker.events``).
EVENTS_EXTENSION = "events.v1"
#: Page size of ``broker.events`` replays.
REPLAY_PAGE = 1000
#: Attempts of one ``broker.events`` page before the replay (and the link) is given up.
REPLAY_ATTEMPTS = 4
#: Backoff between replay attempts: ``REPLAY_BASE_DELAY * 2**(n-1)``, at most
#: ``REPLAY_MAX_DELAY`` (a ``retry_after`` from the server wins, up to the same bound).
REPLAY_BASE_DELAY = 0.2
REPLAY_MAX_DELAY = 5.0


def replay_delay(failures: int, retry_after: float | None) -> float:
    """Seconds to wait before replay attempt ``failures + 1``."""
    if retry_after is not None and retry_after > 0:
        return min(float(retry_after), REPLAY_MAX_DELAY)
    return min(REPLAY_BASE_DELAY * 2.0 ** (failures - 1), REPLAY_MAX_DELAY)


class EventStream:
    """Listeners and sequence state of one connection (survives its links)."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[EventHandler]] = {}
        self._handler_tasks: set[asyncio.Task[Any]] = set()
        self._held: list[Event] | None = None  # pushes held back while replaying
        self.last_seq: int | None = None

    def add_listener(self, event: str, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(Event)`` for every pushed event named ``event``; returns a function
        removing the handler."""
        self._listeners.setdefault(event, []).append(handler)

        def remove() -> None:
            handlers = self._listeners.get(event, [])
            if handler in handlers:
                handlers.remove(handler)

        return remove

    def replay_start(self, extensions: tuple[str, ...], server_seq: int | None) -> int | None:
        """Where the event replay of a new link starts (``None``: no replay). When a replay
        is due, pushes are held back from now on (call before the link's reader starts).

        The first link only starts tracking at the server's ``last_seq``. A later link
        replays everything after the last seq seen; a server whose journal went backwards
        (a new journal file) is replayed from its beginning.
        """
        if EVENTS_EXTENSION not in extensions or server_seq is None:
            return None
        if self.last_seq is None:
            self.last_seq = server_seq
            return None
        if server_seq < self.last_seq:
            log.warning("server event journal restarted (seq %d < %d); replaying it all",
                        server_seq, self.last_seq)
            self.last_seq = 0
        self._held = []
        return self.last_seq

    async def replay(self, request: Requester, since: int) -> None:
        """Fetch and deliver the events missed since ``since``, then the held-back pushes.

        Every event is delivered at most once and in ``seq`` order, and never past a gap: a
        failed ``broker.events`` call is retried (up to :data:`REPLAY_ATTEMPTS` times, with
        backoff, honouring ``retry_after``) from the last delivered seq. If the replay still
        fails, the held pushes are discarded (not delivered), ``last_seq`` stays at the last
        event delivered in order, and the error is raised: the caller drops the link so the
        next connect replays again from there.

        Raises:
            ConnectionLost: the link dropped during the replay, or the replay kept failing
                (``details["cause"]`` holds the last error code).
        """
        ok = False
        try:
            await self._replay_pages(request, since)
            ok = True
        finally:
            held, self._held = self._held or [], None
            if ok:
                for event in held:
                    self.deliver(event)
            elif held:
                log.warning("discarding %d pushed events held during a failed replay; "
                            "they are replayed on the next connect", len(held))

    async def _replay_pages(self, request: Requester, since: int) -> None:
        """Page through ``broker.events`` from ``since``; retry failed pages (bounded)."""
        failures = 0
        while True:
            try:
                reply = await request(
                    "broker.events", {"since_seq": since, "limit": REPLAY_PAGE}
                )
            except ConnectionLost:
                raise
            except BulletTradeError as exc:
                failures += 1
                if failures >= REPLAY_ATTEMPTS:
                    log.warning("cannot replay missed events (%s): %s", exc.code, exc.message)
                    raise ConnectionLost(
                        f"cannot replay missed events after {failures} attempts: "
                        f"{exc.code}: {exc.message}",
                        details={"sent": False, "cause": exc.code},
                    ) from exc
                delay = replay_delay(failures, exc.retry_after)
                log.warning("replay of missed events failed (%s: %s); retrying in %.2fs",
                            exc.code, exc.message, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            events = _replayed(reply)
            for event in events:
                self.deliver(event)
            if not events or not isinstance(reply, dict) or not reply.get("more"):
                break
            since = events[-1].seq or since
        log.info("replayed missed events up to seq %s", self.last_seq)

    def dispatch(self, message: Event) -> None:
        """Entry point of pushed events from the link's reader."""
        if self._held is not None and message.seq is not None:
            self._held.append(message)
            return
        self.deliver(message)

    def deliver(self, message: Event) -> None:
        if message.seq is not None:
            if self.last_seq is not None and message.seq <= self.last_seq:
                return  # replayed or duplicated (events.v1)
            self.last_seq = message.seq
        loop = asyncio.get_running_loop()
        for handler in list(self._listeners.get(message.event, ())):
            loop.call_soon(self._run_handler, handler, message)

    async def close(self) -> None:
        """Cancel and await handler tasks still running."""
        for task in list(self._handler_tasks):
            task.cancel()
        if self._handler_tasks:
            await asyncio.gather(*self._handler_tasks, return_exceptions=True)

    def _run_handler(self, handler: EventHandler, message: Event) -> None:
        try:
            result = handler(message)
            if inspect.isawaitable(result):
                task = spawn(_await(result), f"event-{message.event}")
                self._handler_tasks.add(task)
                task.add_done_callback(self._handler_tasks.discard)
        except Exception:
            log.exception("event handler %r failed on %s", handler, message.event)


async def _await(awaitable: Any) -> None:
    await awaitable


def _replayed(reply: Any) -> list[Event]:
    """The ``event`` frames of a ``broker.events`` reply (malformed ones are skipped)."""
    frames = reply.get("events") if isinstance(reply, dict) else None
    out: list[Event] = []
    for frame in frames if isinstance(frames, list) else []:
        try:
            message = parse_server_message(frame) if isinstance(frame, dict) else None
        except MalformedMessage:
            message = None
        if isinstance(message, Event):
            out.append(message)
        else:
            log.warning("ignoring a malformed replayed event: %r", frame)
    return out
