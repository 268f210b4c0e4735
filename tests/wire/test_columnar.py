"""The negotiated ``history.columnar.v1`` encoding: round trips, equivalence with the v1
envelope, negotiation, and rejection of malformed payloads (no sockets)."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest

from bullet_trade.client.provider import PROVIDER_EXTENSIONS, history_frame
from bullet_trade.server.handshake import SUPPORTED_EXTENSIONS, granted_extensions
from bullet_trade.wire import columnar
from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.envelopes import dataframe_to_payload, payload_to_dataframe
from bullet_trade.wire.errors import MalformedMessage


def _over_the_wire(payload: dict) -> dict:
    return decode_json(encode_json({"type": "response", "id": "r1", "payload": payload}))[
        "payload"
    ]


def _bars(rows: int = 5) -> pd.DataFrame:
    index = pd.date_range("2025-01-02 09:31", periods=rows, freq="min", name="time")
    values = np.arange(rows * 3, dtype=float).reshape(rows, 3)
    frame = pd.DataFrame(values, index=index, columns=["open", "close", "volume"])
    if rows > 1:
        frame.iloc[1, 0] = np.nan
    return frame


def test_time_indexed_frame_round_trips_with_nan_and_index() -> None:
    frame = _bars()
    decoded = columnar.columnar_to_dataframe(_over_the_wire(columnar.dataframe_to_columnar(frame)))
    pd.testing.assert_frame_equal(decoded, frame, check_freq=False)
    assert np.isnan(decoded.iloc[1, 0])


def test_same_frame_as_the_v1_envelope_gives() -> None:
    frame = _bars()
    via_v1 = payload_to_dataframe(_over_the_wire(dataframe_to_payload(frame)))
    via_columnar = history_frame(_over_the_wire(columnar.dataframe_to_columnar(frame)))
    pd.testing.assert_frame_equal(via_columnar, via_v1, check_index_type=False, check_freq=False)
    assert isinstance(via_columnar.index, pd.DatetimeIndex)


def test_panel_columns_keep_field_code_levels() -> None:
    columns = pd.MultiIndex.from_product(
        [["open", "close"], ["000001.XSHE", "600000.XSHG"]], names=["field", "code"]
    )
    index = pd.date_range("2025-01-02", periods=3, freq="D", name="time")
    frame = pd.DataFrame(np.ones((3, 4)), index=index, columns=columns)
    payload = _over_the_wire(columnar.dataframe_to_columnar(frame))
    assert payload["column_index_names"] == ["field", "code"]
    pd.testing.assert_frame_equal(columnar.columnar_to_dataframe(payload), frame, check_freq=False)


def test_long_table_dictionary_encodes_codes_and_keeps_strings() -> None:
    codes = ["000001.XSHE", "600000.XSHG", None, "000001.XSHE"]
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(["2025-01-02"] * 4),
            "code": codes,
            "close": [1.0, 2.0, 3.0, 4.0],
            "n": np.array([1, 2, 3, 4], dtype=np.int64),
            "flag": [True, False, True, False],
        }
    )
    payload = _over_the_wire(columnar.dataframe_to_columnar(frame))
    kinds = [entry["kind"] for entry in payload["data"]]
    assert kinds == ["M8", "dict", "f8", "i8", "b1"]
    decoded = columnar.columnar_to_dataframe(payload)
    assert decoded["code"].tolist()[:2] == ["000001.XSHE", "600000.XSHG"]
    assert pd.isna(decoded["code"].iloc[2])
    assert decoded["n"].tolist() == [1, 2, 3, 4]
    assert decoded["flag"].tolist() == [True, False, True, False]


def test_mixed_objects_fall_back_to_json_lists() -> None:
    frame = pd.DataFrame({"x": ["a", 1, None]}, dtype=object)
    payload = _over_the_wire(columnar.dataframe_to_columnar(frame))
    assert payload["data"][0] == {"kind": "json", "values": ["a", 1, None]}
    assert columnar.columnar_to_dataframe(payload)["x"].tolist()[:2] == ["a", 1]


def test_tz_aware_datetimes_keep_their_zone() -> None:
    moments = pd.date_range("2025-01-02 09:30", periods=2, freq="min", tz="Asia/Shanghai")
    frame = pd.DataFrame({"t": moments, "v": [1.0, 2.0]})
    decoded = columnar.columnar_to_dataframe(
        _over_the_wire(columnar.dataframe_to_columnar(frame))
    )
    assert decoded["t"].tolist() == list(moments)


def test_empty_frame_round_trips() -> None:
    frame = _bars(0)
    decoded = columnar.columnar_to_dataframe(_over_the_wire(columnar.dataframe_to_columnar(frame)))
    assert decoded.empty
    assert list(decoded.columns) == ["open", "close", "volume"]


def test_is_only_granted_when_requested() -> None:
    assert columnar.EXTENSION in SUPPORTED_EXTENSIONS
    assert columnar.EXTENSION in PROVIDER_EXTENSIONS
    assert granted_extensions(()) == ()
    assert granted_extensions((columnar.EXTENSION, "nope")) == (columnar.EXTENSION,)


def test_v1_decoder_never_misreads_a_columnar_payload() -> None:
    """A client that did not negotiate cannot be sent this shape; if it were, the v1 rules
    (dtype is not ``dataframe``) give an empty frame rather than wrong data."""
    payload = columnar.dataframe_to_columnar(_bars())
    assert payload_to_dataframe(payload).empty


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"version": 2}, "version"),
        ({"rows": -1}, "rows"),
        ({"columns": ["a"]}, "data"),
        ({"data": [{"kind": "f8", "b64": "!!"}] * 4}, "data"),
        ({"data": [{"kind": "f8", "b64": base64.b64encode(b"\0" * 8).decode()}] * 4}, "data"),
        ({"data": [{"kind": "zz"}] * 4}, "data"),
        ({"data": [{"kind": "M8", "unit": "h", "b64": ""}] * 4}, "data"),
        ({"index_columns": ["nope"]}, "index_columns"),
    ],
)
def test_malformed_payloads_are_rejected(patch: dict, field: str) -> None:
    payload = {**columnar.dataframe_to_columnar(_bars()), **patch}
    with pytest.raises(MalformedMessage) as info:
        columnar.columnar_to_dataframe(payload)
    assert info.value.field == field


def test_dictionary_codes_out_of_range_are_rejected() -> None:
    frame = pd.DataFrame({"code": ["a", "a", "b", "b"]})
    payload = columnar.dataframe_to_columnar(frame)
    bad = np.array([0, 0, 5, 1], dtype="<i4").tobytes()
    payload["data"][0]["codes"] = base64.b64encode(bad).decode()
    with pytest.raises(MalformedMessage):
        columnar.columnar_to_dataframe(payload)


def test_encode_array_takes_provider_arrays_as_they_are() -> None:
    """Arrays of a provider's ``HistoryBatch`` (any datetime unit, contiguous or strided
    slices) encode without a DataFrame and decode to the same values."""
    times = np.arange(6).astype("datetime64[D]").astype("datetime64[us]")
    block = np.arange(12, dtype=float).reshape(6, 2)
    entries = [columnar.encode_array(times), columnar.encode_array(block[:, 1])]
    assert entries[0] is not None and entries[0]["unit"] == "us"
    payload = _over_the_wire(columnar.encode_table(
        ["time", "close"], [e for e in entries if e is not None], 6,
        index_meta={"index_columns": ["time"], "index_names": ["time"],
                    "index_dtypes": ["datetime64[us]"], "index_type": "DatetimeIndex"},
    ))
    decoded = columnar.columnar_to_dataframe(payload)
    assert decoded.index.to_numpy().tolist() == times.tolist()
    assert decoded["close"].tolist() == block[:, 1].tolist()
    assert columnar.encode_array(np.array(["a"], dtype=object)) is None
