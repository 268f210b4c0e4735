"""JoinQuant data functions beyond plain bars: ``get_bars`` and reference data.

``get_all_securities``, ``get_index_stocks`` and ``get_split_dividend`` are passed through to
the data provider when it has the optional
:class:`~bullet_trade.adapters.contracts.ReferenceData` capability; otherwise they raise
``NotImplementedError`` naming the provider (never an empty answer that a strategy could
mistake for "no stocks").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import ReferenceData
from bullet_trade.jq.binding import current_session
from bullet_trade.jq.data import _as_datetime, _fetch, _frequency, _select
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import SecurityInfo

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession

_DEFAULT_BAR_FIELDS = ("date", "open", "high", "low", "close")
#: Columns of JoinQuant's ``get_all_securities`` frame (indexed by ``code``).
JQ_SECURITY_COLUMNS = ["display_name", "name", "start_date", "end_date", "type"]


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


def jq_securities_frame(infos: Sequence[SecurityInfo]) -> pd.DataFrame:
    """JoinQuant's ``get_all_securities`` shape: indexed by ``code``, columns
    :data:`JQ_SECURITY_COLUMNS`, dates as ``Timestamp`` (a missing end date is 2200-01-01)."""
    rows = [info.to_wire() for info in infos]
    frame: pd.DataFrame = pd.DataFrame(
        {
            "display_name": [r["display_name"] for r in rows],
            "name": [r["name"] for r in rows],
            "start_date": pd.to_datetime([r["start_date"] for r in rows]).astype("M8[ns]"),
            "end_date": pd.to_datetime([r["end_date"] for r in rows]).astype("M8[ns]"),
            "type": [r["type"] for r in rows],
        },
        index=pd.Index([r["code"] for r in rows], name="code", dtype=object),
        columns=JQ_SECURITY_COLUMNS,
    )
    return frame


def _reference() -> tuple[LiveSession, ReferenceData]:
    session = current_session()
    data = session.data
    if not isinstance(data, ReferenceData):
        raise NotImplementedError(
            f"{type(data).__name__} does not provide reference data (get_all_securities, "
            "get_index_stocks, get_split_dividend); this data source cannot answer it in live "
            "trading"
        )
    return session, data


def _as_date(value: Any) -> date | None:
    moment = _as_datetime(value, end=False)
    return moment.date() if moment is not None else None


def get_all_securities(
    types: str | Sequence[str] | None = None, date: Any = None
) -> pd.DataFrame:
    """All securities of ``types`` (``stock``, ``fund``, ``etf``, ``index``; default stocks),
    listed on ``date`` when given: JoinQuant's frame indexed by code with ``display_name``,
    ``name``, ``start_date``, ``end_date`` (``Timestamp``) and ``type``.

    Raises:
        NotImplementedError: the data source has no reference data.
        BadRequest: an unknown type.
    """
    session, data = _reference()
    wanted = [types] if isinstance(types, str) else list(types or [])
    infos = session.call(data.all_securities(wanted, _as_date(date)))
    return jq_securities_frame(infos)


def get_index_stocks(index_symbol: str, date: Any = None) -> list[str]:
    """JoinQuant codes of the constituents of ``index_symbol`` (on ``date`` when the source
    keeps history), sorted."""
    session, data = _reference()
    index = parse_security(index_symbol, field="index_symbol")
    members = session.call(data.index_stocks(index, _as_date(date)))
    return [s.jq for s in members]


def get_split_dividend(
    security: str, start_date: Any = None, end_date: Any = None
) -> list[dict[str, Any]]:
    """Ex-dividend events of ``security``, oldest first, as dicts with ``security`` (JoinQuant
    code), ``date`` (``datetime.date``), ``security_type``, ``scale_factor``,
    ``bonus_pre_tax`` (cash per ``per_base`` shares, pre-tax) and ``per_base``.

    ``end_date`` is capped at the strategy's current date (no future events); without
    ``start_date`` every earlier event is listed.
    """
    session, data = _reference()
    code = parse_security(security)
    today = session.context.current_dt.date()
    end = min(_as_date(end_date) or today, today)
    start = _as_date(start_date)
    if start is not None and start > end:
        return []
    events = session.call(data.split_dividend(code, start, end))
    return [{**e.to_wire(), "date": e.ex_date} for e in events]
