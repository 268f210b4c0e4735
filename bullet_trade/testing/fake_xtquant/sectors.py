"""Sectors, index weights and dividend factors of the fake xtdata, from the simulator.

* ``get_stock_list_in_sector``: the simulated universe's listing
  (:func:`bullet_trade.adapters.sim.universe.listed`) grouped as miniQMT names its sectors
  (:data:`SECTOR_RULES`; ``'SH'``/``'SZ'``/``'BJ'`` list a whole market); QMT codes, sorted;
  an unknown sector gives ``[]``. The characters ``\\ / : * ? " < > |`` are stripped from the
  name, as xtquant does.
* ``get_index_weight``: the simulator's constituents (:mod:`bullet_trade.adapters.sim.reference`)
  with deterministic weights summing to 1; ``{}`` for an index without constituents.
  Local-first, as in xtquant: ``{}`` until ``download_index_weight()`` ran (tracked by
  :mod:`.xtdata`).
* ``get_divid_factors``: the simulator's ex-dividend events up to the market's current day as
  xtquant's frame: one row per ex-date indexed ``YYYYMMDD``, columns ``time`` (epoch ms of the
  ex-date's Beijing midnight), ``interest`` (cash per share), ``stockBonus`` (bonus shares per
  share), ``stockGift``, ``allotNum``, ``allotPrice``, ``gugai`` (0) and ``dr`` (ex-rights
  ratio: raw previous close / reference price, ≥ 1).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import TYPE_CHECKING

import pandas as pd

from bullet_trade.adapters.sim import reference
from bullet_trade.adapters.sim.dividends import MILLS_PER_CNY
from bullet_trade.adapters.sim.universe import ORIGIN, listed, stable_unit
from bullet_trade.model.clock import CHINA_TZ
from bullet_trade.model.codes import Exchange, Security
from bullet_trade.model.rules import Board, board_of
from bullet_trade.testing.fake_xtquant.marketdata import parse_time, security_or_none

if TYPE_CHECKING:
    from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

DIVID_COLUMNS = [
    "time", "interest", "stockBonus", "stockGift", "allotNum", "allotPrice", "gugai", "dr",
]
_A = (Board.MAIN, Board.CHINEXT, Board.STAR)
_SH, _SZ, _BJ = Exchange.SH, Exchange.SZ, Exchange.BJ


def _rule(boards: tuple[Board, ...], *markets: Exchange) -> Callable[[Security], bool]:
    return lambda s: s.exchange in markets and board_of(s) in boards


#: sector name → which listed codes belong to it
SECTOR_RULES: dict[str, Callable[[Security], bool]] = {
    "沪深A股": _rule(_A, _SH, _SZ),
    "上证A股": _rule(_A, _SH),
    "深证A股": _rule(_A, _SZ),
    "创业板": _rule((Board.CHINEXT,), _SZ),
    "科创板": _rule((Board.STAR,), _SH),
    "京市A股": _rule((Board.BSE,), _BJ),
    "沪深京A股": _rule((*_A, Board.BSE), _SH, _SZ, _BJ),
    "沪深ETF": _rule((Board.FUND,), _SH, _SZ),
    "沪市ETF": _rule((Board.FUND,), _SH),
    "深市ETF": _rule((Board.FUND,), _SZ),
    "沪深基金": _rule((Board.FUND,), _SH, _SZ),
    "沪深指数": _rule((Board.INDEX,), _SH, _SZ),
    "沪市指数": _rule((Board.INDEX,), _SH),
    "深市指数": _rule((Board.INDEX,), _SZ),
    "SH": lambda s: s.exchange is _SH,
    "SZ": lambda s: s.exchange is _SZ,
    "BJ": lambda s: s.exchange is _BJ,
}


def stock_list_in_sector(name: str) -> list[str]:
    """QMT codes of the sector ``name`` (see the module docstring)."""
    cleaned = name.translate({ord(c): None for c in '\\/:*?"<>|'})
    rule = SECTOR_RULES.get(cleaned)
    if rule is None:
        return []
    return sorted(s.qmt for s in listed() if rule(s))


def index_weight(code: str) -> dict[str, float]:
    """``{member QMT code: weight}`` of the index ``code`` (weights sum to 1)."""
    index = security_or_none(code)
    members = reference.index_stocks(index, None) if index is not None else []
    if not members:
        return {}
    raw = [0.5 + stable_unit("weight", s.jq) for s in members]
    total = sum(raw)
    return {s.qmt: round(w / total, 8) for s, w in zip(members, raw, strict=True)}


def divid_factors(
    exchange: FakeExchange, code: str, start_time: str = "", end_time: str = ""
) -> pd.DataFrame:
    """``get_divid_factors`` frame of ``code`` (see the module docstring)."""
    security = security_or_none(code)
    empty: pd.DataFrame = pd.DataFrame(columns=DIVID_COLUMNS)
    if security is None:
        return empty
    start, end = parse_time(start_time), parse_time(end_time)
    with exchange.lock:
        market = exchange.market
        today = market.moment().day
        first = max(start.date() if start else ORIGIN, ORIGIN)
        last = min(end.date() if end else today, today)
        days = market.prices.index_range(first, last)
        events = market.prices.ex_events(security, days[0], days[-1]) if days else []
        dated = [(market.prices.day_at(e.index), e) for e in events]
    if not dated:
        return empty
    rows = [
        {
            "time": int(datetime.combine(day, time(), CHINA_TZ).timestamp() * 1000),
            "interest": e.cash / MILLS_PER_CNY, "stockBonus": e.bonus / 10.0,
            "stockGift": 0.0, "allotNum": 0.0, "allotPrice": 0.0, "gugai": 0,
            "dr": 1.0 / e.ratio,
        }
        for day, e in dated
    ]
    index = pd.Index([day.strftime("%Y%m%d") for day, _ in dated])
    frame: pd.DataFrame = pd.DataFrame(rows, index=index, columns=DIVID_COLUMNS)
    return frame
