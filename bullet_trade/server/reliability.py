"""The server's durable services, built on one journal: exactly-once placements, the
``events.v1`` hub and the kill switch. ``QmtServer`` owns one :class:`Reliability`.

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

    async def open(self, broker: Broker | None) -> None:
        """Open the journal, load halts, start journaling ``broker``'s events."""
        await self.journal.open()
        try:
            await self.halts.load()
            if broker is not None:
                # looked up per call: some test fakes have no ``orders`` at all
                self.placements.bind(lambda account: broker.orders(account))  # noqa: PLW0108
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
        return settled

    async def close(self) -> None:
        """Flush events, stop in-flight submissions (they stay ``pending``), close the file."""
        await self.events.close()
        await self.placements.close()
        await self.journal.close()
