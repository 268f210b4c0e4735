"""The durable order journal (SQLite, WAL) and what is built on it: exactly-once placements,
reconciliation of ambiguous outcomes, the persistent event sequence and the kill switch.

The journal file is ``<runtime_dir>/journal.sqlite3``. See ``docs/reliability.md``.
"""

from __future__ import annotations

from bullet_trade.server.journal.db import EventRow, IntentRow, Journal, JournalClosed
from bullet_trade.server.journal.store import JournalIdempotencyStore

JOURNAL_FILE = "journal.sqlite3"

__all__ = [
    "JOURNAL_FILE",
    "EventRow",
    "IntentRow",
    "Journal",
    "JournalClosed",
    "JournalIdempotencyStore",
]
