"""Shanghai Stock Exchange (XSHG) trading calendar.

Sessions come from ``exchange_calendars`` (``XSHG``), which knows holidays only up to a fixed
bound (2026-12-31 for version 4.13) and refuses to build past it. Outside the library's range
the calendar falls back to Monday–Friday and logs ONE warning per calendar instance. A set of
extra holidays (e.g. loaded with :func:`load_holidays_file` once the exchange publishes the next
year's schedule) always takes precedence over both sources.

The library object is built once per process (module-level cache); ``TradingCalendar``
instances are cheap.

The calendar never reads the wall clock: callers pass ``end`` explicitly, or the constructor
receives a ``today`` callable (the composition root wires it to a ``Clock``).
"""

from __future__ import annotations

import bisect
import functools
import logging
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bullet_trade.errors import BadRequest

logger = logging.getLogger(__name__)

_LIBRARY_START = "2005-01-04"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class _LibrarySessions:
    """Sessions known to ``exchange_calendars``: a sorted tuple plus a set for lookups."""

    days: tuple[date, ...]
    day_set: frozenset[date]
    first: date
    last: date


@functools.lru_cache(maxsize=1)
def _library_sessions() -> _LibrarySessions:
    import exchange_calendars as xcals  # slow import: only when a calendar is first needed

    with warnings.catch_warnings():
        # the library trips pandas deprecation warnings internally; nothing we can act on
        warnings.simplefilter("ignore", DeprecationWarning)
        cal = xcals.get_calendar("XSHG", start=_LIBRARY_START)
    days = tuple(ts.date() for ts in cal.sessions)
    return _LibrarySessions(days, frozenset(days), days[0], days[-1])


def load_holidays_file(path: str | Path) -> set[date]:
    """Read extra holidays: one ``YYYY-MM-DD`` per line; blank lines and ``#`` comments ignored.

    Raises:
        ValueError: a line is not an ISO date (the message names the line number).
    """
    holidays: set[date] = set()
    text = Path(path).read_text(encoding="utf-8")
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            holidays.add(date.fromisoformat(line))
        except ValueError as exc:
            raise ValueError(f"{path}:{lineno}: {line!r} is not a YYYY-MM-DD date") from exc
    return holidays


class TradingCalendar:
    """Trading days of the Shanghai (and Shenzhen, identical) A-share market.

    Args:
        extra_holidays: dates that are never trading days, whatever the other sources say.
        today: returns "today" when ``trade_days`` gets no ``end``; defaults to
            ``date.today`` (the composition root should pass one derived from its Clock).
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        *,
        today: Callable[[], date] | None = None,
    ) -> None:
        self._lib = _library_sessions()
        self._extra = frozenset(extra_holidays)
        self._today = today or date.today
        self._warned = False

    @property
    def library_range(self) -> tuple[date, date]:
        """First and last session the exchange_calendars data covers."""
        return (self._lib.first, self._lib.last)

    def is_trading_day(self, d: date) -> bool:
        """Whether ``d`` is a trading day (weekday fallback outside the library range)."""
        if d in self._extra:
            return False
        if self._lib.first <= d <= self._lib.last:
            return d in self._lib.day_set
        self._warn_fallback(d)
        return d.weekday() < 5

    def trade_days(
        self, start: date | None = None, end: date | None = None, count: int | None = None
    ) -> list[date]:
        """Trading days, ascending.

        Args:
            start: first day (inclusive); default the first day the library knows.
            end: last day (inclusive); default ``today``.
            count: when given, the last ``count`` trading days up to ``end`` (and not before
                ``start`` if that is also given).

        Returns:
            An empty list when ``start > end``.

        Raises:
            BadRequest: ``count`` is not positive (field ``count``).
        """
        end = end if end is not None else self._today()
        if count is not None:
            if count <= 0:
                raise BadRequest(f"count must be positive, got {count}", field="count")
            days = self._last_n(end, count)
            return [d for d in days if start is None or d >= start]
        start = start if start is not None else self._lib.first
        return self._between(start, end)

    def previous_trading_day(self, d: date) -> date:
        """The last trading day strictly before ``d``."""
        d -= _ONE_DAY
        while not self.is_trading_day(d):
            d -= _ONE_DAY
        return d

    def next_trading_day(self, d: date) -> date:
        """The first trading day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_trading_day(d):
            d += _ONE_DAY
        return d

    def latest_trading_day(self, d: date) -> date:
        """``d`` itself when it is a trading day, else the previous trading day."""
        return d if self.is_trading_day(d) else self.previous_trading_day(d)

    # ----------------------------------------------------------------- internals

    def _between(self, start: date, end: date) -> list[date]:
        if start > end:
            return []
        lib = self._lib
        out: list[date] = []
        if start < lib.first:
            out.extend(self._weekdays(start, min(end, lib.first - _ONE_DAY)))
        lo = bisect.bisect_left(lib.days, max(start, lib.first))
        hi = bisect.bisect_right(lib.days, min(end, lib.last))
        out.extend(d for d in lib.days[lo:hi] if d not in self._extra)
        if end > lib.last:
            out.extend(self._weekdays(max(start, lib.last + _ONE_DAY), end))
        return out

    def _weekdays(self, start: date, end: date) -> list[date]:
        if start > end:
            return []
        self._warn_fallback(end if end > self._lib.last else start)
        days: list[date] = []
        d = start
        while d <= end:
            if d.weekday() < 5 and d not in self._extra:
                days.append(d)
            d += _ONE_DAY
        return days

    def _last_n(self, end: date, count: int) -> list[date]:
        span = timedelta(days=count * 2 + 20)
        while True:
            start = end - span
            days = self._between(start, end)
            if len(days) >= count or start < date(1990, 1, 1):
                return days[-count:]
            span *= 2

    def _warn_fallback(self, d: date) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "trading calendar: %s is outside the exchange_calendars range %s..%s; "
                "using Monday-Friday minus %d extra holidays",
                d,
                self._lib.first,
                self._lib.last,
                len(self._extra),
            )
