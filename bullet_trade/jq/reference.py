"""JoinQuant data functions beyond plain bars: ``get_bars`` and reference data.

``get_all_securities`` and ``get_index_stocks`` are passed through to the data provider when
it offers the optional methods ``all_securities(types, date)`` / ``index_stocks(index, date)``;
otherwise they raise ``NotImplementedError`` naming the provider (never an empty answer that a
strategy could mistake for "no stocks").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any, cast

import numpy as np
import pandas as pd

from bullet_trade.jq.binding import current_session
from bullet_trade.jq.data import _as_datetime, _fetch, _frequency, _select

_DEFAULT_BAR_FIELDS = ("date", "open", "high", "low", "close")


def _bars_end(unit: str, end_dt: Any, include_now: bool) -> tuple[str, datetime]:
    now = current_session().context.current_dt
    end = min(_as_datetime(end_dt, end=False) or now, now)
    freq = _frequency(unit)
    if freq == "1d" and not include_now:  # today's daily bar is not complete yet
        end = datetime.combine(end.date(), time(0)) - timedelta(seconds=1)
    return freq, end


def _one_bars(security: str, count: int, unit: str, fields: Sequence[str], include_now: bool,
              end_dt: Any, df: bool) -> pd.DataFrame | np.ndarray:
    freq, end = _bars_end(unit, end_dt, include_now)
    frame = _fetch(security, frequency=freq, start=None, end=end, count=count, fq="pre",
                   skip_paused=True)
    values = [f for f in fields if f != "date"]
    table = _select(frame, values).copy()
    if "date" in fields:
        stamps = table.index.to_pydatetime()
        table.insert(0, "date", [s.date() if freq == "1d" else s for s in stamps])
    out = cast(pd.DataFrame, table[list(fields)].reset_index(drop=True))
    if df:
        return out
    return cast(np.ndarray, out.to_records(index=False))


def get_bars(security: str | Sequence[str], count: int, unit: str = "1d",
             fields: Sequence[str] = _DEFAULT_BAR_FIELDS, include_now: bool = False,
             end_dt: Any = None, fq_ref_date: Any = None, df: bool = False) -> Any:
    """The last ``count`` bars (daily bars exclude today unless ``include_now``).

    Returns a numpy record array (``df=True``: a DataFrame) with ``fields`` as columns;
    ``date`` holds the bar date (daily) or time (minutes). A list of codes gives a dict
    code → result.
    """
    if isinstance(fields, str):
        fields = (fields,)
    if not isinstance(security, str):
        return {code: _one_bars(code, count, unit, fields, include_now, end_dt, df)
                for code in security}
    return _one_bars(security, count, unit, fields, include_now, end_dt, df)


def _optional(name: str) -> Any:
    session = current_session()
    method = getattr(session.data, name, None)
    if method is None:
        raise NotImplementedError(
            f"{type(session.data).__name__} does not provide {name}(); this data source "
            "cannot answer it in live trading"
        )
    return session, method


def get_all_securities(types: str | Sequence[str] = "stock", date: Any = None) -> pd.DataFrame:
    """All securities of ``types`` (pass-through; see the module docstring)."""
    session, method = _optional("all_securities")
    wanted = [types] if isinstance(types, str) else list(types)
    return session.call(method(wanted, _as_datetime(date, end=False)))  # type: ignore[no-any-return]


def get_index_stocks(index_symbol: str, date: Any = None) -> list[str]:
    """Constituents of an index (pass-through; see the module docstring)."""
    session, method = _optional("index_stocks")
    return list(session.call(method(index_symbol, _as_datetime(date, end=False))))
