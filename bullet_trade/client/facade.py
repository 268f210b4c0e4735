"""Synchronous facades for scripts and notebooks: ``RemoteQmtBroker`` and ``RemoteQmtProvider``.

They hold no logic: each method forwards to the async class through a
:class:`~bullet_trade.client.loop.LoopThread`. Each facade opens its own connection (as the
published client did), on :meth:`connect` or lazily on first use.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

import pandas as pd

from bullet_trade.client.broker import AsyncRemoteBroker
from bullet_trade.client.connection import AsyncConnection
from bullet_trade.client.envconfig import client_config_from_env
from bullet_trade.client.loop import LoopThread
from bullet_trade.client.provider import PROVIDER_EXTENSIONS, AsyncRemoteProvider, DateLike
from bullet_trade.config import ClientConfig

A = TypeVar("A")


def _resolve_config(config: ClientConfig | None, overrides: dict[str, Any]) -> ClientConfig:
    if config is None:
        return client_config_from_env(os.environ, **overrides)
    return dataclasses.replace(config, **overrides) if overrides else config


class _SyncClient(Generic[A]):
    """Lifecycle shared by the facades: one loop thread + one connection + one async API."""

    _thread_name = "bullet-trade-client"
    _extensions: tuple[str, ...] = ()

    def __init__(self, config: ClientConfig | None = None, **overrides: Any) -> None:
        self._config = _resolve_config(config, overrides)
        self._loop: LoopThread | None = None
        self._conn: AsyncConnection | None = None
        self._api: A | None = None

    def _build(self, conn: AsyncConnection) -> A:
        raise NotImplementedError

    @property
    def config(self) -> ClientConfig:
        return self._config

    def connect(self) -> None:
        """Connect and handshake. On failure (e.g. ``AuthFailed``) the loop thread is stopped
        again, so nothing keeps running."""
        if self._loop is not None:
            return
        loop = LoopThread(self._thread_name)
        conn = AsyncConnection(self._config, extensions=self._extensions)
        try:
            loop.run(conn.connect())
        except BaseException:
            loop.close()
            raise
        self._loop, self._conn, self._api = loop, conn, self._build(conn)

    def close(self) -> None:
        """Close the connection and stop the loop thread. Idempotent."""
        loop, conn = self._loop, self._conn
        self._loop = self._conn = self._api = None
        if loop is None or conn is None:
            return
        try:
            loop.run(conn.close(), timeout=5.0)
        finally:
            loop.close()

    def is_connected(self) -> bool:
        return self._conn is not None and self._conn.connected

    def _require(self) -> tuple[LoopThread, A]:
        if self._loop is None:
            self.connect()
        assert self._loop is not None and self._api is not None
        return self._loop, self._api

    def __enter__(self) -> _SyncClient[A]:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RemoteQmtBroker(_SyncClient[AsyncRemoteBroker]):
    """Blocking broker client. ``config=None`` reads ``QMT_SERVER_*`` from the environment;
    keyword ``overrides`` replace ClientConfig fields. See :class:`AsyncRemoteBroker`."""

    _thread_name = "bullet-trade-broker"
    _extensions = ("events.v1",)

    def _build(self, conn: AsyncConnection) -> AsyncRemoteBroker:
        return AsyncRemoteBroker(
            conn, account_key=self._config.account_key,
            sub_account_id=self._config.sub_account_id,
        )

    def __enter__(self) -> RemoteQmtBroker:
        self.connect()
        return self

    def get_account_info(self) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.get_account_info())

    def get_positions(self) -> list[dict[str, Any]]:
        loop, api = self._require()
        return loop.run(api.get_positions())

    def get_orders(
        self, order_id: str | None = None, security: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        loop, api = self._require()
        return loop.run(api.get_orders(order_id, security, status))

    def get_open_orders(self) -> list[dict[str, Any]]:
        loop, api = self._require()
        return loop.run(api.get_open_orders())

    def get_trades(
        self, order_id: str | None = None, security: str | None = None
    ) -> list[dict[str, Any]]:
        loop, api = self._require()
        return loop.run(api.get_trades(order_id, security))

    def get_order_status(
        self, order_id: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.get_order_status(order_id, idempotency_key))

    def buy(
        self, security: str, amount: int, price: float | None = None, *,
        wait_timeout: float | None = None, remark: str | None = None, market: bool | None = None,
    ) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.buy(
            security, amount, price, wait_timeout=wait_timeout, remark=remark, market=market
        ))

    def sell(
        self, security: str, amount: int, price: float | None = None, *,
        wait_timeout: float | None = None, remark: str | None = None, market: bool | None = None,
    ) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.sell(
            security, amount, price, wait_timeout=wait_timeout, remark=remark, market=market
        ))

    def cancel_order(self, order_id: str) -> bool:
        loop, api = self._require()
        return loop.run(api.cancel_accepted(order_id))


class RemoteQmtProvider(_SyncClient[AsyncRemoteProvider]):
    """Blocking market-data client (own connection). See :class:`AsyncRemoteProvider`."""

    _thread_name = "bullet-trade-data"
    _extensions = PROVIDER_EXTENSIONS

    def _build(self, conn: AsyncConnection) -> AsyncRemoteProvider:
        return AsyncRemoteProvider(conn)

    def __enter__(self) -> RemoteQmtProvider:
        self.connect()
        return self

    def get_price(
        self, security: str | list[str], start_date: DateLike = None, end_date: DateLike = None,
        frequency: str = "daily", fields: list[str] | None = None, *, count: int | None = None,
        fq: str | None = "pre", panel: bool = True, skip_paused: bool = False,
    ) -> pd.DataFrame:
        loop, api = self._require()
        return loop.run(api.get_price(
            security, start_date, end_date, frequency, fields, count=count, fq=fq,
            panel=panel, skip_paused=skip_paused,
        ))

    def get_trade_days(
        self, start_date: DateLike = None, end_date: DateLike = None, count: int | None = None
    ) -> list[pd.Timestamp]:
        loop, api = self._require()
        return loop.run(api.get_trade_days(start_date, end_date, count))

    def get_security_info(self, security: str) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.get_security_info(security))

    def get_current_tick(self, security: str) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.get_current_tick(security))

    def get_all_securities(
        self, types: str | Sequence[str] | None = "stock", date: DateLike = None
    ) -> pd.DataFrame:
        """``data.get_all_securities`` (indexed by ``code``; see ``AsyncRemoteProvider``)."""
        loop, api = self._require()
        return loop.run(api.get_all_securities(types, date))

    def get_index_stocks(self, index_symbol: str, date: DateLike = None) -> list[str]:
        loop, api = self._require()
        return loop.run(api.get_index_stocks(index_symbol, date))

    def get_split_dividend(
        self, security: str, start_date: DateLike = None, end_date: DateLike = None
    ) -> list[dict[str, Any]]:
        loop, api = self._require()
        return loop.run(api.get_split_dividend(security, start_date, end_date))

    def get_live_current(self, security: str) -> dict[str, Any]:
        loop, api = self._require()
        return loop.run(api.get_live_current(security))

    def subscribe_ticks(
        self, symbols: Iterable[str], callback: Callable[[dict[str, Any]], Any]
    ) -> None:
        """``callback(tick)`` runs on a worker thread, in order, never on the I/O loop."""
        loop, api = self._require()
        loop.run(api.subscribe_ticks(symbols, loop.offload(callback)))

    def unsubscribe_ticks(self, symbols: Iterable[str] | None = None) -> None:
        loop, api = self._require()
        loop.run(api.unsubscribe_ticks(symbols))
