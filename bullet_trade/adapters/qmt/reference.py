"""Reference data over ``xtquant.xtdata``: the instrument list, index constituents and
ex-dividend events (the :class:`~bullet_trade.adapters.contracts.ReferenceData` capability of
:class:`~bullet_trade.adapters.qmt.data.QmtDataAdapter`, which delegates here).

Every function takes the adapter's serialising :class:`~.worker.XtWorker` and the ``xtdata``
module; xtdata is only ever entered on the worker thread (several xtdata calls that belong
together run as one worker job). A plain ``Exception`` raised by the SDK becomes
``BackendUnavailable`` naming the call.

* ``all_securities``: members of the sectors in :data:`SECTORS` (``get_stock_list_in_sector``),
  described by ``get_instrument_detail_list`` (or ``get_instrument_detail`` per code on SDKs
  without it): ``InstrumentName``, ``OpenDate``, ``ExpireDate``; the type comes from the
  code's board, as for ``security_info``. Codes without a detail keep their symbol as name.
* ``index_stocks``: the keys of ``get_index_weight(index)``, after one
  ``download_index_weight()`` per worker and trading day (when the SDK has it; a failed
  download is logged and the local weights are used). MiniQMT keeps no membership history,
  so ``date`` is ignored.
* ``split_dividend``: ``get_divid_factors(code, start, end)`` rows (one per ex-date):
  ``interest`` is cash per share, ``stockBonus`` + ``stockGift`` + ``allotNum`` shares per
  share (as v1 counted them); cash is reported per 10 shares for stocks and per share for
  funds. The ex-date is the ``YYYYMMDD`` index, else the ``time`` column (epoch ms).
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from bullet_trade.adapters.contracts import check_security_types
from bullet_trade.adapters.qmt.convert import parse_ymd
from bullet_trade.adapters.qmt.worker import XtWorker
from bullet_trade.errors import BackendUnavailable, BadRequest, BulletTradeError
from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import DividendEvent, SecurityInfo
from bullet_trade.model.rules import Board, board_of, instrument_type

logger = logging.getLogger(__name__)

#: Requested type → the miniQMT sectors listing it.
SECTORS: dict[str, tuple[str, ...]] = {
    "stock": ("沪深A股", "京市A股"),
    "etf": ("沪深ETF",),
    "fund": ("沪深基金", "沪深ETF"),
    "index": ("沪深指数",),
}

# worker → trading day of its last successful download_index_weight()
_weights_downloaded: weakref.WeakKeyDictionary[XtWorker, date] = weakref.WeakKeyDictionary()


async def _call(worker: XtWorker, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await worker.call(fn, *args, **kwargs)
    except BulletTradeError:
        raise
    except Exception as exc:  # the SDK raises bare Exception with a Chinese message
        name = getattr(fn, "__name__", repr(fn))
        raise BackendUnavailable(f"xtdata.{name} failed: {exc}", details={"call": name}) from None


def _ymd(day: date | None) -> str:
    return day.strftime("%Y%m%d") if day is not None else ""


# ---------------------------------------------------------------- all_securities


def list_sectors(xtdata: Any, types: Sequence[str]) -> dict[str, Any]:
    """Worker job: ``{qmt code: detail dict or None}`` of every member of the sectors of
    ``types`` (first occurrence wins)."""
    codes: dict[str, None] = {}
    for kind in types:
        for sector in SECTORS[kind]:
            for code in xtdata.get_stock_list_in_sector(sector) or []:
                codes.setdefault(str(code), None)
    wanted = list(codes)
    if hasattr(xtdata, "get_instrument_detail_list"):
        details = xtdata.get_instrument_detail_list(wanted) or {}
        return {code: details.get(code) for code in wanted}
    return {code: xtdata.get_instrument_detail(code) for code in wanted}


def security_from_detail(code: str, detail: dict[str, Any] | None) -> SecurityInfo | None:
    """A :class:`SecurityInfo` from a sector member and its instrument detail; ``None`` for
    a code that is not a valid six-digit security code or is a bond or B share."""
    try:
        security = parse_security(code)
    except BadRequest:
        return None
    kind, subtype = instrument_type(security)
    if kind == "bond" or board_of(security) is Board.B_SHARE:
        return None
    detail = detail or {}
    return SecurityInfo(
        security=security,
        display_name=str(detail.get("InstrumentName") or security.symbol),
        type=kind,
        subtype=subtype,
        start_date=parse_ymd(detail.get("OpenDate")),
        end_date=parse_ymd(detail.get("ExpireDate")),
    )


def _listed_on(info: SecurityInfo, day: date | None) -> bool:
    if day is None:
        return True
    started = info.start_date is None or info.start_date <= day
    return started and (info.end_date is None or day <= info.end_date)


async def all_securities(
    worker: XtWorker, xtdata: Any, types: Sequence[str], day: date | None
) -> list[SecurityInfo]:
    """Listed instruments of ``types`` sorted by JoinQuant code (see the module docstring).

    Raises:
        BadRequest: an unknown type (field ``types``).
        BackendUnavailable: xtdata failed or did not answer.
    """
    kinds = check_security_types(types)
    details = await _call(worker, list_sectors, xtdata, kinds)
    infos = [security_from_detail(code, detail) for code, detail in details.items()]
    kept = {i.security: i for i in infos if i is not None and _listed_on(i, day)}
    return sorted(kept.values(), key=lambda i: i.security.jq)


# ---------------------------------------------------------------- index_stocks


async def _download_weights(
    worker: XtWorker, xtdata: Any, today: date, timeout: float
) -> None:
    if not hasattr(xtdata, "download_index_weight") or _weights_downloaded.get(worker) == today:
        return
    try:
        await worker.call(xtdata.download_index_weight, timeout=timeout)
    except BackendUnavailable:
        raise
    except Exception as exc:  # the local weights may still answer
        logger.warning("xtdata.download_index_weight failed (%s); using local index weights",
                       exc)
        return
    _weights_downloaded[worker] = today


async def index_stocks(
    worker: XtWorker, xtdata: Any, index: Security, today: date, download_timeout: float
) -> list[Security]:
    """Constituents of ``index`` sorted by JoinQuant code (empty when unknown to miniQMT).

    Raises:
        BackendUnavailable: xtdata failed or did not answer.
    """
    await _download_weights(worker, xtdata, today, download_timeout)
    weights = await _call(worker, xtdata.get_index_weight, index.qmt) or {}
    members = set()
    for code in weights:
        try:
            members.add(parse_security(str(code)))
        except BadRequest:
            logger.debug("index %s: ignoring member code %r", index.qmt, code)
    return sorted(members, key=lambda s: s.jq)


# ---------------------------------------------------------------- split_dividend


def _number(row: Any, name: str) -> float:
    try:
        value = float(row.get(name, 0.0) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _ex_date(key: Any, row: Any) -> date | None:
    day = parse_ymd(key)
    if day is not None:
        return day
    stamp = row.get("time")
    if stamp is None or pd.isna(stamp):
        return None
    return datetime.fromtimestamp(float(stamp) / 1000.0, CHINA_TZ).date()


def _event(security: Security, day: date, row: Any) -> DividendEvent | None:
    fund = board_of(security) is Board.FUND
    per_base = 1 if fund else 10
    cash = _number(row, "interest")
    shares = sum(_number(row, n) for n in ("stockBonus", "stockGift", "allotNum"))
    if cash <= 0.0 and shares <= 0.0:
        return None
    return DividendEvent(
        security=security, ex_date=day, security_type="fund" if fund else "stock",
        scale_factor=round(1.0 + max(shares, 0.0), 6),
        bonus_pre_tax=round(max(cash, 0.0) * per_base, 6), per_base=per_base,
    )


def events_from_factors(
    security: Security, frame: pd.DataFrame | None, start: date | None, end: date | None
) -> list[DividendEvent]:
    """:class:`DividendEvent` records from a ``get_divid_factors`` frame, ex-dates in
    ``[start, end]``, oldest first; rows without cash or shares are skipped."""
    if frame is None or len(frame) == 0:
        return []
    events = []
    for key, row in frame.iterrows():
        day = _ex_date(key, row)
        if day is None or (start is not None and day < start) or (end is not None and day > end):
            continue
        event = _event(security, day, row)
        if event is not None:
            events.append(event)
    return sorted(events, key=lambda e: e.ex_date)


async def split_dividend(
    worker: XtWorker, xtdata: Any, security: Security, start: date | None, end: date | None
) -> list[DividendEvent]:
    """Ex-dividend events of ``security`` (see the module docstring).

    Raises:
        BadRequest: ``start`` after ``end`` (field ``start``).
        BackendUnavailable: xtdata failed or did not answer.
    """
    if start is not None and end is not None and start > end:
        raise BadRequest("start must not be after end", field="start")
    frame = await _call(
        worker, xtdata.get_divid_factors, security.qmt, _ymd(start), _ymd(end)
    )
    return events_from_factors(security, frame, start, end)
