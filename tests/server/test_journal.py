"""The durable journal and the journal-backed idempotency store (real SQLite files)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest

from bullet_trade.errors import (
    BackendUnavailable,
    IdempotencyConflict,
    OrderRejected,
    SubmitUnknown,
)
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import Order
from bullet_trade.server.journal import Journal, JournalIdempotencyStore
from bullet_trade.server.journal.codec import order_from_json, order_to_json, remark_tag
from bullet_trade.server.journal.db import UNKNOWN, IntentRow

FP = '{"amount": 100}'


def _order(order_id: str, *, key: str | None = None, remark: str = "") -> Order:
    return Order(
        order_id=order_id, account_key="main", security=parse_security("000001.XSHE"),
        side=Side.BUY, order_type=OrderType.LIMIT, amount=100, status=OrderStatus.OPEN,
        raw_status=50, order_price=10.0, created_at=datetime(2026, 3, 18, 10, 0),
        remark=remark, idempotency_key=key,
    )


class Broker:
    """Orders source of the reconciler."""

    def __init__(self) -> None:
        self.rows: list[Order] = []
        self.calls = 0

    async def orders(self, account: str) -> list[Order]:
        self.calls += 1
        return list(self.rows)


async def _open(path: Path, broker: Broker | None = None) -> tuple[Journal, JournalIdempotencyStore]:
    journal = Journal(path)
    await journal.open()
    return journal, JournalIdempotencyStore(journal, broker.orders if broker else None)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "rt" / "journal.sqlite3"


async def test_journal_is_wal_and_events_keep_their_seq_across_reopen(db: Path) -> None:
    journal = Journal(db)
    await journal.open()
    assert await journal.append_events([("order", "main", "{}"), ("trade", "main", "{}")]) == [1, 2]
    await journal.close()
    mode = sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    journal = Journal(db)
    await journal.open()
    assert await journal.last_seq() == 2
    assert await journal.append_events([("account", None, '{"a": 1}')]) == [3]
    rows = await journal.events_since(1, 10)
    assert [(r.seq, r.kind, r.account_key) for r in rows] == [(2, "trade", "main"), (3, "account", None)]
    await journal.set_halt("main", "panic")
    await journal.close()
    journal = Journal(db)
    await journal.open()
    assert await journal.halts() == {"main": "panic"}
    await journal.close()


async def test_order_codec_round_trips() -> None:
    order = _order("7", key="k", remark="bt123 x")
    assert order_from_json(order_to_json(order)) == order


async def test_same_key_same_result_submitted_once_also_after_restart(db: Path) -> None:
    journal, store = await _open(db)
    calls = 0

    async def submit() -> Order:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return _order("1")

    first, second = await asyncio.gather(
        store.run(("main", "k1"), FP, submit), store.run(("main", "k1"), FP, submit)
    )
    assert calls == 1 and first[0] == second[0] == _order("1")
    assert sorted([first[1], second[1]]) == [False, True]
    with pytest.raises(IdempotencyConflict):
        await store.run(("main", "k1"), '{"amount": 200}', submit)
    await journal.close()
    journal, store = await _open(db)  # a new process on the same file
    order, replayed = await store.run(("main", "k1"), FP, submit)
    assert (order, replayed, calls) == (_order("1"), True, 1)
    assert await store.recorded(("main", "k1")) == _order("1")
    assert await store.recorded(("main", "nope")) is None
    await journal.close()


async def test_rejection_is_recorded_and_replayed(db: Path) -> None:
    journal, store = await _open(db)

    async def reject() -> Order:
        raise OrderRejected("no cash", reason="insufficient_cash")

    for _ in range(2):
        with pytest.raises(OrderRejected) as caught:
            await store.run(("main", "k2"), FP, reject)
        assert caught.value.reason == "insufficient_cash"
    await journal.close()
    journal, store = await _open(db)
    with pytest.raises(OrderRejected):
        await store.run(("main", "k2"), FP, reject)
    await journal.close()


async def test_crash_between_intent_and_ack_is_reconciled(db: Path) -> None:
    """The intent is durable before the broker call; a new process settles it by remark."""
    broker = Broker()
    journal, store = await _open(db, broker)
    reached = asyncio.Event()
    tag_a, tag_b = remark_tag("main", "ka"), remark_tag("main", "kb")

    async def reaches_broker_then_hangs() -> Order:
        broker.rows.append(_order("9", remark=f"{tag_a} user"))
        reached.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    started_b = asyncio.Event()

    async def hangs_before_broker() -> Order:
        started_b.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task_a = asyncio.create_task(store.run(("main", "ka"), FP, reaches_broker_then_hangs, tag=tag_a))
    task_b = asyncio.create_task(store.run(("main", "kb"), FP, hangs_before_broker, tag=tag_b))
    await reached.wait()
    await started_b.wait()
    await store.close()  # "crash": nothing recorded after the intents
    await journal.close()
    for task in (task_a, task_b):
        with pytest.raises(SubmitUnknown):
            await task
    journal, store = await _open(db, broker)
    assert await store.reconcile_all() == 2
    order, replayed = await store.run(("main", "ka"), FP, hangs_before_broker, tag=tag_a)
    assert order.order_id == "9" and replayed
    with pytest.raises(OrderRejected) as caught:
        await store.run(("main", "kb"), FP, hangs_before_broker, tag=tag_b)
    assert caught.value.reason == "not_submitted"
    await journal.close()


async def test_unexpected_backend_failure_is_unknown_then_reconciled_on_retry(db: Path) -> None:
    broker = Broker()
    journal, store = await _open(db, broker)

    async def explode() -> Order:
        broker.rows.append(_order("5", key="k3"))
        raise RuntimeError("socket reset")

    with pytest.raises(SubmitUnknown):
        await store.run(("main", "k3"), FP, explode)
    order, replayed = await store.run(("main", "k3"), FP, explode)
    assert order.order_id == "5" and replayed and len(broker.rows) == 1
    await journal.close()


# ---------------------------------------------------------------- later trading day (6)


def _stale(key: str, *, order_id: str | None = None, day: str | None = "2026-03-17",
           created_at: float = 0.0) -> IntentRow:
    return IntentRow(
        account_key="main", idem_key=key, sub_account=None, fingerprint=FP,
        remark_tag=remark_tag("main", key), fields=FP, state=UNKNOWN, order_id=order_id,
        result=None, created_at=created_at, updated_at=created_at, trading_day=day,
    )


async def test_an_earlier_days_intent_missing_today_is_never_declared_not_submitted(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """broker.orders() lists today's orders only: yesterday's intent missing from them may
    exist (filled); it stays unknown with a manual-review WARNING, never not_submitted."""
    broker = Broker()
    journal = Journal(db)
    await journal.open()
    known = _order("7", key="kid")
    lookups: list[tuple[str, str]] = []

    async def lookup(account: str, order_id: str) -> Order | None:
        lookups.append((account, order_id))
        return known if order_id == "7" else None

    store = JournalIdempotencyStore(journal, broker.orders, lookup=lookup,
                                    today=lambda: date(2026, 3, 18))
    await journal.claim_intent(_stale("k-old"))
    await journal.claim_intent(_stale("k-legacy", day=None, created_at=1.0))  # 1970, old file
    await journal.claim_intent(_stale("kid", order_id="7"))
    await journal.claim_intent(_stale("k-today", day="2026-03-18"))
    with caplog.at_level("WARNING", logger="bullet_trade.server.orders"):
        for key in ("k-old", "k-legacy"):
            with pytest.raises(SubmitUnknown):
                await store.run(("main", key), FP, _unreachable)
            assert await store.recorded(("main", key)) is None
    assert "review it manually" in caplog.text
    for key in ("k-old", "k-legacy"):
        row = await journal.intent("main", key)
        assert row is not None and row.state == UNKNOWN  # not settled as not_submitted
    order, replayed = await store.run(("main", "kid"), FP, _unreachable)  # found by its id
    assert order.order_id == "7" and replayed and lookups == [("main", "7")]
    with pytest.raises(OrderRejected) as caught:  # today's: the broker's list is complete
        await store.run(("main", "k-today"), FP, _unreachable)
    assert caught.value.reason == "not_submitted"
    await journal.close()


async def test_intents_record_the_servers_trading_day(db: Path) -> None:
    journal = Journal(db)
    await journal.open()
    store = JournalIdempotencyStore(journal, today=lambda: date(2026, 3, 18))

    async def submit() -> Order:
        return _order("1")

    await store.run(("main", "k"), FP, submit)
    row = await journal.intent("main", "k")
    assert row is not None and row.trading_day == "2026-03-18"
    await journal.close()


# ---------------------------------------------------------------- recorded() is read-only (9)


async def test_recorded_never_resurrects_an_intent_deleted_meanwhile(db: Path) -> None:
    """recorded() read a pending row, then the intent was deleted (BackendUnavailable path):
    no phantom row is inserted, and a legitimate retry submits normally."""
    broker = Broker()
    journal, store = await _open(db, broker)
    await journal.claim_intent(_stale("k", day=None, created_at=journal.now()))
    read = journal.intent

    async def read_then_deleted(account: str, key: str) -> IntentRow | None:
        row = await read(account, key)
        await journal.forget_intent(account, key)
        return row

    journal.intent = read_then_deleted  # type: ignore[method-assign]
    assert await store.recorded(("main", "k")) is None
    journal.intent = read  # type: ignore[method-assign]
    assert await journal.intent("main", "k") is None  # nothing inserted
    assert await store.recorded(("main", "never")) is None
    assert await journal.intent("main", "never") is None

    async def submit() -> Order:
        return _order("3", key="k")

    order, replayed = await store.run(("main", "k"), FP, submit)
    assert order.order_id == "3" and not replayed
    await journal.close()


async def test_recorded_joins_a_submission_in_flight_without_claiming(db: Path) -> None:
    journal, store = await _open(db, Broker())
    gate = asyncio.Event()

    async def refused() -> Order:
        await gate.wait()
        raise BackendUnavailable("down")

    placing = asyncio.create_task(store.run(("main", "k"), FP, refused))
    await asyncio.sleep(0.05)
    asking = asyncio.create_task(store.recorded(("main", "k")))
    await asyncio.sleep(0)
    gate.set()
    with pytest.raises(BackendUnavailable):
        await placing
    assert await asking is None
    assert await journal.intent("main", "k") is None  # refused: gone, not resurrected
    await journal.close()


async def _unreachable() -> Order:
    raise AssertionError("a journaled intent is never submitted again")
