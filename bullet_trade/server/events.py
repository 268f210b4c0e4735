"""The ``events.v1`` stream: broker callbacks → journal (persistent ``seq``) → sessions.

Contract:

* :meth:`EventHub.on_event` is the broker listener (event loop thread, synchronous). It only
  queues; one writer task appends queued events to the journal in arrival order (batched)
  and, once they are durable, pushes each to every attached sink as
  ``{type:"event", event, seq, account_key, payload}``. So a pushed ``seq`` can always be
  replayed from the journal, and ``seq`` is strictly increasing across restarts.
* :attr:`EventHub.last_seq` is the highest seq pushed; a sink attached right after reading it
  receives exactly the events after it (attach and read happen without an ``await``).
* Journal failures are logged; the events of that batch are lost for replay but the hub
  keeps running (the broker must never be slowed down by the journal).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

from bullet_trade.adapters.contracts import Broker
from bullet_trade.model.records import (
    AccountChanged,
    BackendStateChanged,
    BrokerEvent,
    OrderUpdated,
    TradeExecuted,
)
from bullet_trade.server.journal import EventRow, Journal
from bullet_trade.wire.messages import Event

log = logging.getLogger("bullet_trade.server.events")

EXTENSION = "events.v1"
_MAX_BATCH = 512


class EventSink(Protocol):
    def push_event(self, event: Event) -> None: ...


def describe(event: BrokerEvent) -> tuple[str, str | None, dict[str, Any]]:
    """``(kind, account_key, payload)`` of a broker event (payload = ``record.to_wire()``)."""
    if isinstance(event, OrderUpdated):
        return "order", event.order.account_key, event.order.to_wire()
    if isinstance(event, TradeExecuted):
        return "trade", event.trade.account_key, event.trade.to_wire()
    if isinstance(event, AccountChanged):
        return "account", event.account.account_key, event.account.to_wire()
    if isinstance(event, BackendStateChanged):
        return "backend", None, {"state": event.state, "detail": event.detail}
    raise TypeError(f"not a broker event: {event!r}")


def event_from_row(row: EventRow) -> Event:
    return Event(event=row.kind, payload=json.loads(row.payload), seq=row.seq,
                 account_key=row.account_key)


class EventHub:
    """Journals broker events and fans them out to ``events.v1`` sessions.

    Args:
        journal: the journal (opened before :meth:`start`).
    """

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._queue: asyncio.Queue[tuple[str, str | None, str]] = asyncio.Queue()
        self._sinks: set[EventSink] = set()
        self._task: asyncio.Task[None] | None = None
        self.last_seq = 0

    async def start(self, broker: Broker | None) -> None:
        """Read the last seq, register on ``broker`` and start the writer task."""
        self.last_seq = await self._journal.last_seq()
        add_listener = getattr(broker, "add_listener", None)  # some test fakes have none
        if callable(add_listener):
            add_listener(self.on_event)
        self._task = asyncio.create_task(self._run(), name="events-journal")

    def attach(self, sink: EventSink) -> None:
        self._sinks.add(sink)

    def detach(self, sink: EventSink) -> None:
        self._sinks.discard(sink)

    def on_event(self, event: BrokerEvent) -> None:
        """Broker listener: queue the event (never blocks, never raises to the broker)."""
        try:
            kind, account_key, payload = describe(event)
            self._queue.put_nowait((kind, account_key, json.dumps(payload, default=str)))
        except Exception:  # a bad event must not break the broker's other listeners
            log.exception("cannot journal broker event %r", event)

    async def flush(self) -> None:
        """Wait until every event queued so far is journaled and pushed."""
        await self._queue.join()

    async def replay(self, since_seq: int, limit: int) -> list[Event]:
        """Journaled events after ``since_seq`` (at most ``limit``), ascending."""
        return [event_from_row(r) for r in await self._journal.events_since(since_seq, limit)]

    async def close(self, timeout: float = 2.0) -> None:
        """Flush what is queued (within ``timeout``), then stop the writer."""
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except asyncio.TimeoutError:
            log.warning("events: %d event(s) not journaled at shutdown", self._queue.qsize())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < _MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                seqs = await self._journal.append_events(batch)
            except Exception:  # I/O boundary: keep serving; these events cannot be replayed
                log.exception("events: journaling %d event(s) failed", len(batch))
                seqs = []
            for (kind, account_key, payload), seq in zip(batch, seqs, strict=False):
                self._push(Event(event=kind, payload=json.loads(payload), seq=seq,
                                 account_key=account_key))
            for _ in batch:
                self._queue.task_done()

    def _push(self, event: Event) -> None:
        self.last_seq = max(self.last_seq, event.seq or 0)
        for sink in list(self._sinks):
            try:
                sink.push_event(event)
            except Exception:  # one broken session must not stop the others
                log.exception("events: pushing seq %s failed", event.seq)
