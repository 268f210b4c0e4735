"""v1 result envelopes: dataframe, dict, list and text (protocol.md 2.4 and 2.5).

The dataframe envelope always carries the row index as an *index column* described by the
optional metadata the 0.10.0 client understands (``index_columns``, ``index_names``,
``index_dtypes``, ``index_type``). Older clients see it as an ordinary ``time`` column, so
every client gets the timestamps (the published server dropped them, weakness W-P8).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pandas as pd

_PRICE_FIELDS = {
    "time", "open", "high", "low", "close", "volume", "money", "amount", "avg", "price",
    "highlimit", "lowlimit", "paused", "preclose", "factor",
}


def dict_envelope(value: dict[str, Any], *, flatten: bool = True) -> dict[str, Any]:
    """``{"dtype": "dict", "value": value}`` plus, when ``flatten``, every non-null key of
    ``value`` copied to the top level (v1 clients read either)."""
    out: dict[str, Any] = {"dtype": "dict", "value": value}
    if flatten:
        for key, item in value.items():
            if item is not None and key not in ("dtype", "value"):
                out[key] = item
    return out


def list_envelope(values: list[Any]) -> dict[str, Any]:
    return {"dtype": "list", "values": values}


def text_envelope(text: str, **extra: Any) -> dict[str, Any]:
    return {"dtype": "text", "value": text, **extra}


# ---------------------------------------------------------------- dataframe → payload


def _label(column: Any) -> str:
    return str(column) if not isinstance(column, str) else column


def _cell_values(frame: pd.DataFrame) -> list[list[Any]]:
    """Row-major records with datetimes as ``YYYY-MM-DD HH:MM:SS`` strings, NaN as None."""
    columns: list[np.ndarray[Any, Any]] = []
    for _, series in frame.items():
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            text = series.dt.strftime("%Y-%m-%d %H:%M:%S")
            columns.append(text.astype(object).where(series.notna(), None).to_numpy())
        elif pd.api.types.is_float_dtype(series.dtype):
            values = series.to_numpy(dtype=float)
            obj = values.astype(object)
            obj[~np.isfinite(values)] = None
            columns.append(obj)
        else:
            columns.append(series.astype(object).where(series.notna(), None).to_numpy())
    if not columns:
        return [[] for _ in range(len(frame))]
    return np.column_stack(columns).tolist() if len(frame) else []


def _index_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Move the index into leading columns and describe it."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.name is None:
        return frame, {}
    names = [n if n is not None else f"level_{i}" for i, n in enumerate(index.names)]
    if len(names) == 1 and index.names[0] is None:
        names = ["time" if isinstance(index, pd.DatetimeIndex) else "index"]
    flat = frame.copy()
    multi = isinstance(flat.columns, pd.MultiIndex)
    wire_names: list[Any] = [(n, "") if multi else n for n in names]
    for pos, (wire, level) in enumerate(zip(wire_names, range(index.nlevels), strict=True)):
        flat.insert(pos, wire, index.get_level_values(level))
    meta = {
        "index_columns": [_label(w) for w in wire_names],
        "index_names": names,
        "index_dtypes": [str(index.get_level_values(i).dtype) for i in range(index.nlevels)],
        "index_type": type(index).__name__,
    }
    return flat, meta


def dataframe_to_payload(frame: pd.DataFrame) -> dict[str, Any]:
    """Encode a DataFrame as the v1 dataframe envelope (with index metadata)."""
    flat, meta = _index_frame(frame)
    payload: dict[str, Any] = {
        "dtype": "dataframe",
        "columns": [_label(c) for c in flat.columns],
        "records": _cell_values(flat),
    }
    if isinstance(flat.columns, pd.MultiIndex):
        payload["column_tuples"] = [list(map(str, c)) for c in flat.columns]
        payload["column_index_names"] = ["field", "code"]
    payload.update(meta)
    return payload


# ---------------------------------------------------------------- payload → dataframe


def _parse_tuple(label: str) -> tuple[str, str] | None:
    if not label.startswith("("):
        return None
    try:
        value = ast.literal_eval(label)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return (str(value[0]), str(value[1]))
    return None


def _columns_of(payload: dict[str, Any]) -> pd.Index | list[str]:
    columns = [str(c) for c in payload.get("columns") or []]
    tuples = payload.get("column_tuples")
    if isinstance(tuples, list) and len(tuples) == len(columns):
        names = payload.get("column_index_names")
        index = pd.MultiIndex.from_tuples([tuple(t) for t in tuples])
        if isinstance(names, list) and len(names) == index.nlevels:
            index = index.set_names(names)
        return _field_code_order(index)
    parsed = [t for t in (_parse_tuple(c) for c in columns) if t is not None]
    if columns and len(parsed) == len(columns):
        return _field_code_order(pd.MultiIndex.from_tuples(parsed))
    return columns


def _field_code_order(index: pd.MultiIndex) -> pd.MultiIndex:
    level0 = {str(v).replace("_", "").lower() for v in index.get_level_values(0)}
    level1 = {str(v).replace("_", "").lower() for v in index.get_level_values(1)}
    if level1 & _PRICE_FIELDS and not level0 & _PRICE_FIELDS:
        index = index.swaplevel(0, 1)
    named: pd.MultiIndex = index.set_names(["field", "code"])
    return named


def payload_to_dataframe(payload: Any) -> pd.DataFrame:
    """Decode a dataframe envelope (any v1 server) back into a DataFrame.

    An envelope with ``index_columns`` gets its index restored (datetime levels parsed);
    a non-dataframe payload gives an empty frame (v1 client behaviour).
    """
    if not isinstance(payload, dict) or payload.get("dtype") != "dataframe":
        empty: pd.DataFrame = pd.DataFrame()
        return empty
    columns = _columns_of(payload)
    records = payload.get("records") or []
    frame = pd.DataFrame(records, columns=columns if len(columns) else None)
    restored: pd.DataFrame = _restore_index(frame, payload)
    return restored


def _restore_index(frame: pd.DataFrame, payload: dict[str, Any]) -> pd.DataFrame:
    index_columns = payload.get("index_columns")
    names = payload.get("index_names")
    if not isinstance(index_columns, list) or not index_columns or not isinstance(names, list):
        return frame
    dtypes = payload.get("index_dtypes") or [""] * len(index_columns)
    wire_labels = [str(c) for c in payload.get("columns") or []]
    levels = []
    positions = [wire_labels.index(str(c)) for c in index_columns if str(c) in wire_labels]
    if len(positions) != len(index_columns):
        return frame
    for pos, dtype in zip(positions, dtypes, strict=False):
        values = frame.iloc[:, pos]
        if str(dtype).startswith("datetime64"):
            values = pd.to_datetime(values)
        levels.append(values.to_numpy())
    keep = [i for i in range(frame.shape[1]) if i not in positions]
    body: pd.DataFrame = frame.iloc[:, keep]
    if len(levels) == 1:
        body.index = pd.Index(levels[0], name=names[0])
    else:
        body.index = pd.MultiIndex.from_arrays(levels, names=names)
    return body
