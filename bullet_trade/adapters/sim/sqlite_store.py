"""Persistent account state of the simulated broker: SQLite (WAL) written by one thread.

:class:`SqliteStore` loads every account, position, order and today's trades at start, keeps
working on the in-memory objects exactly like :class:`~.state.MemoryStore`, and persists each
change handed to :meth:`SqliteStore.save`. ``save`` only turns the changed objects into row
tuples and queues them with a ticket (a counter of saves); a writer thread applies everything
queued in one transaction per batch, so the event loop never waits for the disk and concurrent
changes share one commit (group commit). Two modes:

* fast (``durable=False``): ``synchronous=NORMAL``, nobody waits for the writer; a clean
  :meth:`close` loses nothing, a crash may lose the last milliseconds of changes.
* durable (``durable=True``): ``synchronous=FULL``. :meth:`SqliteStore.commit` awaits the
  commit of every change saved before the call; :meth:`SqliteStore.after_commit` defers an
  action (delivering a broker event) until then, keeping the actions in order.
  :class:`~.durable.DurableSimBroker` uses both so that what it acknowledges survives a crash.

A failed write is rolled back and logged; in durable mode the store then stops acknowledging
(:meth:`commit` raises :class:`StoreWriteFailed`) because memory and disk no longer agree.

An account whose key is not in the database yet starts with ``initial_cash``; an existing one
keeps its persisted cash (``--sim-cash`` only seeds new accounts). Account ids and types come
from the configuration, not from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bullet_trade.adapters.sim.state import AccountState, MemoryStore, OrderState, PositionState
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import AccountConfig, Trade

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY, cash REAL NOT NULL, frozen_cash REAL NOT NULL,
    order_count INTEGER NOT NULL, trade_count INTEGER NOT NULL, trading_day TEXT);
CREATE TABLE IF NOT EXISTS positions (
    account_key TEXT NOT NULL, code TEXT NOT NULL, amount INTEGER NOT NULL,
    available INTEGER NOT NULL, frozen INTEGER NOT NULL, cost REAL NOT NULL,
    PRIMARY KEY (account_key, code));
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, account_key TEXT NOT NULL, seq INTEGER NOT NULL,
    code TEXT NOT NULL, side TEXT NOT NULL, order_type TEXT NOT NULL, amount INTEGER NOT NULL,
    price REAL NOT NULL, created_at TEXT NOT NULL, remark TEXT NOT NULL,
    strategy_name TEXT NOT NULL, idempotency_key TEXT, status TEXT NOT NULL,
    raw_status INTEGER NOT NULL, status_msg TEXT NOT NULL, filled INTEGER NOT NULL,
    turnover REAL NOT NULL, commission REAL NOT NULL, tax REAL NOT NULL,
    frozen_cash REAL NOT NULL, trading_day TEXT);
CREATE TABLE IF NOT EXISTS trades (
    trade_id TEXT PRIMARY KEY, account_key TEXT NOT NULL, order_id TEXT NOT NULL,
    code TEXT NOT NULL, side TEXT NOT NULL, amount INTEGER NOT NULL, price REAL NOT NULL,
    time TEXT NOT NULL, commission REAL NOT NULL, tax REAL NOT NULL, trading_day TEXT);
"""

_ORDER_COLUMNS = (
    "order_id, account_key, seq, code, side, order_type, amount, price, created_at, remark, "
    "strategy_name, idempotency_key, status, raw_status, status_msg, filled, turnover, "
    "commission, tax, frozen_cash, trading_day"
)
_TRADE_COLUMNS = (
    "trade_id, account_key, order_id, code, side, amount, price, time, commission, tax, "
    "trading_day"
)

Statement = tuple[str, Sequence[Any]]
#: A queued save: its ticket and its statements; ``None`` stops the writer.
_Item = tuple[int, list[Statement]] | None


class StoreWriteFailed(RuntimeError):
    """A durable store could not write a change: memory and disk disagree from then on, so
    nothing more is acknowledged (restart the server)."""


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _order_row(order: OrderState) -> tuple[Any, ...]:
    return (
        order.order_id, order.account_key, order.seq, order.security.jq, order.side.value,
        order.order_type.value, order.amount, order.price, order.created_at.isoformat(),
        order.remark, order.strategy_name, order.idempotency_key, order.status.value,
        order.raw_status, order.status_msg, order.filled, order.turnover, order.commission,
        order.tax, order.frozen_cash, _day(order.trading_day),
    )  # fmt: skip


def _order_from_row(row: sqlite3.Row) -> OrderState:
    return OrderState(
        order_id=row["order_id"], seq=row["seq"], account_key=row["account_key"],
        security=parse_security(row["code"]), side=Side(row["side"]),
        order_type=OrderType(row["order_type"]), amount=row["amount"], price=row["price"],
        created_at=datetime.fromisoformat(row["created_at"]), remark=row["remark"],
        strategy_name=row["strategy_name"], idempotency_key=row["idempotency_key"],
        status=OrderStatus(row["status"]), raw_status=row["raw_status"],
        status_msg=row["status_msg"], filled=row["filled"], turnover=row["turnover"],
        commission=row["commission"], tax=row["tax"], frozen_cash=row["frozen_cash"],
        trading_day=_parse_day(row["trading_day"]),
        # an exchange refusal keeps its reason as the status_msg prefix (see fills.reject)
        reason=row["status_msg"].partition(":")[0] if row["raw_status"] == 57 else None,
    )  # fmt: skip


def _trade_row(trade: Trade, day: date | None) -> tuple[Any, ...]:
    return (
        trade.trade_id, trade.account_key, trade.order_id, trade.security.jq, trade.side.value,
        trade.amount, trade.price, trade.time.isoformat(), trade.commission, trade.tax, _day(day),
    )  # fmt: skip


def _trade_from_row(row: sqlite3.Row) -> Trade:
    return Trade(
        trade_id=row["trade_id"], order_id=row["order_id"], account_key=row["account_key"],
        security=parse_security(row["code"]), side=Side(row["side"]), amount=row["amount"],
        price=row["price"], time=datetime.fromisoformat(row["time"]),
        commission=row["commission"], tax=row["tax"],
    )  # fmt: skip


def account_statements(
    account: AccountState, orders: Iterable[OrderState], trades: Iterable[Trade]
) -> list[Statement]:
    """The statements that make the database agree with ``account`` (whole account row and
    positions; the given orders upserted and the given trades inserted)."""
    key = account.key
    out: list[Statement] = [
        (
            "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                account.cash,
                account.frozen_cash,
                account.order_count,
                account.trade_count,
                _day(account.trading_day),
            ),
        ),
        ("DELETE FROM positions WHERE account_key = ?", (key,)),
    ]
    for security, p in account.positions.items():
        out.append(
            (
                "INSERT INTO positions VALUES (?, ?, ?, ?, ?, ?)",
                (key, security.jq, p.amount, p.available, p.frozen, p.cost),
            )
        )
    for order in orders:
        sql = f"INSERT OR REPLACE INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 21)})"
        out.append((sql, _order_row(order)))
    for trade in trades:
        sql = f"INSERT OR REPLACE INTO trades ({_TRADE_COLUMNS}) VALUES ({', '.join('?' * 11)})"
        out.append((sql, _trade_row(trade, account.trading_day)))
    return out


def _connect(path: Path, durable: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    return conn


class SqliteStore(MemoryStore):
    """Account states loaded from and persisted to SQLite at ``path`` (created if missing).

    Args:
        path: database file; its directory is created.
        accounts: the configured accounts (keys must be unique).
        initial_cash: starting cash of an account that is not in the database yet.
        durable: fsync every commit and offer :meth:`commit` / :meth:`after_commit` as
            durability barriers (see the module docstring); ``False`` is the fast mode.

    Raises:
        sqlite3.Error: the file cannot be opened or is not a database of ours.

    Threading: :meth:`save`, :meth:`commit` and :meth:`after_commit` are called from the
    event loop that runs the broker; only the writer thread touches the database afterwards.
    """

    def __init__(
        self,
        path: Path,
        accounts: Sequence[AccountConfig],
        initial_cash: float,
        *,
        durable: bool = False,
    ) -> None:
        super().__init__(accounts, initial_cash)
        self.path = path
        self.durable = durable
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, durable)
        try:
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            for account in self.all():
                self._load(conn, account)
        finally:
            conn.close()
        self._queue: queue.Queue[_Item] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._saved = 0  # ticket of the newest save (event loop)
        self._written = 0  # ticket of the newest batch the writer finished (writer thread)
        self._failure: str | None = None  # set by the writer when a batch could not be written
        self._loop: asyncio.AbstractEventLoop | None = None  # where the writer reports to
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._held: deque[tuple[int, Callable[[], object]]] = deque()
        self.transactions = 0  # batches committed so far (diagnostics: group commit)
        for account in self.all():  # new accounts get their row at once
            self.save(account)

    # ------------------------------------------------------------------ loading

    def _load(self, conn: sqlite3.Connection, account: AccountState) -> None:
        row = conn.execute("SELECT * FROM accounts WHERE key = ?", (account.key,)).fetchone()
        if row is None:
            return
        account.cash, account.frozen_cash = row["cash"], row["frozen_cash"]
        account.order_count, account.trade_count = row["order_count"], row["trade_count"]
        account.trading_day = _parse_day(row["trading_day"])
        for p in conn.execute("SELECT * FROM positions WHERE account_key = ?", (account.key,)):
            account.positions[parse_security(p["code"])] = PositionState(
                amount=p["amount"], available=p["available"], frozen=p["frozen"], cost=p["cost"]
            )
        query = "SELECT * FROM orders WHERE account_key = ? ORDER BY seq"
        for r in conn.execute(query, (account.key,)):
            order = _order_from_row(r)
            today = order.trading_day == account.trading_day or order.status.is_open
            (account.orders if today else account.past_orders)[order.order_id] = order
        query = "SELECT * FROM trades WHERE account_key = ? AND trading_day IS ? ORDER BY rowid"
        rows = conn.execute(query, (account.key, row["trading_day"]))
        account.trades.extend(_trade_from_row(r) for r in rows)

    # ------------------------------------------------------------------ writing

    def save(
        self,
        account: AccountState,
        orders: Iterable[OrderState] = (),
        trades: Iterable[Trade] = (),
    ) -> None:
        """Queue the rows of ``account`` and of the given orders / new trades for writing
        (starting the writer thread if it is not running, e.g. after :meth:`close`). Never
        waits for the disk; :meth:`commit` does."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._writer, name="sim-sqlite-writer", daemon=True
            )
            self._thread.start()
        self._remember_loop()
        self._saved += 1
        self._queue.put((self._saved, account_statements(account, orders, trades)))

    async def commit(self) -> None:
        """Return once every change saved before this call is committed (fsynced in durable
        mode); concurrent callers share the writer's commits. Never blocks the event loop.

        Raises:
            StoreWriteFailed: a write failed (this call's changes or an earlier one's).
        """
        target = self._saved
        if self._written >= target and self._failure is None:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append((target, future))
        self._wake()  # the writer may have finished before it knew this loop
        await future

    def after_commit(self, action: Callable[[], object]) -> None:
        """Run ``action`` once every change saved before this call is committed: at once when
        it already is and nothing is held, else later on the event loop, in call order.
        Without a running event loop it waits for the writer (blocking). An exception of
        ``action`` is logged, not raised."""
        if not self._held and self._written >= self._saved:
            _run(action)
            return
        self._held.append((self._saved, action))
        if self._remember_loop():
            self._wake()
        else:  # no loop to come back to: drain synchronously
            self.flush()
            self._wake()

    def flush(self) -> None:
        """Block until everything queued so far is committed."""
        self._queue.join()

    def close(self) -> None:
        """Flush, stop the writer thread and close its connection. Idempotent; a later
        :meth:`save` starts a new writer."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _remember_loop(self) -> bool:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def _wake(self) -> None:
        """On the event loop: run the held actions and settle the waiters that are due."""
        written, failure = self._written, self._failure
        while self._held and self._held[0][0] <= written:
            _run(self._held.popleft()[1])
        pending: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._waiters:
            if future.done():
                continue
            if failure is not None:
                future.set_exception(StoreWriteFailed(failure))
            elif target <= written:
                future.set_result(None)
            else:
                pending.append((target, future))
        self._waiters = pending

    def _notify(self) -> None:
        """Writer thread: tell the event loop (if any) that a batch is done."""
        loop = self._loop
        if loop is not None:  # a closed loop raises: nobody is waiting on it any more
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)

    def _writer(self) -> None:
        conn = _connect(self.path, self.durable)
        try:
            while self._write_batch(conn):
                pass
        finally:
            conn.close()

    def _write_batch(self, conn: sqlite3.Connection) -> bool:
        """Apply everything queued (at least one item) in one transaction; False at the end."""
        batch = [self._queue.get()]
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        saves = [item for item in batch if item is not None]
        try:
            conn.execute("BEGIN")
            for _, statements in saves:
                for sql, params in statements:
                    conn.execute(sql, params)
            conn.execute("COMMIT")
            self.transactions += 1
        except sqlite3.Error as exc:  # keep serving; the failure is logged with its traceback
            logger.exception("writing the simulated broker state to %s failed", self.path)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self.durable:
                self._failure = f"writing {self.path} failed: {exc}"
        finally:
            if saves:
                self._written = max(self._written, saves[-1][0])
            for _ in batch:
                self._queue.task_done()
            self._notify()
        return len(saves) == len(batch)


def _run(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # one listener's bug must not stop the others (as in the broker)
        logger.exception("deferred action after a sim state commit failed")
