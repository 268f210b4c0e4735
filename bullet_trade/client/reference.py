"""Decoding of the reference data replies (``data.get_all_securities``,
``data.get_index_stocks``, ``data.get_split_dividend``) into frames and model records.

Decoders are lenient about what a v1 server sends: the security frame's code may be the
index (our server, and the 0.10 index metadata) or a ``code`` / ``qmt_code`` column; the
index members may be under ``values`` or ``value``; event rows skip unknown keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from bullet_trade.client.convert import as_float, as_int, parse_date, security_info_from_wire
from bullet_trade.errors import InternalError
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import DividendEvent, SecurityInfo

#: ``end_date`` the server sends for an instrument without one.
NO_END_DATE = date(2200, 1, 1)


def types_payload(types: str | Sequence[str] | None) -> list[str]:
    """``types`` as the list the server expects (default ``["stock"]``)."""
    if types is None:
        return ["stock"]
    return [types] if isinstance(types, str) else [str(t) for t in types]


def security_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a decoded ``data.get_all_securities`` frame, each with its ``code``."""
    if frame.empty:
        return []
    table = frame.reset_index() if frame.index.name == "code" else frame
    return [{str(k): v for k, v in row.items()} for row in table.to_dict(orient="records")]


def securities_from_frame(frame: pd.DataFrame) -> list[SecurityInfo]:
    """:class:`SecurityInfo` records from a decoded ``data.get_all_securities`` frame.

    The frame has no ``subtype`` column, so ``subtype`` is ``None``; the wire's "no end
    date" sentinel (``2200-01-01`` or later) becomes ``end_date=None``.
    """
    out = []
    for row in security_rows(frame):
        info = security_info_from_wire(row)
        if info.end_date is not None and info.end_date >= NO_END_DATE:
            info = dataclasses.replace(info, end_date=None)
        out.append(info)
    return out


def index_members(reply: Any) -> list[str]:
    """JoinQuant codes of a ``data.get_index_stocks`` reply."""
    if isinstance(reply, Mapping):
        reply = reply.get("values", reply.get("value"))
    return [parse_security(code).jq for code in reply or []]


def event_rows(reply: Any) -> list[dict[str, Any]]:
    """The ``events`` list of a ``data.get_split_dividend`` reply (a bare list is accepted)."""
    if isinstance(reply, Mapping):
        reply = reply.get("events")
    return [dict(row) for row in reply or [] if isinstance(row, Mapping)]


def event_from_wire(row: Mapping[str, Any], security: Security) -> DividendEvent:
    """One v1 event row as a :class:`DividendEvent` (``security`` when the row has none).

    Raises:
        InternalError: the row has no valid date.
    """
    day = parse_date(row.get("date"))
    if day is None:
        raise InternalError(f"dividend event without a valid date: {row!r}")
    code = row.get("security")
    return DividendEvent(
        security=parse_security(code) if code else security,
        ex_date=day,
        security_type=str(row.get("security_type") or "stock"),
        scale_factor=as_float(row.get("scale_factor"), 1.0),
        bonus_pre_tax=as_float(row.get("bonus_pre_tax"), 0.0),
        per_base=as_int(row.get("per_base"), 10) or 10,
    )
