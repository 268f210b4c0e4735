"""``HistoryBatch`` (the optional batch history contract) and its adapter helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bullet_trade.adapters.batch import batch_from_frames, concat_batches, take_queries
from bullet_trade.adapters.contracts import HistoryBatch


def _frame(start: str, rows: int, base: float) -> pd.DataFrame:
    index = pd.date_range(start, periods=rows, freq="D", name="time")
    return pd.DataFrame({"open": base + np.arange(rows), "close": base - np.arange(rows)},
                        index=index)


def test_frames_round_trip_through_a_batch() -> None:
    frames = [_frame("2025-01-01", 3, 10.0), _frame("2025-01-01", 0, 0.0),
              _frame("2025-02-01", 2, 20.0)]
    batch = batch_from_frames(frames)
    assert batch.lengths.tolist() == [3, 0, 2] and list(batch.columns) == ["open", "close"]
    for got, want in zip(batch.frames(), frames, strict=True):
        pd.testing.assert_frame_equal(got, want, check_freq=False)


def test_concat_and_take_keep_each_query_together() -> None:
    a = batch_from_frames([_frame("2025-01-01", 2, 1.0)])
    b = batch_from_frames([_frame("2025-01-05", 3, 5.0), _frame("2025-01-09", 1, 9.0)])
    both = concat_batches([a, b])
    assert both.lengths.tolist() == [2, 3, 1]
    picked = take_queries(both, [2, 0])
    assert picked.lengths.tolist() == [1, 2]
    assert picked.columns["open"].tolist() == [9.0, 1.0, 2.0]


def test_int64_times_are_nanoseconds_and_bad_shapes_are_refused() -> None:
    ns = np.array([0, 86_400_000_000_000], dtype=np.int64)
    batch = HistoryBatch(lengths=np.array([2]), times=ns, columns={"close": np.ones(2)})
    assert batch.times.dtype == np.dtype("datetime64[ns]")
    with pytest.raises(ValueError, match="lengths"):
        HistoryBatch(lengths=np.array([3]), times=ns, columns={})
    with pytest.raises(ValueError, match="float64"):
        HistoryBatch(lengths=np.array([2]), times=ns, columns={"close": np.ones(2, dtype=int)})
    with pytest.raises(ValueError, match="columns"):
        batch_from_frames([_frame("2025-01-01", 1, 1.0), _frame("2025-01-01", 1, 1.0)[["open"]]])
