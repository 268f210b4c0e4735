"""Negotiated fast history encoding: ``history.columnar.v1`` (sans-I/O).

The v1 dataframe envelope (:mod:`bullet_trade.wire.envelopes`) is row-major JSON: every cell
becomes a JSON token on the server and a Python object on the client, and datetimes travel
as text. For bulk history (a year of minute bars is ~58k rows) that dominates the round trip.

A session that asked for ``history.columnar.v1`` in its handshake (and was granted it) gets
``data.history`` answers in this column-major shape instead::

    {
      "dtype": "columnar",
      "version": 1,
      "rows": 58320,
      "columns": ["time", "open", ...],              # wire labels, as in v1
      "column_tuples": [["open", "000001.XSHE"], ...],  # only for (field, code) columns
      "column_index_names": ["field", "code"],
      "index_columns": ["time"], "index_names": ["time"],
      "index_dtypes": ["datetime64[ns]"], "index_type": "DatetimeIndex",
      "data": [{"kind": "M8", "unit": "ns", "b64": "..."}, {"kind": "f8", "b64": "..."}, ...]
    }

Column kinds (one entry of ``data`` per wire column, in ``columns`` order):

* ``f8`` / ``i8`` / ``b1``: little-endian float64 / int64 / bool, base64 of the raw bytes
  (NaN stays NaN; no text round trip);
* ``M8``: naive datetimes as int64 counts of ``unit`` (``s``, ``ms``, ``us`` or ``ns``, the
  frame's own resolution; NaT is the int64 minimum), optional ``tz`` naming the zone of
  tz-aware values (sent as UTC);
* ``dict``: strings with few distinct values (the ``code`` column of a long table):
  ``categories`` (JSON list) plus ``codes`` (base64 little-endian int32, -1 for missing);
* ``json``: anything else, as a JSON list (``null`` for missing values).

Clients that did not negotiate the extension never see this shape: v1 stays byte-compatible.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.wire.errors import MalformedMessage

#: Name of the extension in ``handshake.extensions`` / ``handshake_ack.extensions``.
EXTENSION = "history.columnar.v1"
#: ``dtype`` of a columnar payload (a v1 decoder sees an unknown dtype, never wrong data).
DTYPE = "columnar"
VERSION = 1

_UNITS = ("s", "ms", "us", "ns")
#: An object column is dictionary-encoded when it has at most this share of distinct values.
_DICT_RATIO = 0.5


def _b64(array: np.ndarray[Any, Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _unb64(text: Any, dtype: str, rows: int, label: str) -> np.ndarray[Any, Any]:
    if not isinstance(text, str):
        raise MalformedMessage(f"column {label}: b64 must be a string", field="data")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise MalformedMessage(f"column {label}: invalid base64", field="data") from exc
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    if array.shape[0] != rows:
        raise MalformedMessage(
            f"column {label}: {array.shape[0]} values for {rows} rows", field="data"
        )
    return array


# ---------------------------------------------------------------- encode


def _encode_object(series: pd.Series[Any]) -> dict[str, Any]:
    values = series.astype(object)
    missing = values.isna().to_numpy()
    strings = len(values) > 0 and pd.api.types.infer_dtype(values, skipna=True) == "string"
    if strings:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        if dict_worthwhile(len(uniques), len(values)):
            return {
                "kind": "dict",
                "categories": [str(u) for u in uniques],
                "codes": _b64(codes.astype("<i4")),
            }
    cells: list[Any] = values.where(~missing, None).tolist()
    return {"kind": "json", "values": cells}


def encode_array(values: np.ndarray[Any, Any]) -> dict[str, Any] | None:
    """The ``data`` entry of a numpy column of a primitive kind (``f8``/``i8``/``b1``/naive
    ``M8``), or ``None`` when it needs the general (pandas) path."""
    kind = values.dtype.kind
    if kind == "f":
        return {"kind": "f8", "b64": _b64(values.astype("<f8", copy=False))}
    if kind == "i" or (kind == "u" and values.dtype.itemsize < 8):
        return {"kind": "i8", "b64": _b64(values.astype("<i8", copy=False))}
    if kind == "b":
        return {"kind": "b1", "b64": _b64(values)}
    if kind == "M":
        unit = np.datetime_data(values.dtype)[0]
        if unit not in _UNITS:
            values, unit = values.astype("datetime64[ns]"), "ns"
        return {"kind": "M8", "unit": unit, "b64": _b64(values.view("<i8"))}
    return None


def encode_categories(categories: list[str], codes: np.ndarray[Any, Any]) -> dict[str, Any]:
    """A ``dict`` entry from already factorised strings (``codes`` index ``categories``,
    -1 for missing), e.g. the ``code`` column of a long history table."""
    return {"kind": "dict", "categories": categories, "codes": _b64(codes.astype("<i4"))}


def dict_worthwhile(distinct: int, rows: int) -> bool:
    """Whether ``distinct`` strings over ``rows`` rows are dictionary-encoded."""
    return distinct <= max(1, int(rows * _DICT_RATIO))


def _encode_column(series: pd.Series[Any]) -> dict[str, Any]:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = series.dt.tz_convert("UTC").dt.tz_localize(None)
        out = _encode_column(utc)
        out["tz"] = str(dtype.tz)
        return out
    if pd.api.types.is_datetime64_dtype(dtype):
        entry = encode_array(series.to_numpy())
        if entry is not None:
            return entry
    if pd.api.types.is_bool_dtype(dtype):
        return {"kind": "b1", "b64": _b64(series.to_numpy(dtype=np.bool_))}
    if pd.api.types.is_integer_dtype(dtype) and not series.hasnans:
        return {"kind": "i8", "b64": _b64(series.to_numpy(dtype="<i8"))}
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return {"kind": "f8", "b64": _b64(series.to_numpy(dtype="<f8"))}
    return _encode_object(series)


def _with_index(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Move the index into leading columns and describe it (the v1 index metadata)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.name is None:
        return frame, {}
    names = [n if n is not None else f"level_{i}" for i, n in enumerate(index.names)]
    if len(names) == 1 and index.names[0] is None:
        names = ["time" if isinstance(index, pd.DatetimeIndex) else "index"]
    multi = isinstance(frame.columns, pd.MultiIndex)
    labels: list[Any] = [(n, "") if multi else n for n in names]
    levels = {
        pos: pd.Series(index.get_level_values(pos), index=frame.index)
        for pos in range(index.nlevels)
    }
    body = {pos + index.nlevels: frame.iloc[:, pos] for pos in range(frame.shape[1])}
    flat = pd.DataFrame({**levels, **body}, index=frame.index)
    all_labels = [*labels, *frame.columns]
    flat.columns = (
        pd.MultiIndex.from_tuples(all_labels) if multi else pd.Index(all_labels, dtype=object)
    )
    meta = {
        "index_columns": [str(label) for label in labels],
        "index_names": [str(n) for n in names],
        "index_dtypes": [str(index.get_level_values(i).dtype) for i in range(index.nlevels)],
        "index_type": type(index).__name__,
    }
    return flat, meta


def encode_table(
    labels: list[Any],
    data: list[dict[str, Any]],
    rows: int,
    *,
    index_meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a columnar payload from encoded columns (the array-level entry point).

    Args:
        labels: wire column labels, strings, or ``(field, code)`` tuples for a panel (then
            ``column_tuples`` is sent too); index columns first.
        data: one entry per label (:func:`encode_array`, :func:`encode_categories`).
        rows: the length of every column.
        index_meta: ``index_columns``/``index_names``/``index_dtypes``/``index_type``.
    """
    payload: dict[str, Any] = {
        "dtype": DTYPE,
        "version": VERSION,
        "rows": rows,
        "columns": [c if isinstance(c, str) else str(c) for c in labels],
        "data": data,
    }
    if labels and isinstance(labels[0], tuple):
        payload["column_tuples"] = [[str(x) for x in c] for c in labels]
        payload["column_index_names"] = ["field", "code"]
    if index_meta:
        payload.update(index_meta)
    return payload


def dataframe_to_columnar(frame: pd.DataFrame) -> dict[str, Any]:
    """Encode ``frame`` (index included, as index columns) as a columnar payload."""
    flat, meta = _with_index(frame)
    data = [_encode_column(flat.iloc[:, pos]) for pos in range(flat.shape[1])]
    labels = list(flat.columns)
    if not isinstance(flat.columns, pd.MultiIndex):
        labels = [c if isinstance(c, str) else str(c) for c in labels]
    return encode_table(labels, data, len(flat), index_meta=meta)


# ---------------------------------------------------------------- decode


def is_columnar(payload: Any) -> bool:
    """True when ``payload`` is a columnar history payload (any version)."""
    return isinstance(payload, dict) and payload.get("dtype") == DTYPE


def _decode_dict(entry: dict[str, Any], rows: int, label: str) -> np.ndarray[Any, Any]:
    categories = entry.get("categories")
    if not isinstance(categories, list):
        raise MalformedMessage(f"column {label}: categories must be a list", field="data")
    codes = _unb64(entry.get("codes"), "<i4", rows, label)
    if len(codes) and (codes.max(initial=-1) >= len(categories) or codes.min(initial=0) < -1):
        raise MalformedMessage(f"column {label}: code out of range", field="data")
    lookup = np.array([*categories, None], dtype=object)  # -1 picks the trailing None
    picked: np.ndarray[Any, Any] = lookup[codes]
    return picked


def _decode_column(entry: Any, rows: int, label: str) -> Any:
    if not isinstance(entry, dict):
        raise MalformedMessage(f"column {label}: entry must be an object", field="data")
    kind = entry.get("kind")
    if kind in ("f8", "i8", "b1"):
        return _unb64(entry.get("b64"), "<" + kind if kind != "b1" else "?", rows, label)
    if kind == "M8":
        unit = entry.get("unit")
        if unit not in _UNITS:
            raise MalformedMessage(f"column {label}: unknown datetime unit {unit!r}", field="data")
        ticks = _unb64(entry.get("b64"), "<i8", rows, label)
        values = pd.DatetimeIndex(ticks.view(f"datetime64[{unit}]"))
        tz = entry.get("tz")
        if isinstance(tz, str):
            values = values.tz_localize("UTC").tz_convert(tz)
        return values
    if kind == "dict":
        return _decode_dict(entry, rows, label)
    if kind == "json":
        values = entry.get("values")
        if not isinstance(values, list) or len(values) != rows:
            raise MalformedMessage(f"column {label}: values must be {rows} items", field="data")
        return np.array(values, dtype=object) if rows else np.array([], dtype=object)
    raise MalformedMessage(f"column {label}: unknown kind {kind!r}", field="data")


def _header(payload: dict[str, Any]) -> tuple[int, list[str], list[Any]]:
    if payload.get("version") != VERSION:
        raise MalformedMessage(
            f"unsupported columnar version {payload.get('version')!r}", field="version"
        )
    rows, columns, data = payload.get("rows"), payload.get("columns"), payload.get("data")
    if not isinstance(rows, int) or rows < 0:
        raise MalformedMessage("rows must be a non-negative integer", field="rows")
    if not isinstance(columns, list) or not isinstance(data, list) or len(columns) != len(data):
        raise MalformedMessage("columns and data must be lists of one length", field="data")
    return rows, [str(c) for c in columns], data


def _column_index(payload: dict[str, Any], labels: list[str]) -> pd.Index[Any]:
    tuples = payload.get("column_tuples")
    if isinstance(tuples, list) and len(tuples) == len(labels):
        names = payload.get("column_index_names")
        index: pd.MultiIndex = pd.MultiIndex.from_tuples([tuple(t) for t in tuples])
        if isinstance(names, list) and len(names) == index.nlevels:
            index = index.set_names(names)
        return index
    plain: pd.Index[Any] = pd.Index(labels)
    return plain


def columnar_to_dataframe(payload: dict[str, Any]) -> pd.DataFrame:
    """Decode a columnar payload into the same DataFrame the v1 envelope would give.

    Raises:
        MalformedMessage: wrong version, inconsistent lengths, bad base64 or unknown kind.
    """
    rows, labels, data = _header(payload)
    arrays = [_decode_column(entry, rows, label) for entry, label in zip(data, labels, strict=True)]
    # object columns get the dtype pandas would infer from the v1 records (``str`` on pandas 3)
    frame = pd.DataFrame(dict(enumerate(arrays)), index=pd.RangeIndex(rows)).infer_objects()
    frame.columns = _column_index(payload, labels)
    restored: pd.DataFrame = _restore_index(frame, payload, labels)
    return restored


def _restore_index(frame: pd.DataFrame, payload: dict[str, Any], labels: list[str]) -> pd.DataFrame:
    index_columns = payload.get("index_columns")
    names = payload.get("index_names")
    if not isinstance(index_columns, list) or not index_columns or not isinstance(names, list):
        return frame
    positions = [labels.index(str(c)) for c in index_columns if str(c) in labels]
    if len(positions) != len(index_columns) or len(names) != len(positions):
        raise MalformedMessage("index_columns must name wire columns", field="index_columns")
    levels = [frame.iloc[:, pos] for pos in positions]
    body: pd.DataFrame = frame.iloc[:, [i for i in range(frame.shape[1]) if i not in positions]]
    if len(levels) == 1:
        body.index = pd.Index(levels[0], name=str(names[0]))
    else:
        body.index = pd.MultiIndex.from_arrays(levels, names=[str(n) for n in names])
    return body
