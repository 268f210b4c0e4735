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
* Sub-accounts: an attributor (the sub-account book, :meth:`EventHub.attribute_with`) names
  the sub-account of each order/trade event; it is journaled with the event (column
  ``sub_account``) and added to the payload as ``sub_account_id``. Every sink and every
  replay has an :class:`EventScope`: a session bound to sub-accounts (handshake
  ``sub_account_id`` or a token's ``sub_accounts``) gets only those sub-accounts' order and
  trade events plus ``backend`` events — no ``account`` snapshots of the parent (it queries
  ``broker.account`` for its own view); a token bound to accounts gets only their events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bullet_trade.adapters.contracts import Broker
from bullet_trade.config import TokenGrant
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


Attributor = Callable[[BrokerEvent], str | None]
_Queued = tuple[str, str | None, str, str | None]  # kind, account_key, payload JSON, sub


@dataclass(frozen=True, slots=True)
class EventScope:
    """Which events one session (or one replay) may see; ``None`` fields do not filter.

    Attributes:
        accounts: account keys (events of no account, e.g. ``backend``, always pass).
        subs: sub-account names: when set, only ``order``/``trade`` events attributed to one
            of them, and ``backend`` events, pass.
    """

    accounts: frozenset[str] | None = None
    subs: frozenset[str] | None = None

    def admits(self, kind: str, account_key: str | None, sub: str | None) -> bool:
        if self.accounts is not None and account_key is not None \
                and account_key not in self.accounts:
            return False
        if self.subs is None:
            return True
        return kind == "backend" or (kind in ("order", "trade") and sub in self.subs)


def scope_for(grant: TokenGrant | None, sub_text: str | None) -> EventScope:
    """The scope of a session or request: ``sub_text`` is its sub-account (``name`` or
    ``name@parent``, from the request or the handshake), ``grant`` its token. A named
    sub-account outside the token's ``sub_accounts`` yields a scope that admits no
    order/trade event (fail closed)."""
    accounts = grant.accounts if grant is not None else None
    bound = grant.sub_accounts if grant is not None else None
    if sub_text:
        name = sub_text.partition("@")[0].strip()
        subs = frozenset({name}) if bound is None or name in bound else frozenset()
        return EventScope(accounts, subs)
    return EventScope(accounts, bound)


def session_scope(sink: object) -> EventScope:
    """The scope of an attached session, from its ``grant`` and ``sub_account_id``
    (attributes a sink may lack: then unrestricted)."""
    grant = getattr(sink, "grant", None)
    sub = getattr(sink, "sub_account_id", None)
    return scope_for(grant if isinstance(grant, TokenGrant) else None,
                     sub if isinstance(sub, str) else None)


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


def _tagged(payload: dict[str, Any], sub: str | None) -> dict[str, Any]:
    if sub is not None:
        payload.setdefault("sub_account_id", sub)
    return payload


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
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._sinks: dict[EventSink, EventScope] = {}
        self._task: asyncio.Task[None] | None = None
        self._attribute: Attributor | None = None
        self.last_seq = 0

    def attribute_with(self, attributor: Attributor) -> None:
        """Name the sub-account of each order/trade event with ``attributor`` (the
        sub-account book); call before :meth:`start`."""
        self._attribute = attributor

    async def start(self, broker: Broker | None) -> None:
        """Read the last seq, register on ``broker`` and start the writer task."""
        self.last_seq = await self._journal.last_seq()
        add_listener = getattr(broker, "add_listener", None)  # some test fakes have none
        if callable(add_listener):
            add_listener(self.on_event)
        self._task = asyncio.create_task(self._run(), name="events-journal")

    def attach(self, sink: EventSink, scope: EventScope | None = None) -> None:
        """Push events to ``sink`` from now on, filtered by ``scope`` (default: derived
        from the session, :func:`session_scope`)."""
        self._sinks[sink] = scope if scope is not None else session_scope(sink)

    def detach(self, sink: EventSink) -> None:
        self._sinks.pop(sink, None)

    def on_event(self, event: BrokerEvent) -> None:
        """Broker listener: queue the event (never blocks, never raises to the broker)."""
        try:
            kind, account_key, payload = describe(event)
            sub = self._attribute(event) if self._attribute is not None else None
            text = json.dumps(_tagged(payload, sub), default=str)
            self._queue.put_nowait((kind, account_key, text, sub))
        except Exception:  # a bad event must not break the broker's other listeners
            log.exception("cannot journal broker event %r", event)

    async def flush(self) -> None:
        """Wait until every event queued so far is journaled and pushed."""
        await self._queue.join()

    async def replay(
        self, since_seq: int, limit: int, scope: EventScope | None = None
    ) -> list[Event]:
        """Journaled events after ``since_seq`` that ``scope`` admits (at most ``limit``),
        ascending."""
        scope = scope or EventScope()
        rows = await self._journal.events_since(
            since_seq, limit, accounts=scope.accounts, subs=scope.subs
        )
        return [event_from_row(r) for r in rows]

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
                seqs = await self._journal.append_events(
                    [(kind, account, text) for kind, account, text, _ in batch],
                    [sub for *_, sub in batch],
                )
            except Exception:  # I/O boundary: keep serving; these events cannot be replayed
                log.exception("events: journaling %d event(s) failed", len(batch))
                seqs = []
            for (kind, account_key, payload, sub), seq in zip(batch, seqs, strict=False):
                self._push(Event(event=kind, payload=json.loads(payload), seq=seq,
                                 account_key=account_key), sub)
            for _ in batch:
                self._queue.task_done()

    def _push(self, event: Event, sub: str | None) -> None:
        self.last_seq = max(self.last_seq, event.seq or 0)
        for sink, scope in list(self._sinks.items()):
            if not scope.admits(event.event, event.account_key, sub):
                continue
            try:
                sink.push_event(event)
            except Exception:  # one broken session must not stop the others
                log.exception("events: pushing seq %s failed", event.seq)
