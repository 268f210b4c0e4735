"""The whole-array history assembly gives exactly what the pandas path gives (v1 bytes and
columnar payloads), and steps aside whenever it could not."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from bullet_trade.model.codes import parse_security
from bullet_trade.server.handlers import history_arrays
from bullet_trade.server.handlers.history import assemble, parse_history
from bullet_trade.wire import columnar
from bullet_trade.wire.codec import encode_json
from bullet_trade.wire.envelopes import dataframe_to_payload

FIELDS = ["open", "close", "paused"]


def _frame(start: str, periods: int, seed: int, *, freq: str = "B") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=periods, freq=freq, name="time")
    paused = (rng.random(periods) < 0.2).astype(float)
    return pd.DataFrame(
        {
            "open": rng.random(periods),
            "close": rng.random(periods),
            "high": rng.random(periods),
            "paused": paused,
        },
        index=index,
    )


def _both(frames: list[pd.DataFrame], payload: dict[str, Any]) -> None:
    """Assert the fast path applies and matches the pandas path for both encodings."""
    codes = list(payload["security"])
    request = parse_history(payload)
    selected = []
    for raw in frames:
        frame = raw[raw["paused"] != 1] if request.skip_paused else raw
        selected.append(frame.loc[:, list(request.fields)].rename_axis("time"))
    expected = assemble(request, selected)
    jq = [parse_security(c).jq for c in codes]
    bars = history_arrays.gather(
        frames, jq, request.fields, skip_paused=request.skip_paused, panel=request.panel
    )
    assert bars is not None
    frame = history_arrays.panel_frame(bars) if request.panel else history_arrays.long_frame(bars)
    assert encode_json(dataframe_to_payload(frame)) == encode_json(dataframe_to_payload(expected))
    fast = history_arrays.panel_columnar(bars) if request.panel else history_arrays.long_columnar(bars)
    assert encode_json(fast) == encode_json(columnar.dataframe_to_columnar(expected))


CODES = ["600000.XSHG", "000001.XSHE", "000002.XSHE"]


@pytest.mark.parametrize("panel", [True, False])
@pytest.mark.parametrize("skip_paused", [True, False])
def test_same_calendar(panel: bool, skip_paused: bool) -> None:
    frames = [_frame("2025-01-01", 40, seed) for seed in range(3)]
    payload = {"security": CODES, "fields": FIELDS[:2], "panel": panel, "skip_paused": skip_paused}
    _both(frames, payload)


@pytest.mark.parametrize("panel", [True, False])
def test_ragged_calendars_and_an_empty_security(panel: bool) -> None:
    frames = [
        _frame("2025-01-01", 30, 1),
        _frame("2025-01-15", 10, 2, freq="D"),
        _frame("2025-01-01", 0, 3),
    ]
    _both(frames, {"security": CODES, "fields": FIELDS, "panel": panel})


def test_tiny_long_table_keeps_the_json_code_column() -> None:
    frames = [_frame("2025-01-01", 1, 1), _frame("2025-01-02", 1, 2)]
    _both(frames, {"security": CODES[:2], "fields": ["close"], "panel": False})


def test_steps_aside_when_it_could_differ() -> None:
    good = _frame("2025-01-01", 5, 1)
    ints = good.assign(close=np.arange(5))
    tz = good.tz_localize("Asia/Shanghai")
    unsorted = good.iloc[::-1]
    empty = good.iloc[:0]
    fields = ("open", "close")

    def gather(frames: list[pd.DataFrame], panel: bool = False) -> object:
        codes = [str(i) for i in range(len(frames))]
        return history_arrays.gather(frames, codes, fields, skip_paused=False, panel=panel)

    assert gather([good, ints]) is None  # an int field keeps its dtype in pandas
    assert gather([good, tz]) is None
    assert gather([good, good[["open"]]]) is None  # missing field: pandas raises the error
    assert gather([good, unsorted], panel=True) is None
    assert gather([good, unsorted], panel=False) is not None  # a long table keeps row order
    assert gather([empty, empty]) is None
