"""JoinQuant data functions: ``get_price``, ``attribute_history``, ``history``,
``get_current_data``, ``get_trade_days``, ``get_security_info``.

Results never reach past ``context.current_dt`` (no future data). Data errors propagate as
:mod:`bullet_trade.errors` exceptions; they are not turned into empty frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS
from bullet_trade.jq.binding import current_session
from bullet_trade.jq.objects import SecurityUnitData
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import HistoryQuery, SecurityInfo

_FREQUENCIES = {
    "daily": "1d", "1d": "1d", "minute": "1m", "1m": "1m",
    "5m": "5m", "15m": "15m", "30m": "30m", "60m": "60m",
}
_FQ = {"pre": "pre", "post": "post", None: "none", "none": "none"}


def _frequency(value: str) -> str:
    try:
        return _FREQUENCIES[str(value).lower()]
    except KeyError:
        raise ValueError(f"unsupported frequency {value!r}; use {sorted(_FREQUENCIES)}") from None


def _as_datetime(value: Any, *, end: bool) -> datetime | None:
    """A date/datetime/string as a datetime; a bare date covers the whole day."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        stamp = cast(datetime, pd.Timestamp(text).to_pydatetime())
        return stamp.replace(hour=23, minute=59, second=59) if end and len(text) <= 10 else stamp
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end else time(0))
    raise TypeError(f"expected a date, datetime or string, got {value!r}")


def _fields(fields: Any) -> list[str]:
    if fields is None:
        return list(HISTORY_COLUMNS)
    return [fields] if isinstance(fields, str) else list(fields)


def _fetch(code: str, *, frequency: str, start: datetime | None, end: datetime,
           count: int | None, fq: Any, skip_paused: bool) -> pd.DataFrame:
    session = current_session()
    query = HistoryQuery(security=parse_security(code), frequency=frequency, start=start,
                         end=end, count=count, fq=_FQ.get(fq, "pre"))
    frame = session.call(session.data.history(query))
    frame = frame[frame.index <= pd.Timestamp(end)]
    if skip_paused and "paused" in frame.columns:
        frame = frame[frame["paused"] == 0]
    if count is not None:
        frame = frame.iloc[-count:] if count > 0 else frame.iloc[0:0]
    return cast(pd.DataFrame, frame)


def _select(frame: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    missing = [f for f in fields if f not in frame.columns and f != "avg"]
    if missing:
        raise ValueError(f"unknown fields {missing}; available: {list(frame.columns)}")
    out = frame.copy()
    if "avg" in fields:
        out["avg"] = (out["money"] / out["volume"]).where(out["volume"] > 0, out["close"])
    return cast(pd.DataFrame, out[fields])


def get_price(
    security: str | Sequence[str], start_date: Any = None, end_date: Any = None,
              frequency: str = "daily", fields: Any = None, skip_paused: bool = False,
              fq: str | None = "pre", count: int | None = None, panel: bool = True,
              fill_paused: bool = True) -> pd.DataFrame:
    """Bars of one or several securities, ending at ``end_date`` capped at ``current_dt``.

    One code: index ``time``, one column per field. Several codes: columns
    ``(field, code)`` (``panel=False``: a long table with ``time`` and ``code`` columns).

    Raises:
        ValueError: both ``start_date`` and ``count``, or neither; unknown field/frequency.
    """
    if (start_date is None) == (count is None):
        raise ValueError("give exactly one of start_date and count")
    now = current_session().context.current_dt
    end = min(_as_datetime(end_date, end=True) or now, now)
    start = _as_datetime(start_date, end=False)
    freq, wanted = _frequency(frequency), _fields(fields)
    codes = [security] if isinstance(security, str) else list(security)
    frames = {
        code: _select(_fetch(code, frequency=freq, start=start, end=end, count=count, fq=fq,
                       skip_paused=skip_paused), wanted)
        for code in codes
    }
    if isinstance(security, str):
        return frames[security]
    if not panel:
        long = [f.reset_index().assign(code=c) for c, f in frames.items()]
        return cast(pd.DataFrame, pd.concat(long, ignore_index=True)) if long else pd.DataFrame()
    wide = pd.concat(frames, axis=1).swaplevel(axis=1)
    return cast(pd.DataFrame, wide.sort_index(axis=1, level=0, sort_remaining=False))


def _recent(security: str, count: int, unit: str, fields: list[str], *, skip_paused: bool,
            fq: str | None) -> pd.DataFrame:
    now = current_session().context.current_dt
    freq = _frequency(unit)
    end = datetime.combine(now.date(), time(0)) - timedelta(seconds=1) if freq == "1d" else now
    frame = _fetch(security, frequency=freq, start=None, end=end, count=count, fq=fq,
                   skip_paused=skip_paused)
    return _select(frame, fields)


def attribute_history(
    security: str, count: int, unit: str = "1d", fields: Any = None,
                      skip_paused: bool = True, df: bool = True, fq: str | None = "pre"
                      ) -> pd.DataFrame | dict[str, np.ndarray]:
    """The last ``count`` bars before now: daily bars exclude today, minute bars include the
    current minute. ``df=False`` returns ``{field: ndarray}``."""
    frame = _recent(security, count, unit, _fields(fields), skip_paused=skip_paused, fq=fq)
    if df:
        return frame
    return {name: frame[name].to_numpy() for name in frame.columns}


def history(
    count: int, unit: str = "1d", field: str = "avg",
            security_list: Sequence[str] | None = None, df: bool = True,
            skip_paused: bool = False, fq: str | None = "pre"
            ) -> pd.DataFrame | dict[str, np.ndarray]:
    """One field for several securities: index time, one column per code (default: universe)."""
    codes = list(security_list) if security_list else current_session().settings.universe
    columns: dict[str, pd.Series] = {}
    for code in codes:
        columns[code] = _recent(code, count, unit, [field], skip_paused=skip_paused,
                                fq=fq)[field]
    table = cast(pd.DataFrame, pd.DataFrame(columns))
    if df:
        return table
    return {str(code): np.asarray(table[code]) for code in table.columns}


class CurrentData(Mapping[str, SecurityUnitData]):
    """``get_current_data()``: rows fetched on first access, cached for the current moment."""

    def __init__(self) -> None:
        self._rows: dict[str, SecurityUnitData] = {}

    def __getitem__(self, code: str) -> SecurityUnitData:
        security = parse_security(code)
        row = self._rows.get(security.jq)
        if row is None:
            session = current_session()
            q = session.call(session.quote(security))
            row = SecurityUnitData(
                security=security.jq, last_price=q.last_price, high_limit=q.high_limit,
                low_limit=q.low_limit, paused=q.paused, is_st=q.is_st, day_open=q.day_open,
                pre_close=q.pre_close, name=q.name,
            )
            self._rows[security.jq] = row
        return row

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def get_current_data() -> CurrentData:
    """Current market state per security (``cd['000001.XSHE'].last_price``)."""
    current_session()
    return CurrentData()


def get_trade_days(start_date: Any = None, end_date: Any = None, count: int | None = None
                   ) -> np.ndarray:
    """Trading days (``datetime.date``) from the data provider's calendar; ``end_date``
    defaults to today."""
    session = current_session()
    start = _as_datetime(start_date, end=False)
    end = _as_datetime(end_date, end=True) or session.context.current_dt
    days = session.call(
        session.data.trade_days(start.date() if start else None, end.date(), count)
    )
    return np.array(days, dtype=object)


def get_security_info(security: str) -> SecurityInfo:
    """Static description (``display_name``, ``type``, ``start_date``, ``end_date``)."""
    session = current_session()
    return session.call(session.data.security_info(parse_security(security)))
