"""Instrument universe of the simulated exchange.

Every syntactically valid code exists: a few well-known codes have their real display name and a
realistic price level; any other code gets a synthetic name ("仿真" + symbol) and a price level
drawn deterministically from the code. The instrument type follows
:func:`bullet_trade.model.rules.board_of` (note ``000001.XSHG`` is an index while
``000001.XSHE`` is a stock).

The *listing* (:func:`listed`) is what ``get_all_securities`` enumerates: the well-known and ST
codes plus a deterministic selection of each board's codes (:data:`LISTING_BLOCKS`), about
2,600 stocks, 700 ETFs and the indices of :data:`INDICES`. It does not depend on the seed.
Every listed instrument trades from :data:`ORIGIN` and is never delisted, as
:func:`security_info` says.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import SecurityInfo
from bullet_trade.model.rules import Board, board_of, instrument_type

#: First day of every simulated price path; no bars exist before it.
ORIGIN = date(2015, 1, 5)

# code -> (display name, typical price level in CNY or index points)
_KNOWN: dict[str, tuple[str, float]] = {
    "000001.XSHE": ("平安银行", 11.5),
    "000002.XSHE": ("万科A", 9.0),
    "000858.XSHE": ("五粮液", 140.0),
    "002594.XSHE": ("比亚迪", 260.0),
    "300750.XSHE": ("宁德时代", 210.0),
    "159915.XSHE": ("创业板ETF", 2.1),
    "399001.XSHE": ("深证成指", 10500.0),
    "399006.XSHE": ("创业板指", 2100.0),
    "600000.XSHG": ("浦发银行", 8.5),
    "600036.XSHG": ("招商银行", 35.0),
    "600519.XSHG": ("贵州茅台", 1500.0),
    "601318.XSHG": ("中国平安", 48.0),
    "688981.XSHG": ("中芯国际", 55.0),
    "510050.XSHG": ("上证50ETF", 2.7),
    "510300.XSHG": ("沪深300ETF", 3.9),
    "510500.XSHG": ("中证500ETF", 5.8),
    "518880.XSHG": ("黄金ETF", 4.8),
    "000001.XSHG": ("上证指数", 3200.0),
    "000016.XSHG": ("上证50", 2600.0),
    "000300.XSHG": ("沪深300", 3800.0),
    "000905.XSHG": ("中证500", 5600.0),
    "588000.XSHG": ("科创50ETF", 1.0),
    "511880.XSHG": ("银华日利", 100.0),
    "513100.XSHG": ("纳指ETF", 1.6),
    "920001.BJSE": ("仿真北证920001", 15.0),
}

#: ST / *ST stocks of the simulated universe (synthetic names; main board ±5 % before
#: ``rules.ST_LIMIT_CHANGE``, ±10 % after; ChiNext ST ±20 %).
ST_CODES: frozenset[str] = frozenset(
    {"600289.XSHG", "600711.XSHG", "000004.XSHE", "002005.XSHE", "300023.XSHE"}
)

# board -> (low, high) of the synthetic price level, drawn log-uniformly
_LEVEL_RANGE: dict[Board, tuple[float, float]] = {
    Board.FUND: (1.0, 5.0),
    Board.INDEX: (1000.0, 10000.0),
    Board.BOND: (95.0, 140.0),
}
_STOCK_LEVEL = (3.0, 300.0)


@dataclass(frozen=True, slots=True)
class Profile:
    """Statistical profile of an instrument's simulated prices.

    Attributes:
        level: long-run price level the path reverts to.
        sigma: daily volatility of log returns.
        jump_prob: chance per day of a large move (so limit-up/down days happen).
        daily_money: typical turnover per day (CNY).
    """

    level: float
    sigma: float
    jump_prob: float
    daily_money: float


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) derived only from ``parts`` (stable across processes)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return float(struct.unpack(">Q", digest)[0] >> 11) / float(1 << 53)


def stable_seed(*parts: object) -> int:
    """A 64-bit seed derived only from ``parts`` (never Python's randomised ``hash``)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def generator(*parts: object) -> np.random.Generator:
    """A numpy generator seeded by :func:`stable_seed` of ``parts`` (the same stream as
    ``np.random.default_rng(stable_seed(*parts))``, built a little faster)."""
    return np.random.Generator(np.random.PCG64(stable_seed(*parts)))




def is_known(security: Security) -> bool:
    """Whether ``security`` is one of the well-known codes with a real name and level."""
    return security.jq in _KNOWN


def is_st(security: Security) -> bool:
    """Whether ``security`` is an ST stock in the simulated universe (:data:`ST_CODES`)."""
    return security.jq in ST_CODES


def display_name(security: Security) -> str:
    known = _KNOWN.get(security.jq)
    if known:
        return known[0]
    return f"ST仿真{security.symbol}" if is_st(security) else f"仿真{security.symbol}"


def security_info(value: object) -> SecurityInfo:
    """Describe any valid code.

    Raises:
        BadRequest: ``value`` is not a valid security code (field ``security``).
    """
    security = parse_security(value)
    kind, subtype = instrument_type(security)
    return SecurityInfo(
        security=security,
        display_name=display_name(security),
        type=kind,
        subtype=subtype,
        start_date=ORIGIN,
    )


@lru_cache(maxsize=65536)
def profile(security: Security) -> Profile:
    """Price profile: realistic level for known codes, deterministic synthetic otherwise."""
    board = board_of(security)
    known = _KNOWN.get(security.jq)
    if known is not None:
        level = known[1]
    else:
        low, high = _LEVEL_RANGE.get(board, _STOCK_LEVEL)
        u = stable_unit("level", security.jq)
        level = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    if board in (Board.FUND, Board.INDEX, Board.BOND):
        return Profile(level=level, sigma=0.012, jump_prob=0.0, daily_money=3e9)
    sigma = 0.028 if board in (Board.CHINEXT, Board.STAR, Board.BSE) else 0.02
    # the well-known large caps rarely hit their limits; synthetic codes more often
    jump_prob = 0.005 if known is not None else 0.03
    return Profile(level=level, sigma=sigma, jump_prob=jump_prob, daily_money=8e8)


#: (JoinQuant suffix, first symbol, last symbol, share of the codes in between that is listed)
LISTING_BLOCKS: tuple[tuple[str, int, int, float], ...] = (
    ("XSHG", 600000, 601999, 0.25),  # SH main board
    ("XSHG", 603000, 603999, 0.25),
    ("XSHG", 605000, 605599, 0.25),
    ("XSHG", 688001, 688999, 0.3),  # STAR
    ("XSHE", 1, 3999, 0.2),  # SZ main board
    ("XSHE", 300001, 301599, 0.3),  # ChiNext
    ("BJSE", 920001, 920999, 0.1),  # Beijing
    ("XSHG", 510000, 512999, 0.08),  # SH ETFs
    ("XSHG", 513000, 518999, 0.04),
    ("XSHG", 588000, 588499, 0.1),
    ("XSHE", 159000, 159999, 0.25),  # SZ ETFs
)

#: Indices of the listing (the ones with constituents are in ``sim/reference.py``).
INDICES: tuple[str, ...] = (
    "000001.XSHG", "000016.XSHG", "000300.XSHG", "000905.XSHG", "399001.XSHE", "399006.XSHE",
)


@lru_cache(maxsize=1)
def listed() -> tuple[Security, ...]:
    """Every listed instrument (see the module docstring), sorted by JoinQuant code."""
    codes = {parse_security(c) for c in (*_KNOWN, *ST_CODES, *INDICES)}
    for suffix, first, last, share in LISTING_BLOCKS:
        for number in range(first, last + 1):
            jq = f"{number:06d}.{suffix}"
            if stable_unit("listed", jq) < share:
                codes.add(parse_security(jq))
    return tuple(sorted(codes, key=lambda s: s.jq))
