from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bullet_trade.errors import BadRequest
from bullet_trade.model.calendar import TradingCalendar, load_holidays_file


@pytest.fixture
def cal() -> TradingCalendar:
    return TradingCalendar()


def test_known_2026_days(cal: TradingCalendar) -> None:
    assert not cal.is_trading_day(date(2026, 10, 1))  # National Day
    assert cal.is_trading_day(date(2026, 11, 24))
    assert not cal.is_trading_day(date(2026, 11, 28))  # Saturday


def test_national_day_gap(cal: TradingCalendar) -> None:
    days = cal.trade_days(date(2026, 9, 28), date(2026, 10, 9))
    assert days == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    assert cal.next_trading_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.previous_trading_day(date(2026, 10, 8)) == date(2026, 9, 30)


def test_2027_falls_back_to_weekdays(cal: TradingCalendar) -> None:
    assert cal.is_trading_day(date(2027, 3, 10))  # Wednesday
    assert not cal.is_trading_day(date(2027, 3, 13))  # Saturday
    assert cal.next_trading_day(date(2027, 3, 12)) == date(2027, 3, 15)
    assert cal.previous_trading_day(date(2027, 3, 15)) == date(2027, 3, 12)
    assert cal.trade_days(date(2027, 3, 8), date(2027, 3, 14)) == [
        date(2027, 3, 8) + timedelta(days=i) for i in range(5)
    ]


def test_fallback_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = TradingCalendar()
    with caplog.at_level(logging.WARNING, logger="bullet_trade.model.calendar"):
        for i in range(30):
            cal.is_trading_day(date(2027, 1, 1) + timedelta(days=i))
        cal.trade_days(date(2027, 1, 1), date(2027, 12, 31))
        cal.trade_days(end=date(2028, 1, 1), count=3)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


def test_no_warning_inside_library_range(caplog: pytest.LogCaptureFixture) -> None:
    cal = TradingCalendar()
    with caplog.at_level(logging.WARNING, logger="bullet_trade.model.calendar"):
        cal.trade_days(date(2020, 1, 1), date(2026, 12, 31))
        cal.is_trading_day(date(2026, 12, 31))
    assert not caplog.records


def test_count_crosses_library_bound(cal: TradingCalendar) -> None:
    days = cal.trade_days(end=date(2027, 1, 6), count=6)
    assert days == [
        date(2026, 12, 30),
        date(2026, 12, 31),
        date(2027, 1, 1),  # weekday fallback does not know New Year: see extra holidays
        date(2027, 1, 4),
        date(2027, 1, 5),
        date(2027, 1, 6),
    ]


def test_extra_holidays_take_precedence() -> None:
    cal = TradingCalendar(extra_holidays={date(2027, 1, 1), date(2026, 11, 24)})
    assert not cal.is_trading_day(date(2027, 1, 1))
    assert not cal.is_trading_day(date(2026, 11, 24))
    assert cal.trade_days(end=date(2027, 1, 5), count=3) == [
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]
    assert date(2026, 11, 24) not in cal.trade_days(date(2026, 11, 20), date(2026, 11, 30))


def test_load_holidays_file(tmp_path: Path) -> None:
    path = tmp_path / "holidays.txt"
    path.write_text("# 2027 schedule\n2027-01-01\n\n2027-02-08  # spring festival\n")
    assert load_holidays_file(path) == {date(2027, 1, 1), date(2027, 2, 8)}
    path.write_text("2027-01-01\nnot a date\n")
    with pytest.raises(ValueError, match=":2:"):
        load_holidays_file(path)


def test_trade_days_arguments() -> None:
    cal = TradingCalendar(today=lambda: date(2026, 11, 25))
    assert cal.trade_days(count=2) == [date(2026, 11, 24), date(2026, 11, 25)]
    assert cal.trade_days(date(2026, 11, 30), date(2026, 11, 1)) == []
    assert cal.trade_days(date(2026, 11, 24), date(2026, 11, 25), count=5) == [
        date(2026, 11, 24),
        date(2026, 11, 25),
    ]
    with pytest.raises(BadRequest) as info:
        cal.trade_days(count=0)
    assert info.value.field == "count"


def test_latest_trading_day(cal: TradingCalendar) -> None:
    assert cal.latest_trading_day(date(2026, 11, 24)) == date(2026, 11, 24)
    assert cal.latest_trading_day(date(2026, 11, 29)) == date(2026, 11, 27)


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=date(2025, 6, 1), max_value=date(2027, 6, 1)),
    span=st.integers(min_value=0, max_value=120),
)
def test_trade_days_match_is_trading_day(start: date, span: int) -> None:
    cal = TradingCalendar(extra_holidays={date(2027, 1, 1)})
    end = start + timedelta(days=span)
    expected = [start + timedelta(days=i) for i in range(span + 1)]
    expected = [d for d in expected if cal.is_trading_day(d)]
    assert cal.trade_days(start, end) == expected
    if expected:
        assert cal.trade_days(end=end, count=len(expected)) == expected
