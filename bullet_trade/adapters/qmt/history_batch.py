"""``get_market_data_ex`` frames of many codes → one
:class:`~bullet_trade.adapters.contracts.HistoryBatch` (for
:meth:`~bullet_trade.adapters.qmt.data.QmtDataAdapter.history_batch`).

Same bars, units and time parsing as :func:`~bullet_trade.adapters.qmt.convert.bars_from_xt`
per code: daily frames go straight to arrays (one date parse for all codes, no DataFrame
per code); minute frames go through ``bars_from_xt`` (it merges the opening-auction bar).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.batch import batch_from_frames
from bullet_trade.adapters.contracts import HistoryBatch
from bullet_trade.adapters.qmt import convert


def _daily_columns(frame: pd.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
    """One code's contract columns (``convert.COLUMNS`` order) from its xtdata frame."""
    paused = (
        (frame["suspendFlag"].to_numpy(float) == 1).astype(float)
        if "suspendFlag" in frame
        else np.zeros(len(frame))
    )
    return {
        "open": frame["open"].to_numpy(float),
        "close": frame["close"].to_numpy(float),
        "high": frame["high"].to_numpy(float),
        "low": frame["low"].to_numpy(float),
        "volume": frame["volume"].to_numpy(float) * convert.LOT,
        "money": frame["amount"].to_numpy(float),
        "paused": paused,
    }


def daily_batch(frames: Sequence[pd.DataFrame | None], count: int | None) -> HistoryBatch:
    """Daily xtdata frames (one per query, ``None`` for no data), each cut to its last
    ``count`` bars when given."""
    cut = [None if f is None or f.empty else f.iloc[-count:] if count is not None else f
           for f in frames]
    kept = [f for f in cut if f is not None]
    lengths = np.array([0 if f is None else len(f) for f in cut], dtype=np.int64)
    if not kept:
        empty = convert.empty_bars()
        return HistoryBatch(
            lengths=lengths, times=empty.index.to_numpy(),
            columns={c: np.empty(0) for c in convert.COLUMNS},
        )
    labels = np.concatenate([f.index.to_numpy() for f in kept]).astype(str)
    times = pd.to_datetime(pd.Index(labels), format="%Y%m%d").to_numpy()
    parts = [_daily_columns(f) for f in kept]
    columns = {c: np.concatenate([p[c] for p in parts]) for c in convert.COLUMNS}
    return HistoryBatch(lengths=lengths, times=times, columns=columns)


def minute_batch(frames: Sequence[pd.DataFrame | None], count: int | None) -> HistoryBatch:
    """Intraday xtdata frames: ``bars_from_xt`` per code (auction merge), then arrays."""
    bars = [convert.bars_from_xt(f, daily=False) for f in frames]
    if count is not None:
        bars = [b.iloc[-count:] for b in bars]
    return batch_from_frames(bars)
