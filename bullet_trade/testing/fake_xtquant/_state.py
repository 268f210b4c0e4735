"""The exchange the installed fake ``xtquant`` modules talk to (set by ``install``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bullet_trade.testing.fake_xtquant.exchange import FakeExchange

_current: list[FakeExchange] = []


def set_exchange(exchange: FakeExchange | None) -> None:
    _current[:] = [exchange] if exchange is not None else []


def exchange() -> FakeExchange:
    if not _current:
        raise Exception("无法连接xtquant服务，请检查QMT-投研版或QMT-极简版是否开启")
    return _current[0]
