"""Time expressions, the job registry and the moments a trading day consists of.

Time expressions (case-insensitive):

* ``every_bar`` / ``every_minute``: every minute start inside the sessions
  (09:30 … 11:29, 13:00 … 14:59 by default);
* ``HH:MM`` or ``HH:MM:SS`` (seconds are honoured);
* ``open`` / ``close`` optionally followed by a signed offset made of ``<n>h``, ``<n>m``,
  ``<n>s`` tokens: ``open-30m``, ``close+10s``, ``close+1h5m``;
* aliases ``before_open`` (open-30m), ``after_close`` (close+30m), ``morning`` (08:00),
  ``night`` (20:00).

Weekly and monthly jobs fire on the N-th trading day of the *full* week or month (negative N
counts from the end), computed from the whole period's trade days, never truncated at today.
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

_ALIASES = {
    "every_minute": "every_bar",
    "before_open": "open-30m",
    "after_close": "close+30m",
    "morning": "08:00",
    "night": "20:00",
}
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_ANCHOR_RE = re.compile(r"^(open|close)(?:\s*([+-])\s*((?:\d+[hms])+))?$")
_TOKEN_RE = re.compile(r"(\d+)([hms])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """A parsed time expression.

    ``anchor`` is ``every_bar``, ``open``, ``close`` or ``clock``; ``offset`` is the signed
    offset from the anchor (``clock``: from midnight).
    """

    anchor: str
    offset: timedelta = timedelta(0)

    def moments(self, day: date, sessions: Sequence[tuple[time, time]]) -> list[datetime]:
        """The datetimes this expression designates on ``day``."""
        if self.anchor == "every_bar":
            return every_bar_moments(day, sessions)
        if self.anchor == "open":
            base = datetime.combine(day, sessions[0][0])
        elif self.anchor == "close":
            base = datetime.combine(day, sessions[-1][1])
        else:
            base = datetime.combine(day, time(0))
        return [base + self.offset]


def parse_time_expr(expr: str) -> TimeSpec:
    """Parse a time expression (see the module docstring).

    Raises:
        ValueError: the expression is not understood or names an impossible time.
    """
    if not isinstance(expr, str):
        raise ValueError(f"a time expression must be a string, got {expr!r}")
    text = re.sub(r"\s+", "", expr.strip().lower())
    text = _ALIASES.get(text, text)
    if text == "every_bar":
        return TimeSpec("every_bar")
    clock = _CLOCK_RE.match(text)
    if clock is not None:
        hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"invalid time of day {expr!r}")
        return TimeSpec("clock", timedelta(hours=hour, minutes=minute, seconds=second))
    anchored = _ANCHOR_RE.match(text)
    if anchored is None:
        raise ValueError(
            f"invalid time expression {expr!r} (use every_bar, HH:MM[:SS], open, close, "
            "open-30m, close+10s ...)"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _TOKEN_RE.findall(anchored[3] or ""))
    sign = -1 if anchored[2] == "-" else 1
    return TimeSpec(anchored[1], timedelta(seconds=sign * seconds))


def every_bar_moments(day: date, sessions: Sequence[tuple[time, time]]) -> list[datetime]:
    """Minute starts in ``[start, end)`` of each session."""
    out: list[datetime] = []
    for start, end in sessions:
        t = datetime.combine(day, start)
        stop = datetime.combine(day, end)
        while t < stop:
            out.append(t)
            t += timedelta(minutes=1)
    return out


def nth_trade_day(period_days: Sequence[date], n: int, *, force: bool = True) -> date | None:
    """The ``n``-th trading day (1-based; negative from the end) of a full period.

    Out of range: with ``force`` the last (``n > 0``) or first (``n < 0``) trading day of the
    period, else ``None``. ``None`` as well for a period with no trading day.
    """
    if not period_days:
        return None
    days = sorted(period_days)
    index = n - 1 if n > 0 else len(days) + n
    if 0 <= index < len(days):
        return days[index]
    if not force:
        return None
    return days[-1] if n > 0 else days[0]


class JobKind(str, enum.Enum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class Job:
    """A registered callback. ``seq`` is the registration order (ties run in that order)."""

    seq: int
    func: Callable[..., Any]
    kind: JobKind
    spec: TimeSpec
    expr: str
    nth: int = 0
    force: bool = True

    @property
    def name(self) -> str:
        return getattr(self.func, "__name__", repr(self.func))


def _check_nth(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise ValueError(f"{what} must be a non-zero integer (N-th trading day), got {value!r}")
    return value


def _check_callable(func: object) -> None:
    if not callable(func):
        raise TypeError(f"a scheduled job must be callable, got {func!r}")
    if inspect.iscoroutinefunction(func):
        raise TypeError("async def callbacks are not supported; use a plain def")


class JobRegistry:
    """Jobs in registration order. Changes made while running apply from the next moment."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._seq = 0

    def add(
        self, func: Callable[..., Any], kind: JobKind, expr: str, nth: int = 0, force: bool = True
    ) -> Job:
        """Register a job; raises ValueError/TypeError for a bad expression, N or callable."""
        _check_callable(func)
        spec = parse_time_expr(expr)
        if kind is not JobKind.DAILY:
            nth = _check_nth(nth, "weekday" if kind is JobKind.WEEKLY else "monthday")
        self._seq += 1
        job = Job(self._seq, func, kind, spec, expr, nth, force)
        self._jobs.append(job)
        return job

    def clear(self) -> None:
        self._jobs.clear()

    @property
    def jobs(self) -> tuple[Job, ...]:
        return tuple(self._jobs)


@dataclass(frozen=True, slots=True)
class Period:
    """The trade days of the full week and month around one day."""

    week: tuple[date, ...]
    month: tuple[date, ...]


def period_bounds(day: date) -> tuple[date, date]:
    """First and last calendar day covering both ``day``'s week (Mon–Sun) and month."""
    week_start = day - timedelta(days=day.weekday())
    week_end = week_start + timedelta(days=6)
    month_start = day.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    return min(week_start, month_start), max(week_end, next_month - timedelta(days=1))


def build_period(day: date, trade_days: Sequence[date]) -> Period:
    """Split ``trade_days`` (covering :func:`period_bounds`) into ``day``'s week and month."""
    week_start = day - timedelta(days=day.weekday())
    week = tuple(d for d in trade_days if week_start <= d <= week_start + timedelta(days=6))
    month = tuple(d for d in trade_days if (d.year, d.month) == (day.year, day.month))
    return Period(week, month)


def job_fires_on(job: Job, day: date, period: Period) -> bool:
    """Whether ``job`` runs on trading day ``day``."""
    if job.kind is JobKind.DAILY:
        return True
    days = period.week if job.kind is JobKind.WEEKLY else period.month
    return nth_trade_day(days, job.nth, force=job.force) == day
