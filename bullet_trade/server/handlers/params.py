"""Typed parsing of v1 request payloads.

Every helper reads one field (under one or more alias names), validates it and returns a typed
value, or raises :class:`~bullet_trade.errors.BadRequest` whose ``field`` names the offending
input exactly as the client spelled it (``securities[3]``, ``style.price``...).

Conventions shared by every helper:

* A key that is absent or ``null`` means "not given" (the 0.10 client sends unused keys as
  ``null``); the helper then returns its default.
* ``bool`` is never accepted where a number is expected (``True`` is an ``int`` in Python).
* Numbers must be finite; integers may arrive as integral floats (``100.0``).
* Aliases are tried in order; the first one present and non-null wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bullet_trade.errors import BadRequest
from bullet_trade.model.codes import Security, parse_security

MAX_TEXT = 256
MAX_LIST = 10_000

_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y%m%d",
)


def pick(payload: Mapping[str, Any], *names: str) -> tuple[str, Any]:
    """The first alias present with a non-null value, as ``(name, value)``.

    Returns ``(names[0], None)`` when none is given.
    """
    for name in names:
        value = payload.get(name)
        if value is not None:
            return name, value
    return names[0], None


def _type_name(value: object) -> str:
    return type(value).__name__


def opt_str(payload: Mapping[str, Any], *names: str, max_len: int = MAX_TEXT) -> str | None:
    """An optional string, stripped; blank counts as not given."""
    name, value = pick(payload, *names)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, got {_type_name(value)}", field=name)
    text = value.strip()
    if len(text) > max_len:
        raise BadRequest(f"{name} is longer than {max_len} characters", field=name)
    return text or None


def opt_id(payload: Mapping[str, Any], *names: str) -> str | None:
    """An identifier given as a string or an integer (broker order ids are often numeric)."""
    name, value = pick(payload, *names)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return opt_str(payload, name)


def _as_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{name} must be a number, got {_type_name(value)}", field=name)
    number = float(value)
    if not math.isfinite(number):
        raise BadRequest(f"{name} must be a finite number", field=name)
    return number


def opt_int(
    payload: Mapping[str, Any],
    *names: str,
    minimum: int = 1,
    maximum: int,
    nan_is_absent: bool = False,
) -> int | None:
    """An optional integer in ``[minimum, maximum]``.

    Args:
        nan_is_absent: treat a ``NaN`` value as not given (v1 clients send ``count: NaN``).
    """
    name, value = pick(payload, *names)
    if value is None:
        return None
    if nan_is_absent and isinstance(value, float) and math.isnan(value):
        return None
    number = _as_number(name, value)
    if not number.is_integer():
        raise BadRequest(f"{name} must be a whole number, got {value!r}", field=name)
    if not minimum <= number <= maximum:
        raise BadRequest(
            f"{name} must be between {minimum} and {maximum}, got {value!r}", field=name
        )
    return int(number)


def opt_float(
    payload: Mapping[str, Any],
    *names: str,
    minimum: float,
    maximum: float,
    strict_min: bool = False,
) -> float | None:
    """An optional finite float in ``[minimum, maximum]`` (``(minimum, maximum]`` if strict)."""
    name, value = pick(payload, *names)
    if value is None:
        return None
    number = _as_number(name, value)
    too_low = number <= minimum if strict_min else number < minimum
    if too_low or number > maximum:
        low = f"greater than {minimum}" if strict_min else f"at least {minimum}"
        raise BadRequest(f"{name} must be {low} and at most {maximum}, got {value!r}", field=name)
    return number


def opt_bool(payload: Mapping[str, Any], *names: str, default: bool) -> bool:
    """An optional JSON boolean (``0``/``1`` are accepted as v1 clients sometimes send them)."""
    name, value = pick(payload, *names)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise BadRequest(f"{name} must be true or false, got {value!r}", field=name)


def parse_datetime(value: object, name: str) -> datetime:
    """Parse ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM:SS`` (also with ``T``) or ``YYYYMMDD``."""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a date string, got {_type_name(value)}", field=name)
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadRequest(
        f"{name} {value!r} is not a date like 2024-01-31, 2024-01-31 09:30:00 or 20240131",
        field=name,
    )


def opt_datetime(payload: Mapping[str, Any], *names: str) -> datetime | None:
    name, value = pick(payload, *names)
    return None if value is None else parse_datetime(value, name)


def opt_date(payload: Mapping[str, Any], *names: str) -> date | None:
    moment = opt_datetime(payload, *names)
    return None if moment is None else moment.date()


def req_security(payload: Mapping[str, Any], *names: str) -> Security:
    """A required security code (JoinQuant or QMT form)."""
    name, value = pick(payload, *names)
    if value is None:
        raise BadRequest(f"{name} is required", field=name)
    return parse_security(value, field=name)


def str_list(value: object, name: str, *, max_items: int = MAX_LIST) -> list[tuple[str, str]]:
    """A string or a list of strings as ``[(field, text), ...]``.

    A plain string is ONE item, never iterated per character (v1 defect W-P6). Each item's
    field name is ``name[i]`` (``name`` for a plain string).
    """
    if isinstance(value, str):
        return [(name, value)]
    if not isinstance(value, list):
        raise BadRequest(
            f"{name} must be a string or a list of strings, got {_type_name(value)}", field=name
        )
    if len(value) > max_items:
        raise BadRequest(f"{name} has more than {max_items} items", field=name)
    out: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        field = f"{name}[{i}]"
        if not isinstance(item, str):
            raise BadRequest(f"{field} must be a string, got {_type_name(item)}", field=field)
        out.append((field, item))
    return out


def security_list(value: object, name: str, *, max_items: int = MAX_LIST) -> list[Security]:
    """Parse a code or a list of codes; each bad entry is named (``security[2]``)."""
    return [
        parse_security(text, field=field)
        for field, text in str_list(value, name, max_items=max_items)
    ]


def sub_mapping(payload: Mapping[str, Any], name: str) -> dict[str, Any]:
    """An optional nested object (``style``, ``filters``); absent or null gives ``{}``."""
    value = payload.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{name} must be an object, got {_type_name(value)}", field=name)
    return value


def prefixed(prefix: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Keys of a nested object renamed ``prefix.key``, so errors name the nested field."""
    return {f"{prefix}.{key}": value for key, value in payload.items()}
