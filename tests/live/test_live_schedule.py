from datetime import date, datetime, time, timedelta

import pytest
from live_fakes import is_trade_day

from bullet_trade.live.config import LiveConfig
from bullet_trade.live.dayplan import Hooks, build_day_plan, next_batch
from bullet_trade.live.schedule import (
    JobKind,
    JobRegistry,
    build_period,
    nth_trade_day,
    parse_time_expr,
    period_bounds,
)

SESSIONS = LiveConfig().sessions
DAY = date(2025, 4, 29)


def at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm, ss))


def trade_days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)
            if is_trade_day(start + timedelta(days=i))]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("open", at(9, 30)),
        ("close", at(15, 0)),
        ("09:31", at(9, 31)),
        ("14:50:30", at(14, 50, 30)),
        ("9:05", at(9, 5)),
        ("open-30m", at(9, 0)),
        ("close+10s", at(15, 0, 10)),
        ("CLOSE + 1h5m", at(16, 5)),
        ("open+90s", at(9, 31, 30)),
        ("before_open", at(9, 0)),
        ("after_close", at(15, 30)),
        ("morning", at(8, 0)),
        ("night", at(20, 0)),
    ],
)
def test_time_expressions(expr: str, expected: datetime) -> None:
    assert parse_time_expr(expr).moments(DAY, SESSIONS) == [expected]


def test_every_bar_is_each_session_minute() -> None:
    moments = parse_time_expr("every_bar").moments(DAY, SESSIONS)
    assert len(moments) == 240
    assert moments[0] == at(9, 30) and moments[119] == at(11, 29)
    assert moments[120] == at(13, 0) and moments[-1] == at(14, 59)
    assert parse_time_expr("every_minute") == parse_time_expr("every_bar")


@pytest.mark.parametrize("bad", ["", "25:00", "10:61", "9", "open-", "opening", "close+5x", "12:00:60"])
def test_invalid_expressions_raise(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_time_expr(bad)


def test_nth_trade_day_full_period_and_negative() -> None:
    week = trade_days(date(2025, 4, 28), date(2025, 5, 4))  # Thu/Fri are holidays
    assert week == [date(2025, 4, 28), date(2025, 4, 29), date(2025, 4, 30)]
    assert nth_trade_day(week, 1) == date(2025, 4, 28)
    assert nth_trade_day(week, -1) == date(2025, 4, 30)
    assert nth_trade_day(week, -3) == date(2025, 4, 28)
    assert nth_trade_day(week, 5) == date(2025, 4, 30)  # force: last day
    assert nth_trade_day(week, -5) == date(2025, 4, 28)
    assert nth_trade_day(week, 5, force=False) is None
    assert nth_trade_day([], 1) is None


def test_weekly_minus_one_fires_only_on_last_day_of_full_week() -> None:
    registry = JobRegistry()
    registry.add(lambda: None, JobKind.WEEKLY, "open", -1)
    registry.add(lambda: None, JobKind.MONTHLY, "open", 2)
    registry.add(lambda: None, JobKind.MONTHLY, "close", -1)
    fired: dict[date, list[int]] = {}
    for day in trade_days(date(2025, 4, 21), date(2025, 5, 16)):
        period = build_period(day, trade_days(*period_bounds(day)))
        plan = build_day_plan(day, registry, Hooks(), period, LiveConfig())
        fired[day] = [d.seq for d in plan]
    assert [d for d, seqs in fired.items() if 1 in seqs] == [
        date(2025, 4, 25), date(2025, 4, 30), date(2025, 5, 9), date(2025, 5, 16)]
    # May 2025: 1, 2, 5 are holidays -> 2nd trading day is the 7th
    assert [d for d, seqs in fired.items() if 2 in seqs] == [date(2025, 5, 7)]
    assert [d for d, seqs in fired.items() if 3 in seqs] == [date(2025, 4, 30)]


def test_period_spans_week_across_month_end() -> None:
    lo, hi = period_bounds(date(2025, 4, 30))
    assert lo == date(2025, 4, 1) and hi == date(2025, 5, 4)
    period = build_period(date(2025, 4, 30), trade_days(lo, hi))
    assert period.week[-1] == date(2025, 4, 30) and period.month[0] == date(2025, 4, 1)


def test_weekday_must_be_nonzero_int_and_callable_checked() -> None:
    registry = JobRegistry()
    for bad in (0, 1.5, True, "1"):
        with pytest.raises(ValueError):
            registry.add(lambda: None, JobKind.WEEKLY, "open", bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.add("nope", JobKind.DAILY, "open")  # type: ignore[arg-type]

    async def coro(context: object) -> None: ...

    with pytest.raises(TypeError):
        registry.add(coro, JobKind.DAILY, "open")


def test_day_plan_order_hooks_jobs_registration_order() -> None:
    def f() -> None: ...

    registry = JobRegistry()
    registry.add(f, JobKind.DAILY, "10:00")
    registry.add(f, JobKind.DAILY, "open")
    registry.add(f, JobKind.DAILY, "09:30:00")
    hooks = Hooks(before_trading_start=f, handle_data=f, after_trading_end=f)
    period = build_period(DAY, trade_days(*period_bounds(DAY)))
    plan = build_day_plan(DAY, registry, hooks, period, LiveConfig())
    first = next_batch(plan, None)
    assert [(d.when, d.name) for d in first] == [(at(9, 0), "before_trading_start")]
    batch = next_batch(plan, at(9, 0))
    assert [(d.name, d.seq) for d in batch] == [("f", 2), ("f", 3), ("handle_data", 0)]
    assert all(d.when == at(9, 30) for d in batch)
    assert next_batch(plan, at(15, 0))[0].name == "after_trading_end"
    assert next_batch(plan, at(15, 0))[0].when == at(15, 30)
    assert next_batch(plan, at(15, 30)) == []
