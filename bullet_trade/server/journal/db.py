"""The durable order journal: one SQLite file in WAL mode, written by one worker thread.

Contract:

* Every call is ``async`` and runs on the journal's single worker thread, so the event loop
  never blocks on disk I/O and there is exactly one writer.
* ``PRAGMA journal_mode=WAL; synchronous=FULL``: a call that returned has been fsynced; a
  crash (even SIGKILL) loses nothing that a caller was told about.
* Calls are group-committed (:mod:`.commits`): the calls made while a transaction commits
  share the next one (one fsync), run in call order; a failed commit fails all of them.
* Tables: ``intents`` (one row per ``(account_key, idem_key)``; state ``pending`` →
  ``submitted`` | ``rejected`` | ``unknown``, later ``settled`` by the reconciler),
  ``events`` (``seq INTEGER PRIMARY KEY AUTOINCREMENT``: strictly increasing, never reused,
  survives restarts; ``sub_account`` names the sub-account an order/trade event belongs
  to), ``halts`` (the kill switch per account), ``sub_orders`` and ``sub_fills`` (orders
  placed under a virtual sub-account and their fills' fees, see :mod:`.suborders`).
* After :meth:`Journal.close` every call raises :class:`JournalClosed`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bullet_trade.server.journal.commits import GroupCommit
from bullet_trade.server.journal.suborders import SUB_ORDERS_SCHEMA

T = TypeVar("T")

#: Intent states.
PENDING = "pending"
SUBMITTED = "submitted"
REJECTED = "rejected"
UNKNOWN = "unknown"
SETTLED = "settled"
UNSETTLED_STATES = (PENDING, UNKNOWN)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    account_key TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    sub_account TEXT,
    fingerprint TEXT NOT NULL,
    remark_tag TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL,
    order_id TEXT,
    result TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    trading_day TEXT,
    PRIMARY KEY (account_key, idem_key)
);
CREATE INDEX IF NOT EXISTS intents_state ON intents(state);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    account_key TEXT,
    payload TEXT NOT NULL,
    ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS halts (
    account_key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    ts REAL NOT NULL
);
""" + SUB_ORDERS_SCHEMA

_INTENT_COLUMNS = (
    "account_key, idem_key, sub_account, fingerprint, remark_tag, fields, state, order_id, "
    "result, created_at, updated_at, trading_day"
)


class JournalClosed(RuntimeError):
    """The journal is not open (never opened, or closed)."""


@dataclass(frozen=True, slots=True)
class IntentRow:
    """One ``intents`` row. ``result`` is JSON text (an order or an error), or ``None``."""

    account_key: str
    idem_key: str
    sub_account: str | None
    fingerprint: str
    remark_tag: str
    fields: str
    state: str
    order_id: str | None
    result: str | None
    created_at: float
    updated_at: float
    #: The server's trading day (ISO date) when the intent was created; ``None`` in rows
    #: written by an older version (then ``created_at`` tells the day).
    trading_day: str | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One ``events`` row (``payload`` is JSON text)."""

    seq: int
    kind: str
    account_key: str | None
    payload: str
    ts: float
    sub_account: str | None = None


class Journal:
    """Async facade over the SQLite journal file at ``path``.

    Args:
        path: the database file (its directory is created on :meth:`open`).
        clock: wall-clock seconds for timestamps (tests).
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._commits: GroupCommit | None = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def commits(self) -> int:
        """Transactions committed since :meth:`open` (0 when closed)."""
        return self._commits.commits if self._commits is not None else 0

    async def open(self) -> None:
        """Create the directory, the file and the schema. No-op when already open."""
        if self._executor is not None:
            return
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="bt-journal"
        )
        try:
            self._db = await self._raw(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._commits = GroupCommit(self._executor, self._connection)

    def _connection(self) -> sqlite3.Connection:
        db = self._db
        if db is None:
            raise JournalClosed(f"journal {self.path} is closed")
        return db

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        _add_missing_columns(db)
        return db

    async def close(self) -> None:
        """Finish the calls already made, close the file and stop the worker thread
        (idempotent)."""
        executor, db, commits = self._executor, self._db, self._commits
        self._executor = self._commits = None
        if executor is None:
            return
        if commits is not None:
            await commits.drain()
        self._db = None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(executor, db.close)
        await asyncio.to_thread(executor.shutdown, True)

    async def _raw(self, func: Callable[[], T]) -> T:
        if self._executor is None:
            raise JournalClosed(f"journal {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, func)

    async def transaction(self, func: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``func(db)`` on the worker thread inside a (fsynced) transaction, possibly
        shared with other calls (see :mod:`.commits`); for the table modules of this package.
        Returns once that transaction committed; ``func``'s own exception rolls back only
        its own changes."""
        return await self._call(func)

    async def _call(self, func: Callable[[sqlite3.Connection], T]) -> T:
        commits = self._commits
        if commits is None:
            raise JournalClosed(f"journal {self.path} is not open")
        return await commits.run(func)

    # ------------------------------------------------------------------ intents

    async def claim_intent(self, row: IntentRow) -> IntentRow | None:
        """Insert ``row`` unless its ``(account_key, idem_key)`` exists.

        Returns:
            ``None`` when inserted (the caller owns the submission), else the existing row.
        """

        def work(db: sqlite3.Connection) -> IntentRow | None:
            cursor = db.execute(
                f"INSERT INTO intents ({_INTENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (account_key, idem_key) DO NOTHING",
                (
                    row.account_key, row.idem_key, row.sub_account, row.fingerprint,
                    row.remark_tag, row.fields, row.state, row.order_id, row.result,
                    row.created_at, row.updated_at, row.trading_day,
                ),
            )
            if cursor.rowcount == 1:
                return None
            return _select_intent(db, row.account_key, row.idem_key)

        return await self._call(work)

    async def settle_intent(
        self, account_key: str, idem_key: str, state: str, order_id: str | None, result: str | None
    ) -> None:
        """Record the outcome of an intent."""
        now = self._clock()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE intents SET state=?, order_id=?, result=?, updated_at=? "
                "WHERE account_key=? AND idem_key=?",
                (state, order_id, result, now, account_key, idem_key),
            )

        await self._call(work)

    async def forget_intent(self, account_key: str, idem_key: str) -> None:
        """Delete an intent (nothing reached the broker; a retry may submit)."""

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM intents WHERE account_key=? AND idem_key=?", (account_key, idem_key)
            )

        await self._call(work)

    async def intent(self, account_key: str, idem_key: str) -> IntentRow | None:
        return await self._call(lambda db: _select_intent(db, account_key, idem_key))

    async def intents(
        self, *, states: tuple[str, ...] | None = None, sub_account: str | None = None
    ) -> list[IntentRow]:
        """Intents filtered by state and/or sub-account, oldest first."""
        clauses: list[str] = []
        args: list[Any] = []
        if states is not None:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        if sub_account is not None:
            clauses.append("sub_account = ?")
            args.append(sub_account)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {_INTENT_COLUMNS} FROM intents{where} ORDER BY created_at"

        def work(db: sqlite3.Connection) -> list[IntentRow]:
            return [IntentRow(*r) for r in db.execute(sql, args).fetchall()]

        return await self._call(work)

    # ------------------------------------------------------------------ events

    async def append_events(
        self,
        events: list[tuple[str, str | None, str]],
        subs: list[str | None] | None = None,
    ) -> list[int]:
        """Append ``(kind, account_key, payload_json)`` rows in order; returns their seqs.
        ``subs`` (same length) attributes each event to a sub-account (``None``: none)."""
        now = self._clock()
        owners = subs if subs is not None else [None] * len(events)

        def work(db: sqlite3.Connection) -> list[int]:
            seqs: list[int] = []
            for (kind, account_key, payload), sub in zip(events, owners, strict=True):
                cursor = db.execute(
                    "INSERT INTO events (kind, account_key, payload, ts, sub_account) "
                    "VALUES (?,?,?,?,?)",
                    (kind, account_key, payload, now, sub),
                )
                seqs.append(int(cursor.lastrowid or 0))
            return seqs

        return await self._call(work)

    async def events_since(
        self,
        since_seq: int,
        limit: int,
        *,
        accounts: frozenset[str] | None = None,
        subs: frozenset[str] | None = None,
    ) -> list[EventRow]:
        """Up to ``limit`` events with ``seq > since_seq``, ascending.

        Filters (``None``: no filter): ``accounts`` keeps events of those accounts and events
        of no account; ``subs`` keeps only ``order``/``trade`` events attributed to one of
        those sub-accounts plus ``backend`` events (the ``limit`` counts kept rows only).
        """
        where: list[str] = ["seq > ?"]
        args: list[object] = [since_seq]
        if accounts is not None:
            where.append(f"(account_key IS NULL OR account_key IN ({_marks(accounts)}))")
            args.extend(sorted(accounts))
        if subs is not None:
            where.append(f"(kind = 'backend' OR (kind IN ('order', 'trade') AND sub_account "
                         f"IN ({_marks(subs)})))")
            args.extend(sorted(subs))
        sql = (f"SELECT seq, kind, account_key, payload, ts, sub_account FROM events WHERE "
               f"{' AND '.join(where)} ORDER BY seq LIMIT ?")

        def work(db: sqlite3.Connection) -> list[EventRow]:
            return [EventRow(*r) for r in db.execute(sql, (*args, limit)).fetchall()]

        return await self._call(work)

    async def last_seq(self) -> int:
        """The highest seq ever handed out (0 when none); AUTOINCREMENT never reuses one."""

        def work(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='events'").fetchone()
            return int(row[0]) if row else 0

        return await self._call(work)

    # ------------------------------------------------------------------ halts

    async def set_halt(self, account_key: str, reason: str | None) -> None:
        """Halt ``account_key`` (with ``reason``) or, with ``None``, resume it."""
        now = self._clock()

        def work(db: sqlite3.Connection) -> None:
            if reason is None:
                db.execute("DELETE FROM halts WHERE account_key=?", (account_key,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO halts (account_key, reason, ts) VALUES (?,?,?)",
                    (account_key, reason, now),
                )

        await self._call(work)

    async def halts(self) -> dict[str, str]:
        """Halted accounts and their reasons."""

        def work(db: sqlite3.Connection) -> dict[str, str]:
            return {k: r for k, r in db.execute("SELECT account_key, reason FROM halts")}

        return await self._call(work)

    def now(self) -> float:
        return self._clock()


def _marks(values: frozenset[str]) -> str:
    return ",".join("?" * len(values)) if values else "NULL"


#: Columns added after a table was first created: ``(table, column, declaration)``.
_ADDED_COLUMNS = (("events", "sub_account", "TEXT"), ("intents", "trading_day", "TEXT"))


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a journal written by an older version up to the current schema."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def _select_intent(db: sqlite3.Connection, account_key: str, idem_key: str) -> IntentRow | None:
    row = db.execute(
        f"SELECT {_INTENT_COLUMNS} FROM intents WHERE account_key=? AND idem_key=?",
        (account_key, idem_key),
    ).fetchone()
    return IntentRow(*row) if row else None
