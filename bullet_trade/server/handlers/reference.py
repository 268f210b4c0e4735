"""Reference data actions: ``data.get_all_securities``, ``data.get_index_stocks`` and
``data.get_split_dividend`` (v1 aliases ``data.all_securities``, ``data.index_stocks``,
``data.split_dividend``).

They need the optional :class:`~bullet_trade.adapters.contracts.ReferenceData` capability of
the data provider; without it they answer ``UNSUPPORTED`` naming the action. Response shapes
(protocol.md 5.2):

* ``data.get_all_securities``: dataframe envelope indexed by ``code`` (sent as an index column
  with metadata, so v1 and 0.10 clients both decode it, unlike v1's W-P8), columns
  ``display_name, name, start_date, end_date, type, qmt_code`` (dates ``YYYY-MM-DD``).
* ``data.get_index_stocks``: ``{"values": [JoinQuant codes]}``.
* ``data.get_split_dividend``: ``{"events": [{security, date, security_type, scale_factor,
  bonus_pre_tax, per_base}, ...]}``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bullet_trade.adapters.contracts import ReferenceData, check_security_types
from bullet_trade.errors import BadRequest, Unsupported
from bullet_trade.model.records import SecurityInfo
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers.history import require_data
from bullet_trade.server.handlers.params import opt_date, pick, req_security, str_list
from bullet_trade.wire.envelopes import dataframe_to_payload

SECURITY_COLUMNS = ("display_name", "name", "start_date", "end_date", "type", "qmt_code")
MAX_TYPES = 16


def require_reference(ctx: RequestContext) -> ReferenceData:
    """The data provider as :class:`ReferenceData`.

    Raises:
        Unsupported: the data service is disabled, or its provider has no reference data
            (the message names the action).
    """
    data = require_data(ctx)
    if not isinstance(data, ReferenceData):
        raise Unsupported(
            f"{ctx.action} is not supported by this server's data backend "
            f"({type(data).__name__} has no reference data)"
        )
    return data


def parse_types(payload: dict[str, Any]) -> tuple[str, ...]:
    """``types``: a string or a list of strings, default ``stock``.

    Raises:
        BadRequest: not a string/list, or an unknown type (``field`` is ``types`` or
            ``types[i]``).
    """
    name, value = pick(payload, "types")
    if value is None:
        return ("stock",)
    items = str_list(value, name, max_items=MAX_TYPES)
    out: list[str] = []
    for field, text in items:
        out.extend(check_security_types([text], field=field))
    return tuple(dict.fromkeys(out)) or ("stock",)


def securities_frame(infos: list[SecurityInfo]) -> pd.DataFrame:
    """JoinQuant's ``get_all_securities`` frame: indexed by ``code``, the
    :data:`SECURITY_COLUMNS` as text."""
    rows = [info.to_wire() for info in infos]
    frame: pd.DataFrame = pd.DataFrame(
        [[row[c] for c in SECURITY_COLUMNS] for row in rows],
        columns=list(SECURITY_COLUMNS),
        dtype=object,
    )
    frame.index = pd.Index([row["code"] for row in rows], name="code", dtype=object)
    return frame


async def all_securities(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Listed instruments of ``types`` (``date``: listed on that day) as a dataframe
    envelope indexed by ``code``."""
    reference = require_reference(ctx)
    types = parse_types(payload)
    day = opt_date(payload, "date")
    ctx.log_fields["types"] = ",".join(types)
    infos = await reference.all_securities(types, day)
    return dataframe_to_payload(securities_frame(infos))


async def index_stocks(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"values": [JoinQuant codes]}``: constituents of ``index_symbol`` (alias ``index``)
    on ``date`` when the backend keeps history."""
    reference = require_reference(ctx)
    index = req_security(payload, "index_symbol", "index")
    day = opt_date(payload, "date")
    members = await reference.index_stocks(index, day)
    return {"values": [s.jq for s in members]}


async def split_dividend(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``{"events": [...]}``: ex-dividend events of ``security`` between ``start``
    (``start_date``) and ``end`` (``end_date``), oldest first.

    Raises:
        BadRequest: a missing or invalid ``security``, a bad date, or start after end.
    """
    reference = require_reference(ctx)
    security = req_security(payload, "security")
    start_name, _ = pick(payload, "start", "start_date")
    start = opt_date(payload, "start", "start_date")
    end = opt_date(payload, "end", "end_date")
    if start is not None and end is not None and start > end:
        raise BadRequest("start must not be after end", field=start_name)
    events = await reference.split_dividend(security, start, end)
    return {"events": [event.to_wire() for event in events]}
