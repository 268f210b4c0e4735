"""Market data of the fake xtdata in xtquant's shapes, computed from the simulator.

Units and layouts reproduced: ``time`` in epoch **milliseconds**; volumes in **lots** (100
shares) with ``pvolume`` in shares; ``get_market_data_ex`` frames indexed by time strings
(``YYYYMMDD`` for daily, ``YYYYMMDDhhmmss`` for minute bars) with the columns ``time open high
low close volume amount settelementPrice openInterest preClose suspendFlag`` (sic); the 1m day
has 241 bars because the opening auction prints as a ``09:30:00`` bar (flat at the first
trade price, zero volume in this fake).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bullet_trade.adapters.sim.universe import ORIGIN, display_name
from bullet_trade.errors import BulletTradeError
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import HistoryQuery, Quote
from bullet_trade.model.rules import instrument_type, tick_size
from bullet_trade.testing.fake_xtquant.native import epoch_ms

if TYPE_CHECKING:
    from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

KLINE_FIELDS = [
    "time", "open", "high", "low", "close", "volume", "amount", "settelementPrice",
    "openInterest", "preClose", "suspendFlag",
]
PERIODS = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "60m", "60m": "60m",
           "1d": "1d"}
DIVIDEND_TYPES = ("none", "front", "back", "front_ratio", "back_ratio")
_DBL_MAX = 1.7976931348623157e308
_INT_MAX = 2147483647


def security_or_none(code: str) -> Security | None:
    try:
        return parse_security(code)
    except BulletTradeError:
        return None


def parse_time(text: str) -> datetime | None:
    """'' → None; 'YYYYMMDD' or 'YYYYMMDDhhmmss' → naive datetime."""
    if not text:
        return None
    fmt = "%Y%m%d" if len(text) == 8 else "%Y%m%d%H%M%S"
    return datetime.strptime(text, fmt)


def _levels(levels: tuple[tuple[float, int], ...]) -> tuple[list[float], list[int]]:
    prices = [p for p, _ in levels] + [0.0] * (5 - len(levels))
    lots = [v // 100 for _, v in levels] + [0] * (5 - len(levels))
    return prices[:5], lots[:5]


def tick_dict(q: Quote) -> dict[str, Any]:
    """A ``get_full_tick`` value (JSON types only)."""
    ask_p, ask_v = _levels(q.asks)
    bid_p, bid_v = _levels(q.bids)
    return {
        "time": epoch_ms(q.dt), "timetag": q.dt.strftime("%Y%m%d %H:%M:%S"),
        "lastPrice": q.last_price, "open": q.day_open, "high": q.high, "low": q.low,
        "lastClose": q.pre_close, "amount": q.money, "volume": q.volume // 100,
        "pvolume": q.volume, "tickvol": 0, "stockStatus": 3, "openInt": 20 if q.paused else 13,
        "transactionNum": 0, "settlementPrice": 0, "lastSettlementPrice": q.pre_close, "pe": 0,
        "askPrice": ask_p, "bidPrice": bid_p, "askVol": ask_v, "bidVol": bid_v,
    }


def full_tick(exchange: FakeExchange, code: str) -> dict[str, Any] | None:
    security = security_or_none(code)
    if security is None:
        return None
    with exchange.lock:
        return tick_dict(exchange.market.quote(security))


def instrument_detail(exchange: FakeExchange, code: str) -> dict[str, Any] | None:
    security = security_or_none(code)
    if security is None:
        return None
    with exchange.lock:
        q = exchange.market.quote(security)
        day = exchange.market.moment().day
    return {
        "ExchangeID": security.exchange.value, "InstrumentID": security.symbol,
        "InstrumentName": display_name(security), "ProductID": "", "ProductName": "",
        "ProductType": 0, "ExchangeCode": security.symbol, "UniCode": security.symbol,
        "CreateDate": "0", "OpenDate": ORIGIN.strftime("%Y%m%d"), "ExpireDate": "99999999",
        "TradingDay": day.strftime("%Y%m%d"), "PreClose": q.pre_close,
        "SettlementPrice": q.pre_close, "UpStopPrice": q.high_limit,
        "DownStopPrice": q.low_limit, "FloatVolume": 1.0e9, "TotalVolume": 1.2e9,
        "LongMarginRatio": _DBL_MAX, "ShortMarginRatio": _DBL_MAX,
        "PriceTick": tick_size(security), "VolumeMultiple": 1, "MainContract": _INT_MAX,
        "LastVolume": _INT_MAX, "InstrumentStatus": 1 if q.paused else 0,
        "IsTrading": not q.paused, "IsRecent": False,
    }


def instrument_type_dict(code: str) -> dict[str, bool] | None:
    security = security_or_none(code)
    if security is None:
        return None
    kind, _ = instrument_type(security)
    return {"fund" if kind == "etf" else kind: True, **({"etf": True} if kind == "etf" else {})}


def kline_frame(
    exchange: FakeExchange, code: str, period: str, window: tuple[str, str, int]
) -> pd.DataFrame:
    """One code's ``get_market_data_ex`` frame (empty with the full column set if no data)."""
    security = security_or_none(code)
    start, end, count = parse_time(window[0]), parse_time(window[1]), window[2]
    if security is None or count == 0:
        empty: pd.DataFrame = pd.DataFrame(columns=KLINE_FIELDS)
        return empty
    query = HistoryQuery(
        security=security, frequency=PERIODS[period], start=start or datetime(2015, 1, 5),
        end=end, fq="none",
    ) if count < 0 or start is not None else HistoryQuery(
        security=security, frequency=PERIODS[period], end=end, count=count + 1, fq="none",
    )
    with exchange.lock:
        bars = exchange.run(exchange.data.history(query))
    frame = _to_xt(bars, daily=period == "1d", auction=period == "1m")
    result: pd.DataFrame = frame.iloc[-count:] if count > 0 else frame
    return result


def _to_xt(bars: pd.DataFrame, *, daily: bool, auction: bool) -> pd.DataFrame:
    times = pd.DatetimeIndex(bars.index)
    close = bars["close"].to_numpy(dtype=float)
    pre = np.concatenate([[bars["open"].iloc[0]] if len(bars) else [], close[:-1]])
    out = pd.DataFrame({
        "time": [epoch_ms(t.to_pydatetime()) for t in times],
        "open": bars["open"].to_numpy(float), "high": bars["high"].to_numpy(float),
        "low": bars["low"].to_numpy(float), "close": close,
        "volume": np.rint(bars["volume"].to_numpy(float) / 100).astype(np.int64),
        "amount": bars["money"].to_numpy(float), "settelementPrice": 0.0,
        "openInterest": 15, "preClose": pre,
        "suspendFlag": bars["paused"].to_numpy(float).astype(np.int64)
        if "paused" in bars else 0,
    }, columns=KLINE_FIELDS)
    out.index = pd.Index(list(times.strftime("%Y%m%d" if daily else "%Y%m%d%H%M%S")))
    if auction and len(out):
        out = _with_auction_bars(out, times)
    result: pd.DataFrame = out
    return result


def _with_auction_bars(out: pd.DataFrame, times: pd.DatetimeIndex) -> pd.DataFrame:
    """Insert the 09:30:00 opening-auction bar before each day's 09:31 bar."""
    firsts = [i for i, t in enumerate(times) if t.hour == 9 and t.minute == 31]
    rows = []
    for i in firsts:
        row = out.iloc[i].copy()
        first_open = float(row["open"])
        stamp = times[i] - pd.Timedelta(minutes=1)
        row[["open", "high", "low", "close"]] = first_open
        row[["volume", "amount"]] = 0
        row["time"] = epoch_ms(stamp.to_pydatetime())
        rows.append((stamp.strftime("%Y%m%d%H%M%S"), row))
    if not rows:
        return out
    extra = pd.DataFrame([r for _, r in rows], index=pd.Index([k for k, _ in rows]))
    merged: pd.DataFrame = pd.concat([out, extra.astype(out.dtypes.to_dict())]).sort_index()
    return merged
