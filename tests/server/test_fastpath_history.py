"""The whole-array history assembly gives exactly what the pandas path gives (v1 bytes and
columnar payloads), and steps aside whenever it could not; a provider with the optional
``history_batch`` capability gets byte-identical answers to one without it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from handler_fakes import FakeSession, make_ctx, make_state

from bullet_trade.adapters.batch import batch_from_frames, history_batch_via_frames
from bullet_trade.adapters.contracts import BatchHistoryProvider, HistoryBatch
from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import HistoryQuery
from bullet_trade.server.handlers import history_arrays
from bullet_trade.server.handlers.history import assemble, parse_history
from bullet_trade.server.handlers.history import history as history_handler
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


# ---------------------------------------------------------------- the batch capability


class FramesData:
    """A provider that only has ``history`` (one frame per code)."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.batch_calls = 0

    async def history(self, query: HistoryQuery) -> pd.DataFrame:
        return self.frames[query.security.jq]


class BatchData(FramesData):
    """The same provider with the optional ``history_batch`` capability."""

    async def history_batch(self, queries: Sequence[HistoryQuery]) -> HistoryBatch:
        self.batch_calls += 1
        return await history_batch_via_frames(self, queries)


async def _answer(data: object, payload: dict[str, Any], fast: bool) -> bytes:
    extensions = frozenset({columnar.EXTENSION}) if fast else frozenset()
    ctx = make_ctx(make_state(data=data), "data.history", FakeSession(extensions=extensions))
    return encode_json(await history_handler(ctx, payload))


async def _same_answers(frames: list[pd.DataFrame], payload: dict[str, Any]) -> None:
    """Per-code and batch providers give byte-identical answers in both encodings."""
    by_code = {parse_security(c).jq: f for c, f in zip(payload["security"], frames, strict=True)}
    plain, batch = FramesData(by_code), BatchData(by_code)
    assert isinstance(batch, BatchHistoryProvider) and not isinstance(plain, BatchHistoryProvider)
    for fast in (False, True):
        assert await _answer(batch, payload, fast) == await _answer(plain, payload, fast)
    assert batch.batch_calls == 2


@pytest.mark.parametrize("panel", [True, False])
@pytest.mark.parametrize("skip_paused", [True, False])
async def test_batch_provider_answers_like_per_code_calls(panel: bool, skip_paused: bool) -> None:
    frames = [_frame("2025-01-01", 40, seed) for seed in range(3)]
    payload = {"security": CODES, "fields": FIELDS, "panel": panel, "skip_paused": skip_paused}
    await _same_answers(frames, payload)


@pytest.mark.parametrize("panel", [True, False])
async def test_batch_provider_ragged_empty_and_unsorted(panel: bool) -> None:
    ragged = [_frame("2025-01-01", 30, 1), _frame("2025-01-15", 10, 2, freq="D"),
              _frame("2025-01-01", 0, 3)]
    await _same_answers(ragged, {"security": CODES, "fields": FIELDS, "panel": panel})
    unsorted = [_frame("2025-01-01", 5, 1).iloc[::-1], _frame("2025-01-01", 5, 2)]
    await _same_answers(unsorted, {"security": CODES[:2], "fields": ["close"], "panel": panel})
    empty = [_frame("2025-01-01", 0, 1), _frame("2025-01-01", 0, 2)]
    await _same_answers(empty, {"security": CODES[:2], "fields": FIELDS, "panel": panel})


async def test_batch_provider_reports_an_unknown_field_like_per_code_calls() -> None:
    frames = {parse_security(c).jq: _frame("2025-01-01", 5, i) for i, c in enumerate(CODES)}
    payload = {"security": CODES, "fields": ["close", "vwap"]}
    errors = []
    for data in (FramesData(frames), BatchData(frames)):
        with pytest.raises(BadRequest) as info:
            await _answer(data, payload, fast=True)
        errors.append((info.value.message, info.value.field))
    assert errors[0] == errors[1] and errors[0][1] == "fields[1]"


def test_from_batch_uses_the_batch_arrays_without_copying() -> None:
    frames = [_frame("2025-01-01", 20, seed) for seed in range(3)]
    batch = batch_from_frames(frames)
    fields = ("open", "close")
    bars = history_arrays.from_batch(batch, CODES, fields, skip_paused=False, panel=False)
    assert bars is not None and bars.values[1] is batch.columns["close"]
    assert bars.times is batch.times
    request = parse_history({"security": CODES, "fields": list(fields), "panel": False})
    expected = assemble(request, [f.loc[:, list(fields)].rename_axis("time") for f in frames])
    assert encode_json(history_arrays.long_columnar(bars)) == encode_json(
        columnar.dataframe_to_columnar(expected))


def test_from_batch_steps_aside_when_it_could_differ() -> None:
    good = _frame("2025-01-01", 5, 1)
    dup = pd.concat([good.iloc[:2], good.iloc[1:]])
    nat = good.set_axis(good.index.insert(5, pd.NaT)[1:].rename("time"))

    def bars(frames: list[pd.DataFrame], fields: tuple[str, ...] = ("open",),
             panel: bool = True) -> object:
        codes = [str(i) for i in range(len(frames))]
        batch = batch_from_frames(frames)
        return history_arrays.from_batch(batch, codes, fields, skip_paused=False, panel=panel)

    assert bars([good, good]) is not None
    assert bars([good, dup]) is None  # duplicate times in a panel
    assert bars([good, dup], panel=False) is not None
    assert bars([good, nat]) is None
    assert bars([good, good], fields=("open", "vwap")) is None  # pandas raises the error
    assert bars([good.iloc[:0], good.iloc[:0]]) is None
    assert history_arrays.from_batch(batch_from_frames([good]), ["a", "b"], ("open",),
                                     skip_paused=False, panel=False) is None
