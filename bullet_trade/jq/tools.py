"""JoinQuant helpers: ``get_current_tick``, ``print_portfolio_info``, ``prettytable_print_df``,
``read_file``/``write_file`` and the lazy ``talib`` module.

``read_file``/``write_file`` are sandboxed: paths are relative to ``<runtime dir>/files``
(``RUNTIME_DIR/live/files``); absolute paths and paths leaving that directory (``..``, links)
raise ``PermissionError``. The runner's own state files are never reachable from there.
"""

from __future__ import annotations

import importlib
import os
import tempfile
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bullet_trade.jq.binding import current_session
from bullet_trade.jq.log import log
from bullet_trade.jq.objects import Tick
from bullet_trade.live.portfolio import Portfolio
from bullet_trade.model.codes import Security, parse_security
from bullet_trade.model.records import Quote

if TYPE_CHECKING:
    from bullet_trade.live.session import LiveSession

#: Sub-directory of the runtime directory that ``read_file``/``write_file`` may use.
FILES_DIR = "files"

TALIB_MISSING = (
    "TA-Lib is not installed: `talib` needs the TA-Lib C library and its Python wrapper "
    "(pip install TA-Lib; see https://ta-lib.org for the C library)"
)


# --------------------------------------------------------------------------- ticks


def get_current_tick(security: str, dt: Any = None, df: bool = False) -> Tick | pd.DataFrame | None:
    """The current tick of ``security``: the newest pushed tick when it is subscribed, else
    the current quote (cached for the current moment). ``None`` when there is no price.
    ``dt`` is ignored (live: always now); ``df=True`` returns a one-row DataFrame."""
    session = current_session()
    code = parse_security(security)
    quote = session.call(_current_quote(session, code))
    if quote is None or not quote.last_price > 0:
        return None
    tick = Tick.from_quote(quote)
    if df:
        row: pd.DataFrame = pd.DataFrame([{f: getattr(tick, f) for f in _TICK_FIELDS}])
        return row
    return tick


_TICK_FIELDS = ("code", "datetime", "current", "high", "low", "volume", "money",
                "high_limit", "low_limit")


async def _current_quote(session: LiveSession, security: Security) -> Quote | None:
    return session.ticks.latest(security) or await session.quote(security)


# --------------------------------------------------------------------------- printing


def portfolio_frame(portfolio: Portfolio, top_n: int | None = None,
                    sort_by: str = "value") -> pd.DataFrame:
    """Positions as a table (largest ``sort_by`` first, at most ``top_n`` rows)."""
    rows = [
        {"security": p.security, "name": p.name or "", "amount": p.total_amount,
         "closeable": p.closeable_amount, "avg_cost": p.avg_cost, "price": p.price,
         "value": p.value,
         "pnl%": round((p.price / p.avg_cost - 1) * 100, 2) if p.avg_cost > 0 else 0.0}
        for p in portfolio.positions.values()
    ]
    frame = pd.DataFrame(rows, columns=["security", "name", "amount", "closeable", "avg_cost",
                                        "price", "value", "pnl%"])
    if sort_by in frame.columns and not frame.empty:
        frame = frame.sort_values(sort_by, ascending=False, kind="stable")
    shown: pd.DataFrame = frame.head(top_n) if top_n else frame
    return shown


def print_portfolio_info(context: Any = None, top_n: int | None = None,
                         sort_by: str = "value") -> str:
    """Log cash, total value and the positions table; returns the text that was logged.
    ``context`` is accepted for JoinQuant compatibility (the running strategy's is used)."""
    portfolio = current_session().portfolio()
    header = (f"portfolio: total {portfolio.total_value:,.2f}  cash {portfolio.available_cash:,.2f}"
              f"  positions {portfolio.positions_value:,.2f}  returns {portfolio.returns:.2%}")
    frame = portfolio_frame(portfolio, top_n, sort_by)
    text = header if frame.empty else f"{header}\n{frame.to_string(index=False)}"
    log.info(text)
    return text


def prettytable_print_df(df: pd.DataFrame, max_rows: int = 50) -> str:
    """Log ``df`` as a bordered text table (first ``max_rows`` rows); returns the text."""
    shown = df.head(max_rows)
    cells = [[str(c) for c in shown.columns]] + [[str(v) for v in row]
                                                   for row in shown.itertuples(index=False)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(shown.columns))]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [rule]
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            lines.append(rule)
    lines.append(rule)
    if len(df) > max_rows:
        lines.append(f"({len(df) - max_rows} more rows)")
    text = "\n".join(lines)
    log.info(text)
    return text


# --------------------------------------------------------------------------- files


def sandboxed_path(path: str | os.PathLike[str]) -> Path:
    """Resolve ``path`` inside the files directory of the running strategy.

    Raises:
        PermissionError: ``path`` is absolute or leaves the files directory.
    """
    root = current_session().runtime_dir / FILES_DIR
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    relative = Path(path)
    target = (root / relative).resolve()
    if relative.anchor or (target != root and root not in target.parents):
        raise PermissionError(f"{os.fspath(path)!r} is outside the strategy files directory")
    return target


def read_file(path: str | os.PathLike[str]) -> bytes:
    """The content of a file written with :func:`write_file` (bytes, like JoinQuant).

    Raises:
        PermissionError: the path is outside the sandbox.
        FileNotFoundError: no such file.
    """
    return sandboxed_path(path).read_bytes()


def write_file(path: str | os.PathLike[str], content: str | bytes, append: bool = False) -> None:
    """Write (``append=True``: append) ``content`` to a file in the sandbox; ``str`` is
    written as UTF-8. A full write replaces the file atomically; parent folders are created.

    Raises:
        PermissionError: the path is outside the sandbox.
        TypeError: ``content`` is neither ``str`` nor ``bytes``.
    """
    if not isinstance(content, (str, bytes)):
        raise TypeError(f"content must be str or bytes, got {type(content).__name__}")
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = sandboxed_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with target.open("ab") as stream:
            stream.write(data)
        return
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- talib


class LazyTalib(types.ModuleType):
    """Stands in for the ``talib`` module: imports TA-Lib on first attribute use.

    Raises:
        ImportError: (on attribute use) TA-Lib is not installed; the message says how to
            install it.
    """

    def __init__(self) -> None:
        super().__init__("talib", "TA-Lib, imported on first use")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (copy, inspect, pickle) must not import
            raise AttributeError(name)
        try:
            module = importlib.import_module("talib")
        except ImportError as exc:
            raise ImportError(TALIB_MISSING) from exc
        return getattr(module, name)


talib = LazyTalib()
