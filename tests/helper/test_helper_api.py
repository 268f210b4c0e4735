"""Every public function of the helper against the real server on the simulator."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

import pandas as pd
import pytest
from helper_kit import TOKEN, Served

pytestmark = pytest.mark.e2e

PINGAN = "000001.XSHE"
STAR = "688001.XSHG"


def _next_day(served: Served) -> None:
    """Move to the next trading day: today's buys become closeable (T+1)."""
    served.host.run(served.clock.set(datetime(2026, 11, 25, 10, 0)))


def test_calls_before_configure_fail_clearly(bt: Any) -> None:
    with pytest.raises(RuntimeError, match="configure"):
        bt.get_account()
    with pytest.raises(RuntimeError, match="configure"):
        bt.get_data_client()


def test_configure_validates_and_is_keyword_only(bt: Any) -> None:
    with pytest.raises(TypeError):
        bt.configure("127.0.0.1", TOKEN, 58620)
    with pytest.raises(ValueError, match="tls_fingerprint"):
        bt.configure("127.0.0.1", TOKEN, tls_fingerprint="not-hex")
    with pytest.raises(ValueError):
        bt.configure("", TOKEN)


def test_account_and_empty_positions(connected: Any) -> None:
    account = connected.get_account()
    assert isinstance(account, connected.RemoteAccount)
    assert account.available_cash == 1_000_000.0
    assert account.total_value == 1_000_000.0
    assert connected.get_positions() == []


def test_market_order_and_reads(connected: Any) -> None:
    order_id = connected.order(PINGAN, 1000)
    assert isinstance(order_id, str) and order_id
    status = connected.get_order_status(order_id)
    assert status["order_id"] == order_id and status["status"] == "filled"
    assert connected.get_order_status("no-such-order") == {}

    orders = connected.get_orders()
    assert list(orders) == [order_id]
    placed = orders[order_id]
    assert isinstance(placed, connected.RemoteOrder)
    assert (placed.security, placed.amount, placed.filled, placed.is_buy) == (PINGAN, 1000, 1000, True)
    assert connected.get_orders(security="000001.SZ") == orders  # QMT form is normalised
    assert connected.get_orders(status="open") == {}
    assert connected.get_open_orders() == {}

    trades = connected.get_trades()
    (trade,) = trades.values()
    assert isinstance(trade, connected.RemoteTrade)
    assert (trade.order_id, trade.amount, trade.security) == (order_id, 1000, PINGAN)
    assert trade.price > 0 and trade.commission > 0
    assert list(connected.get_trades(order_id=order_id)) == list(trades)

    (position,) = connected.get_positions()
    assert isinstance(position, connected.RemotePosition)
    assert (position.security, position.amount, position.available) == (PINGAN, 1000, 0)
    assert position.frozen == 1000 and position.market == "XSHE"
    account = connected.get_account()
    assert account.available_cash < 1_000_000.0


def test_limit_order_open_orders_and_cancel(connected: Any) -> None:
    last = connected.get_last_price(PINGAN)
    order_id = connected.order(PINGAN, 200, price=round(last * 0.95, 2))
    open_orders = connected.get_open_orders()
    assert list(open_orders) == [order_id]
    for oid, item in open_orders.items():  # the shape the example strategy relies on
        assert item.order_id == oid and item.status in connected.OPEN_STATUSES
        assert item.amount == 200
    reply = connected.cancel_order(order_id)
    assert reply["value"] is True and reply["status"] == "canceled"
    assert connected.get_open_orders() == {}


def test_style_objects_and_price_rules(connected: Any) -> None:
    last = connected.get_last_price(PINGAN)
    limit = round(last * 0.96, 2)
    oid = connected.order(PINGAN, 100, connected.LimitOrderStyle(limit))
    assert connected.get_order_status(oid)["style"] == "limit"
    oid = connected.order(PINGAN, 100, style=connected.MarketOrderStyle(round(last * 1.01, 2)))
    assert connected.get_order_status(oid)["style"] == "market"
    oid = connected.order(PINGAN, 100, price=round(last * 1.01, 2), market=True)
    assert connected.get_order_status(oid)["style"] == "market"
    with pytest.raises(ValueError):
        connected.order(PINGAN, 100, market=False)
    with pytest.raises(NotImplementedError):
        connected.order(PINGAN, 100, side="short")
    assert connected.order(PINGAN, 0) == ""


def test_value_and_percent_orders_round_to_lots(connected: Any) -> None:
    last = connected.get_last_price(PINGAN)
    oid = connected.order_value(PINGAN, 10_000)
    assert connected.get_order_status(oid)["amount"] == int(10_000 / last) // 100 * 100
    oid = connected.order_percent(PINGAN, 0.01)  # 1 % of ~1,000,000
    assert connected.get_order_status(oid)["amount"] == int(10_000 / last) // 100 * 100
    star_last = connected.get_last_price(STAR)
    oid = connected.order_value(STAR, 301.5 * star_last)  # STAR: >= 200 then steps of 1
    assert connected.get_order_status(oid)["amount"] == 301
    assert connected.order_value(STAR, 150 * star_last) == ""  # below the 200-share minimum
    assert connected.order_value(PINGAN, 50 * last) == ""


def test_target_orders_buy_then_sell_closeable_only(connected: Any, served: Served) -> None:
    last = connected.get_last_price(PINGAN)
    oid = connected.order_target(PINGAN, 1000)
    assert connected.get_order_status(oid)["amount"] == 1000
    assert connected.order_target(PINGAN, 1000) == ""  # nothing to do
    assert connected.order_target(PINGAN, 0) == ""  # bought today: nothing closeable (T+1)

    _next_day(served)
    oid = connected.order_target(PINGAN, 750)  # sell 250 -> lot-rounded to 200
    status = connected.get_order_status(oid)
    assert (status["side"], status["amount"]) == ("SELL", 200)
    last = connected.get_last_price(PINGAN)  # today's price values the holding
    oid = connected.order_target_value(PINGAN, 500.5 * last)  # 800 held -> 500
    assert connected.get_order_status(oid)["amount"] == 300
    with pytest.raises(TypeError):
        connected.order_target_value(PINGAN, 1.0, value=2.0)
    oid = connected.order_target_percent(PINGAN, 0)
    status = connected.get_order_status(oid)
    assert status["side"] == "SELL"
    assert sum(p.amount for p in connected.get_positions()) == 0


def test_market_data(connected: Any) -> None:
    snapshot = connected.get_snapshot(PINGAN)
    assert snapshot["sid"] == PINGAN and snapshot["last_price"] > 0
    assert connected.get_last_price("000001.SZ") == snapshot["last_price"]

    days = connected.get_trade_days("2026-11-01", date(2026, 11, 10))
    assert days[0] == date(2026, 11, 2) and len(days) == 7
    assert all(isinstance(day, date) for day in days)

    frame = connected.get_price(PINGAN, end_date="2026-11-23", count=3, frequency="daily")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index[-1] == pd.Timestamp("2026-11-23")
    assert {"open", "close"} <= set(frame.columns)

    panel = connected.get_price(
        [PINGAN, "600000.XSHG"], end_date=datetime(2026, 11, 23), count=2, fields=["close"]
    )
    assert isinstance(panel.columns, pd.MultiIndex)
    assert set(panel.columns) == {("close", PINGAN), ("close", "600000.XSHG")}
    assert isinstance(panel.index, pd.DatetimeIndex)


def test_quiet_by_default_and_debug_prints(
    connected: Any, served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    # the in-process server logs through `logging`; silence it so only the helper could print
    logging.disable(logging.CRITICAL)
    try:
        capsys.readouterr()
        connected.get_account()
        connected.order(PINGAN, 100)
        captured = capsys.readouterr()
    finally:
        logging.disable(logging.NOTSET)
    assert captured.out == "" and captured.err == ""
    connected.configure("127.0.0.1", TOKEN, port=served.port, debug=True)
    connected.get_account()
    assert "broker.account" in capsys.readouterr().err
