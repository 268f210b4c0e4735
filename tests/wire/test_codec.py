import datetime as dt
import decimal
import math

import numpy as np
import pytest

from bullet_trade.wire.codec import decode_json, encode_json
from bullet_trade.wire.errors import EncodeError, MalformedFrame


def test_datetime_formats_like_v1() -> None:
    body = encode_json({"a": dt.datetime(2026, 3, 18, 20, 4, 27), "b": dt.date(2026, 1, 2)})
    assert decode_json(body) == {"a": "2026-03-18 20:04:27", "b": "2026-01-02"}


def test_microseconds_kept() -> None:
    body = encode_json({"a": dt.datetime(2026, 3, 18, 20, 4, 27, 5)})
    assert decode_json(body)["a"] == "2026-03-18 20:04:27.000005"


def test_non_ascii_raw() -> None:
    assert "平安银行".encode() in encode_json({"n": "平安银行"})


def test_numpy_and_decimal() -> None:
    out = decode_json(
        encode_json({"i": np.int64(3), "f": np.float32(1.5), "d": decimal.Decimal("2.5")})
    )
    assert out == {"i": 3, "f": 1.5, "d": 2.5}


def test_nan_written_as_null() -> None:
    assert decode_json(encode_json({"x": math.nan, "y": math.inf})) == {"x": None, "y": None}


def test_nan_tokens_accepted_on_input() -> None:
    out = decode_json(b'{"count":NaN,"a":Infinity,"b":-Infinity}')
    assert math.isnan(out["count"]) and out["a"] == math.inf and out["b"] == -math.inf


@pytest.mark.parametrize("body", [b"{bad", b"", b"[1,2]", b"\xff\xfe{}", b"123", b'"s"'])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedFrame):
        decode_json(body)


def test_unencodable_value_raises_encode_error() -> None:
    with pytest.raises(EncodeError):
        encode_json({"x": object()})
