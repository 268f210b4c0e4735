"""The server's durable services, built on one journal: exactly-once placements, the
``events.v1`` hub, the kill switch and (attached by the action table) the sub-account book.
``QmtServer`` owns one :class:`Reliability`.

Lifecycle: :meth:`Reliability.open` before the backends start (so no broker event is
missed), :meth:`Reliability.reconcile` once they run (settle intents left by a crash), and
:meth:`Reliability.close` after they stopped.
"""

from __future__ import annotations

import logging

from bullet_trade.adapters.contracts import Broker
from bullet_trade.config import ServerConfig
from bullet_trade.server.events import EventHub
from bullet_trade.server.journal import JOURNAL_FILE, Journal, JournalIdempotencyStore
from bullet_trade.server.journal.halts import HaltRegistry
from bullet_trade.server.subaccounts.book import SubAccountBook

log = logging.getLogger("bullet_trade.server.journal")


class Reliability:
    """Journal-backed services of one server.

    Args:
        config: the server config (the journal lives at ``runtime_dir/journal.sqlite3``).
    """

    def __init__(self, config: ServerConfig) -> None:
        self.journal = Journal(config.runtime_dir / JOURNAL_FILE)
        self.events = EventHub(self.journal)
        self.placements = JournalIdempotencyStore(self.journal)
        self.halts = HaltRegistry(self.journal)
        self.book: SubAccountBook | None = None
        self._broker: Broker | None = None

    def attach_book(self, book: SubAccountBook) -> None:
        """Have ``book`` (sub-account orders and quotas) loaded, resynced and closed with the
        journal, and attribute ``events.v1`` events to sub-accounts with it; every reconcile
        of a placement settles its reservation (bound when found, released when never
        submitted), and the book's trading day (the server clock) dates the intents. Call
        before :meth:`open`."""
        self.book = book
        self.events.attribute_with(book.attribute)
        self.placements.settle_with(book.settle, today=book.today)

    async def open(self, broker: Broker | None) -> None:
        """Open the journal, load halts, start journaling ``broker``'s events."""
        await self.journal.open()
        self._broker = broker
        try:
            await self.halts.load()
            if self.book is not None:
                await self.book.load()
            if broker is not None:
                # looked up per call: some test fakes have no ``orders``/``order`` at all
                self.placements.bind(
                    lambda account: broker.orders(account),  # noqa: PLW0108
                    lambda account, order_id: broker.order(account, order_id),  # noqa: PLW0108
                )
            await self.events.start(broker)
        except BaseException:
            await self.journal.close()
            raise
        log.info("journal %s open (last_seq=%d)", self.journal.path, self.events.last_seq)

    async def reconcile(self) -> int:
        """Settle intents left unsettled by a crash; returns how many were settled."""
        settled = await self.placements.reconcile_all()
        if settled:
            log.info("reconciled %d unsettled order intent(s) at startup", settled)
        if self.book is not None and self._broker is not None:
            await self.book.resync(self._broker)  # quota usage after what happened meanwhile
        return settled

    async def close(self) -> None:
        """Flush events, stop in-flight submissions (they stay ``pending``), close the file."""
        await self.events.close()
        await self.placements.close()
        if self.book is not None:
            await self.book.close()
        await self.journal.close()
