"""JSON codec for frame bodies.

Encoding uses orjson (UTF-8, non-ASCII raw, compact). Datetimes are written the way v1
clients expect (``YYYY-MM-DD HH:MM:SS``, plus ``.ffffff`` when non-zero); NaN and infinities
are written as ``null`` (standard JSON; the published server emitted bare ``NaN`` tokens,
weakness W-P9). Decoding accepts the non-standard ``NaN``/``Infinity`` tokens that v1 peers
send, by falling back to the standard library parser when orjson refuses a body.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import orjson
import pandas as pd

from bullet_trade.wire.errors import EncodeError, MalformedFrame

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def format_datetime(value: dt.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (+ ``.ffffff`` when microseconds are set); tz info dropped."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value is pd.NaT:
            return None
        return format_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalars not handled natively
        return item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    iso = getattr(value, "isoformat", None)
    if callable(iso):
        return iso()
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_json(message: dict[str, Any]) -> bytes:
    """Encode one message body.

    Raises:
        EncodeError: a value has no JSON form.
    """
    try:
        return orjson.dumps(message, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise EncodeError(f"response could not be encoded: {exc}") from exc


def decode_json(body: bytes) -> dict[str, Any]:
    """Decode one frame body into a JSON object.

    Raises:
        MalformedFrame: not UTF-8, not JSON, or not a JSON object.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = _decode_lenient(body)
    if not isinstance(value, dict):
        raise MalformedFrame(
            f"frame body must be a JSON object, got {type(value).__name__}", field="frame"
        )
    return value


def _decode_lenient(body: bytes) -> Any:
    """Standard-library parse: accepts NaN, Infinity and -Infinity tokens."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedFrame("frame body is not valid UTF-8", field="frame") from exc
    except (ValueError, RecursionError) as exc:
        raise MalformedFrame(f"frame body is not valid JSON: {exc}", field="frame") from exc
