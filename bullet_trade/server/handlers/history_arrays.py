"""Whole-array assembly of multi-security ``data.history`` results.

The pandas assembly in :mod:`bullet_trade.server.handlers.history` (select, ``reset_index``,
``concat``, ``reindex`` per security) costs a few hundred µs per security, which dominates a
request of hundreds of codes. Here the bars are held as numpy arrays (:class:`Bars`: one
time array and one float64 array per field, security after security) and the long table or
the panel is built with one ``concatenate`` / one scatter per field.

Two sources: :func:`from_batch` takes a provider's
:class:`~bullet_trade.adapters.contracts.HistoryBatch` as is (no DataFrame at all);
:func:`gather` reduces per-security backend frames to arrays (a view when the frame is one
float block).

Contract: both return ``None`` whenever the result could differ from the pandas path (a
non-float field, a tz-aware or non-datetime index, duplicate, unsorted or missing times in
a panel, mixed datetime units, a missing field, no rows at all); the caller then uses the
pandas path, which also produces the errors. When they apply, :func:`long_frame` /
:func:`panel_frame` equal the pandas result (so the v1 envelope is byte-identical) and
:func:`long_columnar` / :func:`panel_columnar` are the ``history.columnar.v1`` encoding of
that same frame, built from the arrays without a DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import HistoryBatch
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
        values: one float64 array per field, aligned with ``times``.
    """

    codes: list[str]
    fields: tuple[str, ...]
    lengths: np.ndarray[Any, Any]
    times: np.ndarray[Any, Any]
    values: list[np.ndarray[Any, Any]]


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
    block = np.concatenate([b for _, b in parts], axis=0)
    values = [block[:, j] for j in range(len(fields))]
    return Bars(codes=codes, fields=fields, lengths=lengths, times=times, values=values)


def from_batch(
    batch: HistoryBatch,
    codes: list[str],
    fields: tuple[str, ...],
    *,
    skip_paused: bool,
    panel: bool,
) -> Bars | None:
    """The bars of ``batch`` (one query per code, same order), or ``None`` (module doc).

    Without ``skip_paused`` the batch's arrays are used as they are (no copy)."""
    columns, times, lengths = batch.columns, batch.times, batch.lengths
    if len(lengths) != len(codes) or any(f not in columns for f in fields):
        return None
    values = [columns[f] for f in fields]
    if skip_paused and "paused" in columns:
        keep = columns["paused"] != 1
        if not keep.all():
            owner = np.repeat(np.arange(len(codes)), lengths)
            lengths = np.bincount(owner[keep], minlength=len(codes)).astype(np.int64)
            times, values = times[keep], [v[keep] for v in values]
    if int(lengths.sum()) == 0 or (panel and not _strictly_ascending(times, lengths)):
        return None
    return Bars(codes=codes, fields=fields, lengths=lengths, times=times, values=values)


def _strictly_ascending(times: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]) -> bool:
    """Whether every security's times are ascending without duplicates or NaT."""
    if np.isnat(times).any():
        return False
    rising = np.diff(times.view(np.int64)) > 0
    seams = np.cumsum(lengths)[:-1] - 1  # position of the step from one security to the next
    rising[seams[(seams >= 0) & (seams < len(rising))]] = True
    return bool(rising.all())


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
    for field, values in zip(bars.fields, bars.values, strict=True):
        columns[field] = values
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
    data += [_array_entry(values) for values in bars.values]
    return columnar.encode_table(["time", "code", *bars.fields], data, rows)


# ---------------------------------------------------------------- panel


def _panel_matrix(bars: Bars) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(union of times, rows × (fields × codes) float64, field-major like the pandas path).

    The matrix is column-major, so each wire column is one contiguous slice."""
    ncodes, nfields = len(bars.codes), len(bars.fields)
    first = int(bars.lengths[0])
    same = bool((bars.lengths == first).all()) and first > 0
    if same and bool((bars.times.reshape(ncodes, first) == bars.times[:first]).all()):
        # rows of code c are c*first .. (c+1)*first: a reshape, no scatter needed
        matrix = np.empty((first, nfields * ncodes), order="F")
        for j, values in enumerate(bars.values):
            matrix[:, j * ncodes : (j + 1) * ncodes] = values.reshape(ncodes, first).T
        return bars.times[:first], matrix
    union = np.unique(bars.times)
    rows = np.searchsorted(union, bars.times)
    owner = np.repeat(np.arange(ncodes), bars.lengths)
    matrix = np.full((len(union), nfields * ncodes), np.nan, order="F")
    for j, values in enumerate(bars.values):
        matrix[rows, j * ncodes + owner] = values
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
