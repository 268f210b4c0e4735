"""Reference data of the simulated exchange: the instrument list and index constituents.

Both derive from the universe's listing (:func:`.universe.listed`) alone, so they are the same
in every process and for every seed, and consistent with ``security_info``:

* ``all_securities``: the listed instruments whose type matches (``stock``; ``etf``; ``fund``
  = every fund, reported as ``etf``; ``index``), as :class:`SecurityInfo`.
* Index constituents (:data:`INDEX_RULES`). Stocks are ranked by a deterministic "size": the
  well-known codes first, then by a draw from the code. CSI 300 (``000300.XSHG``) is the top
  300 non-ST SH/SZ stocks, CSI 500 (``000905.XSHG``) the next 500, SSE 50 (``000016.XSHG``)
  the top 50 Shanghai members of the CSI 300, SZSE Component (``399001.XSHE``) the top 500
  Shenzhen stocks, ChiNext (``399006.XSHE``) the top 100 ChiNext stocks and the SSE Composite
  (``000001.XSHG``) every listed Shanghai stock. Membership does not change over time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache

from bullet_trade.adapters.sim.universe import (
    ORIGIN,
    is_known,
    is_st,
    listed,
    security_info,
    stable_unit,
)
from bullet_trade.model.codes import Exchange, Security
from bullet_trade.model.records import SecurityInfo
from bullet_trade.model.rules import Board, board_of

_A_SHARE = (Board.MAIN, Board.CHINEXT, Board.STAR)

#: ``type`` values of :class:`SecurityInfo` each requested type matches.
TYPE_MATCHES: dict[str, frozenset[str]] = {
    "stock": frozenset({"stock"}),
    "etf": frozenset({"etf"}),
    "fund": frozenset({"etf", "lof", "fund"}),
    "index": frozenset({"index"}),
}


def _is_listed_on(info: SecurityInfo, day: date | None) -> bool:
    if day is None:
        return True
    start = info.start_date or ORIGIN
    return start <= day and (info.end_date is None or day <= info.end_date)


def all_securities(types: Sequence[str], day: date | None) -> list[SecurityInfo]:
    """Listed instruments of the (already validated) ``types``, sorted by JoinQuant code;
    with ``day``, those listed on that day (nothing before :data:`ORIGIN`)."""
    wanted = frozenset().union(*(TYPE_MATCHES[t] for t in types))
    out = []
    for security in listed():
        info = security_info(security)
        if info.type in wanted and _is_listed_on(info, day):
            out.append(info)
    return out


def _size_key(security: Security) -> tuple[int, float, str]:
    return (0 if is_known(security) else 1, stable_unit("size", security.jq), security.jq)


@lru_cache(maxsize=1)
def ranked_stocks() -> tuple[Security, ...]:
    """Non-ST Shanghai and Shenzhen stocks of the listing, largest first."""
    stocks = [s for s in listed() if board_of(s) in _A_SHARE and not is_st(s)]
    return tuple(sorted(stocks, key=_size_key))


def _sh(security: Security) -> bool:
    return security.exchange is Exchange.SH


def _sse_composite() -> list[Security]:
    return [s for s in listed() if _sh(s) and board_of(s) in _A_SHARE]


#: index code → the function choosing its members.
INDEX_RULES: dict[str, Callable[[], list[Security]]] = {
    "000300.XSHG": lambda: list(ranked_stocks()[:300]),
    "000905.XSHG": lambda: list(ranked_stocks()[300:800]),
    "000016.XSHG": lambda: [s for s in ranked_stocks()[:300] if _sh(s)][:50],
    "399001.XSHE": lambda: [s for s in ranked_stocks() if not _sh(s)][:500],
    "399006.XSHE": lambda: [s for s in ranked_stocks() if board_of(s) is Board.CHINEXT][:100],
    "000001.XSHG": _sse_composite,
}


@lru_cache(maxsize=16)
def _members(code: str) -> tuple[Security, ...]:
    rule = INDEX_RULES.get(code)
    return tuple(sorted(rule(), key=lambda s: s.jq)) if rule is not None else ()


def index_stocks(index: Security, day: date | None) -> list[Security]:
    """Constituents of ``index`` sorted by JoinQuant code (see the module docstring); empty
    for a code without rules and for a ``day`` before :data:`ORIGIN`."""
    if day is not None and day < ORIGIN:
        return []
    return list(_members(index.jq))
