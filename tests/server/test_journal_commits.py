"""Group commit of the journal: shared transactions, durability before the broker call,
failures reported to a whole batch, call order kept (real SQLite files)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import Order
from bullet_trade.server.journal import Journal, JournalClosed, JournalIdempotencyStore
from bullet_trade.server.journal.commits import GroupCommit

FP = '{"amount": 100}'
PLACEMENTS = 24


def _order(order_id: str) -> Order:
    return Order(
        order_id=order_id, account_key="main", security=parse_security("000001.XSHE"),
        side=Side.BUY, order_type=OrderType.MARKET, amount=100, status=OrderStatus.OPEN,
        raw_status=50, order_price=10.0, created_at=datetime(2026, 3, 18, 10, 0),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "rt" / "journal.sqlite3"


@pytest.fixture
async def journal(db: Path) -> Any:
    journal = Journal(db)
    await journal.open()
    yield journal
    await journal.close()


class DiskCheckingBroker:
    """Places orders only after checking, through its own read-only connection to the journal
    file, that the order's intent is already committed there."""

    def __init__(self, path: Path) -> None:
        self._reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.placed: list[str] = []

    async def place(self, key: str) -> Order:
        row = self._reader.execute(
            "SELECT state FROM intents WHERE account_key='main' AND idem_key=?", (key,)
        ).fetchone()
        assert row == ("pending",), f"intent {key} not on disk before the broker call"
        self.placed.append(key)
        await asyncio.sleep(0)
        return _order(f"o-{key}")

    def close(self) -> None:
        self._reader.close()


async def test_concurrent_placements_share_commits_and_intents_precede_the_broker(
    journal: Journal, db: Path
) -> None:
    store = JournalIdempotencyStore(journal)
    broker = DiskCheckingBroker(db)
    before = journal.commits
    keys = [f"k{i}" for i in range(PLACEMENTS)]
    results = await asyncio.gather(
        *(store.run(("main", key), FP, lambda key=key: broker.place(key)) for key in keys)
    )
    broker.close()
    assert [order.order_id for order, _ in results] == [f"o-{key}" for key in keys]
    assert not any(replayed for _, replayed in results)
    assert sorted(broker.placed) == sorted(keys)
    commits = journal.commits - before
    # one claim and one outcome per placement: 2 * PLACEMENTS commits if serialised
    assert commits <= 6, commits
    rows = await journal.intents()
    assert {row.idem_key: row.state for row in rows} == dict.fromkeys(keys, "submitted")


async def test_calls_keep_their_order_and_seq_increases(journal: Journal) -> None:
    calls = [journal.append_events([("order", "main", f'{{"i": {i}}}')]) for i in range(40)]
    seqs = [s for batch in await asyncio.gather(*calls) for s in batch]
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    rows = await journal.events_since(0, 100)
    assert [row.payload for row in rows] == [f'{{"i": {i}}}' for i in range(40)]
    assert journal.commits < 40
    # outcomes of one intent queued in one batch: the last one queued wins
    await journal.set_halt("main", "first")
    await asyncio.gather(journal.set_halt("main", "second"), journal.set_halt("main", None),
                         journal.set_halt("main", "third"))
    assert await journal.halts() == {"main": "third"}


async def test_a_failing_call_undoes_only_its_own_changes(journal: Journal) -> None:
    def bad(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO halts (account_key, reason, ts) VALUES ('x', 'bad', 0)")
        raise ValueError("bug in one call")

    results = await asyncio.gather(
        journal.set_halt("a", "one"), journal.transaction(bad), journal.set_halt("b", "two"),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None and isinstance(results[1], ValueError)
    assert await journal.halts() == {"a": "one", "b": "two"}


async def test_close_finishes_queued_calls_then_refuses(db: Path) -> None:
    journal = Journal(db)
    await journal.open()
    pending = [asyncio.ensure_future(journal.set_halt(f"a{i}", "r")) for i in range(10)]
    await asyncio.sleep(0)
    await journal.close()
    assert all(task.done() and task.exception() is None for task in pending)
    with pytest.raises(JournalClosed):
        await journal.set_halt("late", "r")
    journal = Journal(db)
    await journal.open()
    assert len(await journal.halts()) == 10
    await journal.close()


# ---------------------------------------------------------------- injected write failures


class FailingConnection(sqlite3.Connection):
    """A connection whose next ``COMMIT`` fails like a full disk when ``fail_commit`` is set."""

    fail_commit = False

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.fail_commit:
            self.fail_commit = False
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


@pytest.fixture
def failing(tmp_path: Path) -> Iterator[tuple[GroupCommit, FailingConnection]]:
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    conn = sqlite3.connect(tmp_path / "f.sqlite3", factory=FailingConnection,
                           isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (v INTEGER)")
    assert isinstance(conn, FailingConnection)
    yield GroupCommit(executor, lambda: conn), conn
    executor.shutdown(wait=True)
    conn.close()


def _insert(value: int) -> Any:
    return lambda db: db.execute("INSERT INTO t VALUES (?)", (value,)).rowcount


async def _batch_behind_a_held_one(commits: GroupCommit, calls: list[Any]) -> list[Any]:
    """Hold the worker in a first batch (the loop keeps running), queue ``calls`` meanwhile so
    they form the next batch, release; returns the outcomes of ``calls``."""
    release = threading.Event()
    first = asyncio.ensure_future(commits.run(lambda db: release.wait(5)))
    await asyncio.sleep(0.05)  # the worker is blocked: the loop is not
    queued = [asyncio.ensure_future(commits.run(call)) for call in calls]
    await asyncio.sleep(0)
    release.set()
    assert await first is True
    return list(await asyncio.gather(*queued, return_exceptions=True))


async def test_a_failed_commit_fails_every_caller_of_that_batch_only(
    failing: tuple[GroupCommit, FailingConnection],
) -> None:
    commits, conn = failing
    conn.fail_commit = False
    held = threading.Event()

    def arm(db: sqlite3.Connection) -> int:
        conn.fail_commit = True  # this batch's COMMIT will fail
        held.set()
        return 0

    outcomes = await _batch_behind_a_held_one(commits, [_insert(1), arm, _insert(2)])
    assert held.is_set() and commits.commits == 1  # only the held batch committed
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    assert await commits.run(_insert(3)) == 1  # the journal goes on with the next batch
    rows = await commits.run(lambda db: db.execute("SELECT v FROM t").fetchall())
    assert rows == [(3,)]


async def test_a_call_that_aborts_the_transaction_fails_the_whole_batch(
    failing: tuple[GroupCommit, FailingConnection],
) -> None:
    commits, _ = failing

    def aborts(db: sqlite3.Connection) -> None:
        db.execute("ROLLBACK")  # what SQLite does itself on some I/O errors
        raise sqlite3.OperationalError("disk I/O error")

    outcomes = await _batch_behind_a_held_one(commits, [_insert(1), aborts, _insert(2)])
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    assert await commits.run(lambda db: db.execute("SELECT v FROM t").fetchall()) == []
