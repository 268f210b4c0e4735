"""Fake ``xtquant.xtdata`` over the installed :class:`~.exchange.FakeExchange`.

Traps reproduced: the module is **not thread-safe**, so a call entered while another thread
is inside one raises ``RuntimeError`` (production would corrupt state or crash); history is
local-first, so ``get_market_data_ex`` returns an empty frame for a code until
``download_history_data`` fetched that code and period; the layouts and units of
:mod:`.marketdata`. ``exchange.hang(name)`` makes the next call of ``name`` wait for a release
*before* it enters the client (a call stuck waiting for the miniQMT server);
``exchange.hang(name, inside=True)`` makes it wait *inside*, holding the guard, so any other
xtdata call meanwhile raises and is recorded in ``exchange.faults.violations``.

Like xtquant, ``get_market_data_ex`` takes a list of codes (one frame per code in the
result) and ``download_history_data2`` downloads a list of codes in one call; :data:`calls`
counts the calls of each function (tests check that many codes cost one call).
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

import pandas as pd

from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.testing.fake_xtquant import _state, marketdata, sectors

F = TypeVar("F", bound=Callable[..., Any])

data_dir: str | None = None
enable_hello = True
_busy = threading.Lock()
_downloaded: set[tuple[str, str]] = set()
#: whether ``download_index_weight`` ran since the exchange was installed
_index_weights_downloaded: list[bool] = [False]
#: Calls entered per function name (reset with the downloads).
calls: Counter[str] = Counter()


def _reset() -> None:
    """Forget downloads and call counts (called when a new exchange is installed)."""
    _downloaded.clear()
    calls.clear()
    _index_weights_downloaded[0] = False


def _client(func: F) -> F:
    """Serialise-or-fail: detect concurrent use; honour injected hangs and outages."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        exchange = _state.exchange()
        calls[func.__name__] += 1
        hang = exchange.faults.take(func.__name__)
        if hang is not None and not hang.inside:
            hang.block()
        if not _busy.acquire(blocking=False):
            exchange.faults.violation(func.__name__)
            raise RuntimeError(
                f"xtdata.{func.__name__} called while another thread is inside xtdata "
                "(xtdata is not thread-safe)"
            )
        try:
            if hang is not None and hang.inside:
                hang.block()
            if not exchange.data_online:
                raise Exception("行情服务连接断开")
            return func(*args, **kwargs)
        finally:
            _busy.release()

    return wrapper  # type: ignore[return-value]


@_client
def connect(ip: str = "", port: Any = None, remember_if_success: bool = True) -> object:
    if enable_hello:
        print("***** xtdata连接成功 (fake) *****")
    return object()


def get_data_dir() -> str:
    return data_dir or "../userdata_mini/datadir"


@_client
def download_history_data(
    stock_code: str, period: str, start_time: str = "", end_time: str = "",
    incrementally: bool | None = None,
) -> None:
    if period not in marketdata.PERIODS:
        raise Exception(f"下载数据失败：unsupported period {period}")
    _downloaded.add((stock_code, period))


@_client
def download_history_data2(
    stock_list: list[str], period: str, start_time: str = "", end_time: str = "",
    callback: Callable[[dict[str, Any]], None] | None = None, incrementally: bool | None = None,
) -> None:
    """Download several codes; ``callback`` gets xtquant's progress dict after each."""
    if period not in marketdata.PERIODS:
        raise Exception(f"下载数据失败：unsupported period {period}")
    for done, code in enumerate(stock_list, start=1):
        _downloaded.add((code, period))
        if callback is not None:
            callback({"total": len(stock_list), "finished": done, "stockcode": code,
                      "message": ""})


@_client
def get_market_data_ex(
    field_list: list[str] | None = None, stock_list: list[str] | None = None,
    period: str = "1d", start_time: str = "", end_time: str = "", count: int = -1,
    dividend_type: str = "none", fill_data: bool = True,
) -> dict[str, pd.DataFrame]:
    if period not in marketdata.PERIODS:
        raise Exception(f"unsupported period {period}")
    if dividend_type not in marketdata.DIVIDEND_TYPES:
        raise Exception(f"unsupported dividend_type {dividend_type}")
    exchange = _state.exchange()
    out: dict[str, pd.DataFrame] = {}
    for code in stock_list or []:
        if (code, period) not in _downloaded:
            out[code] = pd.DataFrame(columns=marketdata.KLINE_FIELDS)
            continue
        frame = marketdata.kline_frame(exchange, code, period, (start_time, end_time, count))
        out[code] = frame[list(field_list)] if field_list else frame
    return out


@_client
def get_full_tick(code_list: list[str]) -> dict[str, dict[str, Any]]:
    exchange = _state.exchange()
    ticks = {code: marketdata.full_tick(exchange, code) for code in code_list}
    return {code: tick for code, tick in ticks.items() if tick is not None}


@_client
def get_instrument_detail(stock_code: str, iscomplete: bool = False) -> dict[str, Any] | None:
    return marketdata.instrument_detail(_state.exchange(), stock_code)


@_client
def get_instrument_type(stock_code: str) -> dict[str, bool] | None:
    return marketdata.instrument_type_dict(stock_code)


def _day(text: str) -> date | None:
    parsed = marketdata.parse_time(text)
    return parsed.date() if parsed is not None else None


@_client
def get_trading_dates(
    market: str, start_time: str = "", end_time: str = "", count: int = -1
) -> list[int]:
    """Epoch ms of 00:00 Beijing time of each trading day (ascending)."""
    market_ = _state.exchange().market
    calendar, today = market_.calendar, market_.clock.now().date()
    start, end = _day(start_time), _day(end_time) or today
    days = calendar.trade_days(start, end, count if count > 0 else None)
    return [int(datetime.combine(d, time(), CHINA_TZ).timestamp() * 1000) for d in days]


@_client
def get_trading_calendar(market: str, start_time: str = "", end_time: str = "") -> list[str]:
    if market not in ("SH", "SZ"):
        raise Exception("暂不支持除SH,SZ以外市场的交易日历")
    market_ = _state.exchange().market
    end = _day(end_time) or market_.clock.now().date()
    days = market_.calendar.trade_days(_day(start_time), end, None)
    return [d.strftime("%Y%m%d") for d in days]


@_client
def subscribe_quote(
    stock_code: str, period: str = "1d", start_time: str = "", end_time: str = "",
    count: int = 0, callback: Callable[[dict[str, list[dict[str, Any]]]], None] | None = None,
) -> int:
    if callback is None or marketdata.security_or_none(stock_code) is None:
        return -1
    return _state.exchange().feed.subscribe(stock_code, callback)


@_client
def unsubscribe_quote(seq: int) -> None:
    _state.exchange().feed.unsubscribe(seq)


# ---------------------------------------------------------------- sectors, weights, dividends
# (see :mod:`.sectors`; index weights are local-first: ``{}`` until download_index_weight)


@_client
def get_stock_list_in_sector(sector_name: str, real_timetag: Any = -1) -> list[str]:
    return sectors.stock_list_in_sector(sector_name)


@_client
def download_index_weight() -> None:
    _index_weights_downloaded[0] = True


@_client
def get_index_weight(index_code: str) -> dict[str, float]:
    return sectors.index_weight(index_code) if _index_weights_downloaded[0] else {}


@_client
def get_divid_factors(stock_code: str, start_time: str = "", end_time: str = "") -> pd.DataFrame:
    return sectors.divid_factors(_state.exchange(), stock_code, start_time, end_time)


@_client
def get_instrument_detail_list(
    stock_list: list[str], iscomplete: bool = False
) -> dict[str, dict[str, Any] | None]:
    exchange = _state.exchange()
    return {code: marketdata.instrument_detail(exchange, code) for code in stock_list}
