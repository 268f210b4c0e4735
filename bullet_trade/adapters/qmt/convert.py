"""xtquant results → model records (duck typed; nothing here imports xtquant).

Native trader objects are C++ objects in production, not ``xttype`` classes, so they are
first copied into plain mappings with :func:`attrs` (on the xtquant thread) and converted here
(on the event loop). Units: trade times are epoch **seconds**, market times epoch
**milliseconds**; market volumes are **lots** (× 100 = shares), trade volumes shares. The
``price_type`` read back on an order is the broker's echo (50 limit, 88 market), not the
request enum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.contracts import HISTORY_COLUMNS
from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.enums import (
    XT_STOCK_BUY,
    OrderStatus,
    OrderType,
    Side,
    XtOrderStatus,
    status_from_xt,
)
from bullet_trade.model.records import AccountConfig, AccountSnapshot, Order, Position, Quote, Trade

Row = Mapping[str, Any]
LOT = 100
#: price_type values that mean a limit order (broker echo 50, request FIX_PRICE 11 / LATEST 5)
LIMIT_PRICE_TYPES = frozenset({50, 11, 5})
#: ``openInt`` / instrument status values meaning "not trading" (protocol.md 5.4.8)
PAUSED_STATUS = frozenset({1, 17, 20})
COLUMNS = (*HISTORY_COLUMNS, "paused")


def attrs(obj: Any) -> dict[str, Any]:
    """Copy the public data attributes of a native xtquant object (or pass a mapping)."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    out = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        value = getattr(obj, name, None)
        if not callable(value):
            out[name] = value
    return out


def from_epoch_s(value: Any) -> datetime:
    """Epoch seconds → naive China time (0 / missing → the epoch)."""
    return datetime.fromtimestamp(float(value or 0), CHINA_TZ).replace(tzinfo=None)


def from_epoch_ms(value: Any) -> datetime:
    return from_epoch_s(float(value or 0) / 1000.0)


def _num(row: Row, name: str, default: float = 0.0) -> float:
    value = row.get(name)
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _side(row: Row) -> Side:
    return Side.BUY if int(row.get("order_type") or XT_STOCK_BUY) == XT_STOCK_BUY else Side.SELL


def order_from_xt(row: Row, account_key: str, idempotency_key: str | None = None) -> Order:
    """An ``XtOrder`` (as a mapping) → :class:`Order`; the code is reported in JQ form."""
    raw = int(row.get("order_status") or XtOrderStatus.UNKNOWN)
    status = status_from_xt(raw)
    price_type = int(row.get("price_type") or 50)
    return Order(
        order_id=str(row["order_id"]),
        account_key=account_key,
        security=parse_security(str(row["stock_code"]), "stock_code"),
        side=_side(row),
        order_type=OrderType.LIMIT if price_type in LIMIT_PRICE_TYPES else OrderType.MARKET,
        amount=int(row.get("order_volume") or 0),
        status=status,
        raw_status=raw,
        order_price=_num(row, "price") or None,
        created_at=from_epoch_s(row.get("order_time")),
        filled=int(row.get("traded_volume") or 0),
        avg_fill_price=_num(row, "traded_price"),
        remark=str(row.get("order_remark") or ""),
        strategy_name=str(row.get("strategy_name") or ""),
        status_msg=str(row.get("status_msg") or ""),
        reason="counter_rejected" if status is OrderStatus.REJECTED else None,
        sysid=str(row.get("order_sysid") or ""),
        idempotency_key=idempotency_key,
    )


def trade_from_xt(row: Row, account_key: str) -> Trade:
    """An ``XtTrade`` → :class:`Trade` (``commission`` carries every fee; no tax field)."""
    return Trade(
        trade_id=str(row.get("traded_id") or ""),
        order_id=str(row.get("order_id")),
        account_key=account_key,
        security=parse_security(str(row["stock_code"]), "stock_code"),
        side=_side(row),
        amount=int(row.get("traded_volume") or 0),
        price=_num(row, "traded_price"),
        time=from_epoch_s(row.get("traded_time")),
        commission=_num(row, "commission"),
    )


def position_from_xt(row: Row) -> Position | None:
    """An ``XtPosition`` → :class:`Position`; ``None`` for a sold-out row (volume 0)."""
    volume = int(row.get("volume") or 0)
    if volume <= 0:
        return None
    last = _num(row, "last_price") or _num(row, "market_value") / volume
    return Position(
        security=parse_security(str(row["stock_code"]), "stock_code"),
        amount=volume,
        closeable_amount=int(row.get("can_use_volume") or 0),
        avg_cost=_num(row, "avg_price") or _num(row, "open_price"),
        last_price=round(last, 4),
        name=str(row.get("instrument_name") or "") or None,
        frozen_amount=int(row.get("frozen_volume") or 0),
    )


def snapshot_from_xt(
    account: AccountConfig, asset: Row, positions: Sequence[Row]
) -> AccountSnapshot:
    rows = [p for p in (position_from_xt(r) for r in positions) if p is not None]
    return AccountSnapshot(
        account_key=account.key,
        account_id=account.account_id,
        account_type=account.account_type,
        available_cash=_num(asset, "cash"),
        frozen_cash=_num(asset, "frozen_cash"),
        positions=tuple(sorted(rows, key=lambda p: p.security)),
    )


def _book(prices: Any, lots: Any) -> tuple[tuple[float, int], ...]:
    pairs = zip(list(prices or []), list(lots or []), strict=False)
    return tuple((float(p), int(v) * LOT) for p, v in pairs if p and float(p) > 0)


def quote_from_tick(security: Security, tick: Row, detail: Row) -> Quote:
    """A ``get_full_tick`` / subscription tick plus ``get_instrument_detail`` → Quote."""
    name = str(detail.get("InstrumentName") or "") or None
    last = _num(tick, "lastPrice")
    pre_close = _num(tick, "lastClose") or _num(detail, "PreClose")
    paused = int(tick.get("openInt") or 0) in PAUSED_STATUS or bool(
        int(detail.get("InstrumentStatus") or 0)
    )
    return Quote(
        security=security,
        last_price=last if last > 0 else pre_close,
        dt=from_epoch_ms(tick.get("time")),
        high_limit=_num(detail, "UpStopPrice"),
        low_limit=_num(detail, "DownStopPrice"),
        pre_close=pre_close,
        day_open=_num(tick, "open"),
        high=_num(tick, "high"),
        low=_num(tick, "low"),
        volume=int(_num(tick, "volume")) * LOT,
        money=_num(tick, "amount"),
        paused=paused,
        name=name,
        is_st=bool(name and "ST" in name.upper()),
        bids=_book(tick.get("bidPrice"), tick.get("bidVol")),
        asks=_book(tick.get("askPrice"), tick.get("askVol")),
    )




def parse_ymd(value: Any) -> date | None:
    """``'YYYYMMDD'`` (str or int) → date; sentinels like 0 / 99999999 → None."""
    text = str(value or "").strip()
    try:
        return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


def empty_bars() -> pd.DataFrame:
    index = pd.DatetimeIndex([], name="time", dtype="datetime64[ns]")
    frame: pd.DataFrame = pd.DataFrame(
        {c: pd.Series([], dtype="float64") for c in COLUMNS}, index=index
    )
    return frame


def bars_from_xt(frame: pd.DataFrame | None, *, daily: bool) -> pd.DataFrame:
    """A ``get_market_data_ex`` frame → the contract's bars (volume in shares, ``money``).

    Minute data carries the opening-auction trade in a bar stamped 09:30:00; it is merged into
    the first continuous bar of its day (open from the auction, high/low/volume/money combined).
    """
    if frame is None or frame.empty:
        return empty_bars()
    fmt = "%Y%m%d" if daily else "%Y%m%d%H%M%S"
    index = pd.DatetimeIndex(pd.to_datetime([str(i) for i in frame.index], format=fmt))
    data = pd.DataFrame(
        {
            "open": frame["open"].to_numpy(float),
            "close": frame["close"].to_numpy(float),
            "high": frame["high"].to_numpy(float),
            "low": frame["low"].to_numpy(float),
            "volume": frame["volume"].to_numpy(float) * LOT,
            "money": frame["amount"].to_numpy(float),
            "paused": (frame["suspendFlag"].to_numpy(float) == 1).astype(float)
            if "suspendFlag" in frame
            else 0.0,
        },
        index=index,
        columns=list(COLUMNS),
    )
    if not daily:
        data = _merge_auction(data)
    data.index.name = "time"
    result: pd.DataFrame = data
    return result


def _merge_auction(data: pd.DataFrame) -> pd.DataFrame:
    index = pd.DatetimeIndex(data.index)
    minutes = index.hour * 60 + index.minute
    drop = []
    for pos in np.flatnonzero(minutes <= 9 * 60 + 30):
        i = int(pos)
        if i + 1 >= len(index) or index[i + 1].date() != index[i].date():
            continue
        row, nxt = data.iloc[i], index[i + 1]
        data.loc[nxt, "open"] = row["open"]
        data.loc[nxt, "high"] = max(row["high"], data.loc[nxt, "high"])
        data.loc[nxt, "low"] = min(row["low"], data.loc[nxt, "low"])
        data.loc[nxt, "volume"] += row["volume"]
        data.loc[nxt, "money"] += row["money"]
        drop.append(index[i])
    merged: pd.DataFrame = data.drop(index=drop)
    return merged
