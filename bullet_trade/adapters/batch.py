"""Helpers for the optional :class:`~bullet_trade.adapters.contracts.BatchHistoryProvider`
capability: build a :class:`~bullet_trade.adapters.contracts.HistoryBatch` from per-security
frames (providers without native multi-code support) or from smaller batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import DataProvider, HistoryBatch
from bullet_trade.model.records import HistoryQuery

_FLOAT = np.dtype("float64")
_UNITS = ("D", "h", "m", "s", "ms", "us", "ns")  # coarsest first


def _times(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    index = frame.index
    if isinstance(index, pd.DatetimeIndex) and index.tz is None:
        return index.to_numpy()
    if len(index) == 0:
        return np.empty(0, dtype="datetime64[ns]")
    raise ValueError(f"history frames need a naive DatetimeIndex, got {type(index).__name__}")


def _finest(times: list[np.ndarray[Any, Any]]) -> np.dtype[Any]:
    """The finest datetime unit among the non-empty arrays (when all are empty: among all,
    ``ns`` when there are none)."""
    units = {t.dtype for t in times if len(t)} or {t.dtype for t in times}
    if not units:
        return np.dtype("datetime64[ns]")
    return max(units, key=lambda d: _UNITS.index(np.datetime_data(d)[0])
               if np.datetime_data(d)[0] in _UNITS else -1)


def batch_from_frames(frames: Sequence[pd.DataFrame]) -> HistoryBatch:
    """The batch holding ``frames`` (one :meth:`DataProvider.history` frame per query).

    Columns are taken from the first non-empty frame and converted to float64; times keep
    their unit (the finest when frames differ).

    Raises:
        ValueError: frames with different column labels, a non-numeric column or an index
            that is not a naive ``DatetimeIndex``.
    """
    full = [f for f in frames if len(f)] or list(frames[:1])
    labels = [str(c) for c in full[0].columns] if full else []
    times = [_times(f) for f in frames]
    unit = _finest(times)
    columns: dict[str, list[np.ndarray[Any, Any]]] = {name: [] for name in labels}
    for frame in frames:
        if not len(frame):
            continue
        if [str(c) for c in frame.columns] != labels:
            raise ValueError(f"history frames differ in columns: {list(frame.columns)} vs "
                             f"{labels}")
        block = frame.to_numpy(dtype=_FLOAT)
        for j, name in enumerate(labels):
            columns[name].append(block[:, j])
    joined = {
        name: np.concatenate(parts) if parts else np.empty(0, dtype=_FLOAT)
        for name, parts in columns.items()
    }
    lengths = np.fromiter((len(t) for t in times), dtype=np.int64, count=len(times))
    all_times = np.concatenate([t.astype(unit, copy=False) for t in times]) if times else (
        np.empty(0, dtype=unit))
    return HistoryBatch(lengths=lengths, times=all_times, columns=joined)


def concat_batches(batches: Sequence[HistoryBatch]) -> HistoryBatch:
    """One batch holding the queries of ``batches`` in order (same columns required).

    Raises:
        ValueError: batches with different column names.
    """
    if len(batches) == 1:
        return batches[0]
    names = list(batches[0].columns) if batches else []
    if any(list(b.columns) != names for b in batches):
        raise ValueError("batches differ in columns")
    unit = _finest([b.times for b in batches])
    return HistoryBatch(
        lengths=np.concatenate([b.lengths for b in batches]),
        times=np.concatenate([b.times.astype(unit, copy=False) for b in batches]),
        columns={n: np.concatenate([b.columns[n] for b in batches]) for n in names},
    )


async def history_batch_via_frames(
    provider: DataProvider, queries: Sequence[HistoryQuery]
) -> HistoryBatch:
    """``history_batch`` for a provider without native support: ``provider.history`` per
    query (concurrently), then :func:`batch_from_frames`."""
    frames = await asyncio.gather(*(provider.history(q) for q in queries))
    return batch_from_frames(frames)


def take_queries(batch: HistoryBatch, picks: Sequence[int]) -> HistoryBatch:
    """The batch whose query ``i`` is query ``picks[i]`` of ``batch`` (reorder or select)."""
    stops = np.cumsum(batch.lengths)
    starts = stops - batch.lengths
    chosen = [np.arange(starts[k], stops[k]) for k in picks]
    rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    return HistoryBatch(
        lengths=batch.lengths[list(picks)],
        times=batch.times[rows],
        columns={name: values[rows] for name, values in batch.columns.items()},
    )
