"""Whole-array assembly of multi-security ``data.history`` results.

The pandas assembly in :mod:`bullet_trade.server.handlers.history` (select, ``reset_index``,
``concat``, ``reindex`` per security) costs a few hundred µs per security, which dominates a
request of hundreds of codes. Here each backend frame is reduced to two numpy arrays (its
times and a rows × fields float64 block, a view when the frame is one float block), and the
long table or the panel is built with one ``concatenate`` / one scatter per field.

Contract: :func:`gather` returns ``None`` whenever the result could differ from the pandas
path (a non-float field, a tz-aware or non-datetime index, duplicate or unsorted times in a
panel, mixed datetime units, a missing field, no rows at all); the caller then uses the
pandas path, which also produces the errors. When it applies, :func:`to_frame` is equal to
the pandas result (so the v1 envelope is byte-identical) and :func:`to_columnar` is the
``history.columnar.v1`` encoding of that same frame, built without a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from bullet_trade.wire import columnar

_FLOAT = np.dtype("float64")


@dataclass(frozen=True, slots=True)
class Bars:
    """Every security's bars, concatenated.

    Attributes:
        codes: JoinQuant codes, request order.
        fields: requested fields, in order.
        lengths: rows per security.
        times: all times, security after security (one datetime64 unit).
        values: rows × fields float64, aligned with ``times``.
    """

    codes: list[str]
    fields: tuple[str, ...]
    lengths: np.ndarray[Any, Any]
    times: np.ndarray[Any, Any]
    values: np.ndarray[Any, Any]


def _extract(
    frame: pd.DataFrame, fields: tuple[str, ...], skip_paused: bool, panel: bool
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None:
    """(times, rows × fields block) of one backend frame, or ``None`` (use pandas)."""
    index, columns = frame.index, frame.columns
    if not isinstance(index, pd.DatetimeIndex) or index.tz is not None:
        return None
    if not columns.is_unique or any(f not in columns for f in fields):
        return None
    if panel and not (index.is_unique and index.is_monotonic_increasing):
        return None
    paused = skip_paused and "paused" in columns
    wanted = [*fields, "paused"] if paused else list(fields)
    positions = [cast(int, columns.get_loc(f)) for f in wanted]  # unique labels: ints
    dtypes = frame.dtypes.to_numpy()
    if any(dtypes[p] != _FLOAT for p in positions):
        return None
    block = frame.to_numpy(dtype=_FLOAT, copy=False)[:, positions]
    times = index.to_numpy()
    if paused:
        keep = block[:, -1] != 1
        block, times = block[keep, :-1], times[keep]
    return times, block


def gather(
    frames: list[pd.DataFrame],
    codes: list[str],
    fields: tuple[str, ...],
    *,
    skip_paused: bool,
    panel: bool,
) -> Bars | None:
    """The concatenated bars of ``frames`` (one per code), or ``None`` (see module doc)."""
    parts = []
    for frame in frames:
        part = _extract(frame, fields, skip_paused, panel)
        if part is None:
            return None
        parts.append(part)
    lengths = np.fromiter((len(t) for t, _ in parts), dtype=np.int64, count=len(parts))
    if not parts or lengths.sum() == 0 or len({t.dtype for t, _ in parts}) != 1:
        return None
    times = np.concatenate([t for t, _ in parts])
    values = np.concatenate([b for _, b in parts], axis=0)
    return Bars(codes=codes, fields=fields, lengths=lengths, times=times, values=values)


# ---------------------------------------------------------------- long table


def _long_codes(bars: Bars) -> tuple[list[str], np.ndarray[Any, Any]]:
    """Codes that have rows (first-appearance order) and each row's position among them."""
    present = np.flatnonzero(bars.lengths)
    categories = [bars.codes[i] for i in present]
    return categories, np.repeat(np.arange(len(present)), bars.lengths[present])


def long_frame(bars: Bars) -> pd.DataFrame:
    """``time, code, <fields>`` with a RangeIndex (the ``panel=False`` shape)."""
    categories, positions = _long_codes(bars)
    columns: dict[str, Any] = {
        "time": bars.times,
        "code": np.asarray(categories, dtype=object)[positions],
    }
    for j, field in enumerate(bars.fields):
        columns[field] = bars.values[:, j]
    frame: pd.DataFrame = pd.DataFrame(columns)
    return frame


def long_columnar(bars: Bars) -> dict[str, Any]:
    """The columnar payload of :func:`long_frame`, straight from the arrays."""
    categories, positions = _long_codes(bars)
    rows = len(bars.times)
    if columnar.dict_worthwhile(len(categories), rows):
        code_entry = columnar.encode_categories(categories, positions)
    else:
        code_entry = {"kind": "json", "values": [categories[i] for i in positions]}
    data = [_array_entry(bars.times), code_entry]
    data += [_array_entry(bars.values[:, j]) for j in range(len(bars.fields))]
    return columnar.encode_table(["time", "code", *bars.fields], data, rows)


# ---------------------------------------------------------------- panel


def _panel_matrix(bars: Bars) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(union of times, rows × (fields × codes) float64, field-major like the pandas path)."""
    ncodes, nfields = len(bars.codes), len(bars.fields)
    first = int(bars.lengths[0])
    same = bool((bars.lengths == first).all()) and first > 0
    if same and bool((bars.times.reshape(ncodes, first) == bars.times[:first]).all()):
        union = bars.times[:first]
        # rows of code c are c*first .. (c+1)*first: a reshape, no scatter needed
        cube = bars.values.reshape(ncodes, first, nfields)  # code, row, field
        matrix = np.ascontiguousarray(cube.transpose(1, 2, 0)).reshape(first, nfields * ncodes)
        return union, matrix
    union = np.unique(bars.times)
    rows = np.searchsorted(union, bars.times)
    owner = np.repeat(np.arange(ncodes), bars.lengths)
    matrix = np.full((len(union), nfields * ncodes), np.nan)
    for j in range(nfields):
        matrix[rows, j * ncodes + owner] = bars.values[:, j]
    return union, matrix


def _panel_labels(bars: Bars) -> list[tuple[str, str]]:
    return [(f, c) for f in bars.fields for c in bars.codes]


def panel_frame(bars: Bars) -> pd.DataFrame:
    """Columns ``(field, code)``, index the union of the times named ``time``."""
    union, matrix = _panel_matrix(bars)
    columns = pd.MultiIndex.from_tuples(_panel_labels(bars), names=["field", "code"])
    frame: pd.DataFrame = pd.DataFrame(
        matrix, index=pd.DatetimeIndex(union, name="time"), columns=columns
    )
    return frame


def panel_columnar(bars: Bars) -> dict[str, Any]:
    """The columnar payload of :func:`panel_frame`, straight from the arrays."""
    union, matrix = _panel_matrix(bars)
    labels: list[Any] = [("time", ""), *_panel_labels(bars)]
    data = [_array_entry(union)]
    data += [_array_entry(matrix[:, k]) for k in range(matrix.shape[1])]
    meta = {
        "index_columns": [str(("time", ""))],
        "index_names": ["time"],
        "index_dtypes": [str(union.dtype)],
        "index_type": "DatetimeIndex",
    }
    return columnar.encode_table(labels, data, len(union), index_meta=meta)


def _array_entry(values: np.ndarray[Any, Any]) -> dict[str, Any]:
    entry = columnar.encode_array(values)
    if entry is None:  # gather() only admits float64 values and naive datetimes
        raise TypeError(f"unexpected column dtype {values.dtype}")
    return entry
