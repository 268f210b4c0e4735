"""``data.history``: bars of one or several securities as a v1 dataframe envelope.

Shapes (JoinQuant ``get_price`` semantics):

* ``security`` a string → one frame indexed by ``time`` with the requested fields;
* ``security`` a list, ``panel`` true (default) → columns ``(field, code)`` (a MultiIndex,
  sent with ``column_tuples``), rows the union of the securities' times;
* ``security`` a list, ``panel`` false → a long table with columns ``time, code, <fields>``.

The time index always travels as an index column (see :mod:`bullet_trade.wire.envelopes`).
Sessions that negotiated ``history.columnar.v1`` get the column-major encoding of
:mod:`bullet_trade.wire.columnar` instead of the v1 envelope.

Several securities are fetched with one ``history_batch`` call when the provider has that
optional capability (:class:`~bullet_trade.adapters.contracts.BatchHistoryProvider`), else
with one ``history`` call per security; either way the answer is the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS, BatchHistoryProvider, DataProvider
from bullet_trade.errors import BadRequest, Unsupported
from bullet_trade.model.codes import Security
from bullet_trade.model.records import HistoryQuery
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers import history_arrays
from bullet_trade.server.handlers.params import (
    opt_bool,
    opt_datetime,
    opt_int,
    opt_str,
    pick,
    security_list,
    str_list,
)
from bullet_trade.wire import columnar
from bullet_trade.wire.envelopes import dataframe_to_payload

MAX_COUNT = 100_000  # bars per security
MAX_SECURITIES = 1_000
MAX_FIELDS = 64
#: Bars one request may ask for across all its securities (count × codes, or the estimated
#: trading days of a start/end range × bars per day × codes): bounds server memory and time,
#: and keeps a v1 answer well inside the 32 MiB frame limit (~60 bytes per row).
MAX_ROWS = 500_000
#: Without ``count`` or ``start`` a backend returns everything it has: budget as if the range
#: began here (earlier than any backend's data).
_EARLIEST = datetime(2005, 1, 1)
_BARS_PER_DAY = {"1d": 1, "1m": 240, "5m": 48, "15m": 16, "30m": 8, "60m": 4}

FREQUENCIES = {
    "daily": "1d",
    "1d": "1d",
    "minute": "1m",
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "60m": "60m",
}
FQ_VALUES = ("pre", "post", "none")


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """A validated ``data.history`` request."""

    securities: tuple[Security, ...]
    multi: bool
    fields: tuple[str, ...]
    panel: bool
    skip_paused: bool
    frequency: str
    start: datetime | None
    end: datetime | None
    count: int | None
    fq: str

    def query(self, security: Security) -> HistoryQuery:
        return HistoryQuery(
            security=security,
            frequency=self.frequency,
            start=self.start,
            end=self.end,
            count=self.count,
            fq=self.fq,
        )


def require_data(ctx: RequestContext) -> DataProvider:
    """The data service, or ``UNSUPPORTED`` when it is disabled."""
    data = ctx.state.data
    if data is None:
        raise Unsupported("the data service is disabled on this server (数据服务未启用)")
    return data


def parse_history(payload: dict[str, Any], now: datetime | None = None) -> HistoryRequest:
    """Validate a ``data.history`` payload.

    Raises:
        BadRequest: naming ``security``/``security[i]``, ``count``, ``start``/``start_date``,
            ``end``/``end_date``, ``frequency``/``period``, ``fq``, ``fields``/``fields[i]``,
            ``panel`` or ``skip_paused``.
    """
    name, value = pick(payload, "security")
    if value is None:
        raise BadRequest("security is required", field=name)
    securities = tuple(dict.fromkeys(security_list(value, name, max_items=MAX_SECURITIES)))
    if not securities:
        raise BadRequest("security must name at least one code", field=name)
    start = opt_datetime(payload, "start", "start_date")
    end = opt_datetime(payload, "end", "end_date")
    if start is not None and end is not None and end < start:
        raise BadRequest("end is before start", field=pick(payload, "end", "end_date")[0])
    request = HistoryRequest(
        securities=securities,
        multi=not isinstance(value, str),
        fields=_fields(payload),
        panel=opt_bool(payload, "panel", default=True),
        skip_paused=opt_bool(payload, "skip_paused", default=False),
        frequency=_frequency(payload),
        start=start,
        end=end,
        count=opt_int(payload, "count", maximum=MAX_COUNT, nan_is_absent=True),
        fq=_fq(payload),
    )
    _check_budget(request, payload, now)
    return request


def _check_budget(request: HistoryRequest, payload: dict[str, Any], now: datetime | None) -> None:
    """Refuse requests that would produce more than :data:`MAX_ROWS` bars (a request with
    neither ``count`` nor ``start`` is budgeted from :data:`_EARLIEST`).

    Raises:
        BadRequest: field ``count`` (count × securities) or the start field (date range).
    """
    per_day = _BARS_PER_DAY.get(request.frequency, 240)
    codes = len(request.securities)
    if request.count is not None:
        rows, field = request.count * codes, pick(payload, "count")[0]
    else:
        start = request.start or _EARLIEST
        end = request.end or now or start
        trading_days = max(0, (end - start).days + 1) * 5 // 7 + 1
        rows, field = trading_days * per_day * codes, pick(payload, "start", "start_date")[0]
    if rows > MAX_ROWS:
        raise BadRequest(
            f"this request would return about {rows:,} bars (limit {MAX_ROWS:,}); narrow the "
            "date range, lower count or ask for fewer securities",
            field=field,
        )


def _frequency(payload: dict[str, Any]) -> str:
    name, _ = pick(payload, "frequency", "period")
    text = opt_str(payload, name)
    if text is None:
        return "1d"
    frequency = FREQUENCIES.get(text.lower())
    if frequency is None:
        known = ", ".join(FREQUENCIES)
        raise BadRequest(f"{name} {text!r} is not supported (one of {known})", field=name)
    return frequency


def _fq(payload: dict[str, Any]) -> str:
    """``fq``: absent → ``pre``; JSON ``null`` → ``none`` (JoinQuant ``fq=None`` means
    unadjusted, and the v1 client forwards the user's value as is)."""
    if "fq" not in payload:
        return "pre"
    value = payload["fq"]
    if value is None:
        return "none"
    if not isinstance(value, str) or value.strip().lower() not in FQ_VALUES:
        raise BadRequest(f"fq must be pre, post, none or null, got {value!r}", field="fq")
    return value.strip().lower()


def _fields(payload: dict[str, Any]) -> tuple[str, ...]:
    name, value = pick(payload, "fields")
    if value is None:
        return HISTORY_COLUMNS
    items = str_list(value, name, max_items=MAX_FIELDS)
    fields = tuple(dict.fromkeys(text.strip() for _, text in items))
    for field, text in items:
        if not text.strip():
            raise BadRequest(f"{field} is empty", field=field)
    return fields or HISTORY_COLUMNS


async def history(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Fetch every security and assemble the JoinQuant shape.

    Several securities are assembled with whole-array operations
    (:mod:`~bullet_trade.server.handlers.history_arrays`) whenever that gives the same
    result as the pandas path, which remains for everything else.
    """
    data = require_data(ctx)
    request = parse_history(payload, ctx.state.clock.now())
    ctx.log_fields["securities"] = len(request.securities)
    fast = columnar.EXTENSION in ctx.session.extensions  # negotiated fast encoding
    fetched = await _fetch(data, request)
    if isinstance(fetched, history_arrays.Bars):
        return _encode_bars(fetched, request.panel, fast)
    selected = [_select(frame, request, payload) for frame in fetched]
    frame = assemble(request, selected)
    return columnar.dataframe_to_columnar(frame) if fast else dataframe_to_payload(frame)


async def _fetch(data: DataProvider, request: HistoryRequest) -> history_arrays.Bars | list[
        pd.DataFrame]:
    """The bars as arrays when the array path applies, else one frame per security."""
    codes = [s.jq for s in request.securities]
    options = {"skip_paused": request.skip_paused, "panel": request.panel}
    if request.multi and isinstance(data, BatchHistoryProvider):
        batch = await data.history_batch([request.query(s) for s in request.securities])
        bars = history_arrays.from_batch(batch, codes, request.fields, **options)
        return bars if bars is not None else batch.frames()
    frames = list(await asyncio.gather(*(data.history(request.query(s))
                                          for s in request.securities)))
    if request.multi:
        bars = history_arrays.gather(frames, codes, request.fields, **options)
        if bars is not None:
            return bars
    return frames


def _encode_bars(bars: history_arrays.Bars, panel: bool, fast: bool) -> dict[str, Any]:
    if fast:
        return history_arrays.panel_columnar(bars) if panel else history_arrays.long_columnar(bars)
    frame = history_arrays.panel_frame(bars) if panel else history_arrays.long_frame(bars)
    return dataframe_to_payload(frame)


def _select(frame: pd.DataFrame, request: HistoryRequest, payload: dict[str, Any]) -> pd.DataFrame:
    """Drop paused rows when asked, keep the requested fields, name the index ``time``."""
    if request.skip_paused and "paused" in frame.columns:
        frame = frame[frame["paused"] != 1]
    missing = [f for f in request.fields if f not in frame.columns]
    if missing:
        known = ", ".join(str(c) for c in frame.columns)
        raise BadRequest(
            f"unknown field {missing[0]!r} (available: {known})",
            field=_field_name(payload, missing[0]),
        )
    selected: pd.DataFrame = frame.loc[:, list(request.fields)].rename_axis("time")
    return selected


def _field_name(payload: dict[str, Any], wanted: str) -> str:
    """``fields[i]`` of the first request entry spelling ``wanted`` (``fields`` for a string)."""
    value = payload.get("fields")
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and item.strip() == wanted:
                return f"fields[{i}]"
    return "fields"


def assemble(request: HistoryRequest, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Combine per-security frames (same order as ``request.securities``)."""
    if not request.multi:
        return frames[0]
    codes = [s.jq for s in request.securities]
    if request.panel:
        return _panel(request.fields, codes, frames)
    return _long(request.fields, codes, frames)


def _panel(fields: tuple[str, ...], codes: list[str], frames: list[pd.DataFrame]) -> pd.DataFrame:
    index = frames[0].index
    for frame in frames[1:]:
        index = index.union(frame.index)
    index = index.sort_values().rename("time")
    aligned = [frame.reindex(index) for frame in frames]
    joined = pd.concat(aligned, axis=1, keys=codes).swaplevel(axis=1)
    columns = pd.MultiIndex.from_product([list(fields), codes], names=["field", "code"])
    out: pd.DataFrame = joined.reindex(columns=columns)
    return out


def _long(fields: tuple[str, ...], codes: list[str], frames: list[pd.DataFrame]) -> pd.DataFrame:
    parts = []
    for code, frame in zip(codes, frames, strict=True):
        if len(frame):
            part = frame.reset_index()
            part.insert(1, "code", code)
            parts.append(part)
    columns = ["time", "code", *fields]
    if not parts:
        empty: pd.DataFrame = pd.DataFrame({c: pd.Series(dtype=_empty_dtype(c)) for c in columns})
        return empty
    out: pd.DataFrame = pd.concat(parts, ignore_index=True).loc[:, columns]
    return out


def _empty_dtype(column: str) -> str:
    if column == "time":
        return "datetime64[ns]"
    return "object" if column == "code" else "float64"
