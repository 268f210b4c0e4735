import numpy as np
import pandas as pd

from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.envelopes import dataframe_to_payload, dict_envelope, payload_to_dataframe


def _roundtrip(df: pd.DataFrame) -> pd.DataFrame:
    return payload_to_dataframe(decode_json(encode_json(dataframe_to_payload(df))))


def test_time_index_survives_the_wire() -> None:
    idx = pd.DatetimeIndex(["2026-01-05 09:31", "2026-01-05 09:32"], name="time")
    df = pd.DataFrame({"open": [10.0, 10.1], "volume": [100.0, 200.0]}, index=idx)
    payload = dataframe_to_payload(df)
    assert payload["columns"] == ["time", "open", "volume"]
    assert payload["records"][0] == ["2026-01-05 09:31:00", 10.0, 100.0]
    assert payload["index_columns"] == ["time"]
    back = _roundtrip(df)
    assert list(back.columns) == ["open", "volume"]
    assert list(back.index) == list(idx)
    assert back.index.name == "time"


def test_nan_cell_becomes_null() -> None:
    df = pd.DataFrame({"close": [1.0, np.nan]})
    assert dataframe_to_payload(df)["records"] == [[1.0], [None]]


def test_multiindex_columns_field_code() -> None:
    idx = pd.DatetimeIndex(["2026-01-05", "2026-01-06"], name="time")
    cols = pd.MultiIndex.from_tuples([("close", "000001.XSHE"), ("close", "600000.XSHG")])
    df = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=idx, columns=cols)
    payload = dataframe_to_payload(df)
    assert payload["column_tuples"][1] == ["close", "000001.XSHE"]
    back = _roundtrip(df)
    assert back.columns.names == ["field", "code"]
    assert back[("close", "600000.XSHG")].tolist() == [2.0, 4.0]
    assert list(back.index) == list(idx)


def test_legacy_tuple_strings_and_swapped_levels() -> None:
    payload = {
        "dtype": "dataframe",
        "columns": ["('000001.XSHE', 'close')", "('600000.XSHG', 'close')"],
        "records": [[1.0, 2.0]],
    }
    back = payload_to_dataframe(payload)
    assert list(back.columns) == [("close", "000001.XSHE"), ("close", "600000.XSHG")]


def test_non_dataframe_payload_gives_empty_frame() -> None:
    assert payload_to_dataframe({"dtype": "list"}).empty


def test_plain_range_index_not_sent() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    assert "index_columns" not in dataframe_to_payload(df)


def test_dict_envelope_flattens_non_null() -> None:
    env = dict_envelope({"code": "x", "subtype": None, "value": 1})
    assert env == {
        "dtype": "dict",
        "value": {"code": "x", "subtype": None, "value": 1},
        "code": "x",
    }
