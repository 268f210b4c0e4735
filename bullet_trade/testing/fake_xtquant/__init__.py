"""A faithful fake of the ``xtquant`` SDK (miniQMT), driven by the simulated exchange.

Install it under the name ``xtquant`` so code that does ``from xtquant import xtdata`` gets
the fake::

    exchange = FakeExchange(SimMarket(SimConfig(clock_mode="real"), clock), ["111"])
    with installed(exchange):
        from xtquant import xtdata, xttrader   # the fake modules
        ...

Modules: ``xtconstant`` (real values), ``xttype`` (``StockAccount`` and response classes),
``xtdata`` (market data, not thread-safe), ``xttrader`` (``XtQuantTrader``, one callback
thread), ``exchange`` (the simulated counter and fault injection), ``native`` (result objects
that are not ``xttype`` instances), ``marketdata`` (xtquant layouts and units), ``feed``
(quote subscriptions). The traps reproduced are listed in each module's docstring and in
``shared/spec/xtquant.md`` sections 0 and 7. No network I/O happens on import.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import ModuleType

from bullet_trade.testing.fake_xtquant import _state, xtconstant, xtdata, xttrader, xttype
from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

__all__ = ["FakeExchange", "install", "installed", "uninstall"]

_SUBMODULES: dict[str, ModuleType] = {
    "xtconstant": xtconstant,
    "xtdata": xtdata,
    "xttrader": xttrader,
    "xttype": xttype,
}
_NAMES = ("xtquant", *(f"xtquant.{name}" for name in _SUBMODULES))


def _package() -> ModuleType:
    package = ModuleType("xtquant", "Fake xtquant package (bullet_trade.testing.fake_xtquant).")
    package.__path__ = []
    for name, module in _SUBMODULES.items():
        setattr(package, name, module)
    return package


def install(exchange: FakeExchange) -> dict[str, ModuleType | None]:
    """Put the fake in ``sys.modules`` as ``xtquant`` (and its submodules), talking to
    ``exchange``. Returns what was there before, for :func:`uninstall`."""
    saved = {name: sys.modules.get(name) for name in _NAMES}
    sys.modules["xtquant"] = _package()
    for name, module in _SUBMODULES.items():
        sys.modules[f"xtquant.{name}"] = module
    _state.set_exchange(exchange)
    xtdata._reset()
    return saved


def uninstall(saved: dict[str, ModuleType | None]) -> None:
    """Restore ``sys.modules`` as :func:`install` found it."""
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    _state.set_exchange(None)


@contextlib.contextmanager
def installed(exchange: FakeExchange) -> Iterator[FakeExchange]:
    """Context manager form of :func:`install` / :func:`uninstall`; also closes the feed."""
    saved = install(exchange)
    try:
        yield exchange
    finally:
        uninstall(saved)
        exchange.close()
