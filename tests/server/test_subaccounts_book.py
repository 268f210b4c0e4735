"""SubAccountBook on a real journal: usage survives a restart, fills and cancels that happen
while the server is down are picked up by resync, and a journal failure refuses the order."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from handler_fakes import FakeBroker

from bullet_trade.config import SubAccountConfig
from bullet_trade.errors import BackendUnavailable, OrderRejected
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import PlaceOrder
from bullet_trade.server.journal import Journal
from bullet_trade.server.journal.db import PENDING, REJECTED, IntentRow
from bullet_trade.server.subaccounts import SubAccountBook

DEMO = SubAccountConfig(name="demo", parent="main", limit=5000.0)
DAY = date(2025, 1, 2)


def command(key: str, price: float = 10.0, amount: int = 100) -> PlaceOrder:
    return PlaceOrder(security=parse_security("000001.XSHE"), side=Side.BUY, amount=amount,
                      order_type=OrderType.LIMIT, price=price, idempotency_key=key)


async def open_book(path: Path, today: date = DAY) -> tuple[Journal, SubAccountBook]:
    journal = Journal(path)
    await journal.open()
    book = SubAccountBook({"demo": DEMO}, lambda: today, journal)
    await book.load()
    return journal, book


async def test_usage_and_fills_survive_a_restart_and_resync(tmp_path: Path) -> None:
    broker = FakeBroker()
    journal, book = await open_book(tmp_path / "j.sqlite3")
    broker.add_listener(book.on_event)
    for key in ("a", "b"):
        cmd = command(key)
        await book.reserve(DEMO, key, cmd, 10.0)
        await book.bind("main", key, await broker.place_order("main", cmd))
    broker.update("main", "o1", OrderStatus.FILLED, filled=100, avg_fill_price=10.2)
    await book.close()
    await journal.close()
    # while the server is down, o2 is canceled at the broker
    broker.update("main", "o2", OrderStatus.CANCELED)
    journal, book = await open_book(tmp_path / "j.sqlite3")
    assert book.used("demo") == 1020.0 + 1000.0  # as journaled: o2 still holds its reservation
    await book.resync(broker)
    assert book.used("demo") == 1020.0
    assert book.owner("main", "o1") == "demo"
    await journal.close()
    _, next_day = await open_book(tmp_path / "j.sqlite3", today=date(2025, 1, 3))
    assert next_day.used("demo") == 0.0  # a daily quota
    assert [r.order_id for r in next_day.rows("demo")] == ["o1", "o2"]  # positions keep them


async def test_unbound_reservations_follow_their_intent(tmp_path: Path) -> None:
    journal, book = await open_book(tmp_path / "j.sqlite3")
    for key, state in (("lost", REJECTED), ("hung", PENDING)):
        await journal.claim_intent(IntentRow(
            account_key="main", idem_key=key, sub_account="demo", fingerprint="f",
            remark_tag="t", fields="f", state=state, order_id=None, result=None,
            created_at=0.0, updated_at=0.0))
        await book.reserve(DEMO, key, command(key, amount=200), 10.0)
    await book.resync(FakeBroker())
    assert book.used("demo") == 2000.0  # the never-submitted one is released, the hung one kept
    with pytest.raises(OrderRejected):
        await book.reserve(DEMO, "big", command("big", amount=400), 10.0)
    await journal.close()


async def test_a_journal_that_cannot_write_refuses_and_reserves_nothing(tmp_path: Path) -> None:
    journal, book = await open_book(tmp_path / "j.sqlite3")
    await journal.close()
    with pytest.raises(BackendUnavailable):
        await book.reserve(DEMO, "k", command("k"), 10.0)
    assert book.used("demo") == 0.0 and book.rows("demo") == []
