"""Fake ``xtquant.xttrader``: ``XtQuantTrader`` and ``XtQuantTraderCallback``.

Traps reproduced from the real library (``shared/spec/xtquant.md`` sections 0 and 2):

* ``__init__`` replaces the calling thread's asyncio event loop (``asyncio.set_event_loop``).
* Every callback and every synchronous query response runs on ONE worker thread created by
  ``start()``; a synchronous query made *from* that thread would deadlock in production, so
  the fake raises ``RuntimeError`` instead.
* ``start()`` returns ``None``; ``connect()`` / ``subscribe()`` return 0 or -1; ``connect()``
  is one-shot (after ``on_disconnected`` a new connect is needed, the fake wants a new object).
* Query results and pushes are native attribute bags, not ``xttype`` instances.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bullet_trade.testing.fake_xtquant import _state


class XtQuantTraderCallback:
    """Base class with a no-op for every callback."""

    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def on_account_status(self, status: Any) -> None: ...
    def on_stock_asset(self, asset: Any) -> None: ...
    def on_stock_order(self, order: Any) -> None: ...
    def on_stock_trade(self, trade: Any) -> None: ...
    def on_stock_position(self, position: Any) -> None: ...
    def on_order_error(self, order_error: Any) -> None: ...
    def on_cancel_error(self, cancel_error: Any) -> None: ...
    def on_order_stock_async_response(self, response: Any) -> None: ...
    def on_cancel_order_stock_async_response(self, response: Any) -> None: ...


class XtQuantTrader:
    """``XtQuantTrader(path, session_id, callback=None)`` over the installed fake exchange."""

    def __init__(self, path: str, session: int, callback: Any = None) -> None:
        path.encode("gb18030")  # the real client encodes the path the same way
        self.path = path
        self.session_id = int(session)
        self.callback = callback
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # the trap: the caller's loop is replaced
        self._exchange = _state.exchange()
        self._executor: ThreadPoolExecutor | None = None
        self._callback_thread: threading.Thread | None = None
        self._connected = False
        self._accounts: set[str] = set()
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._timeout: float | None = None

    # ------------------------------------------------------------------ lifecycle

    def register_callback(self, callback: Any) -> None:
        self.callback = callback

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xttrader-cb")
        self._executor.submit(self._remember_thread).result()

    def _remember_thread(self) -> None:
        self._callback_thread = threading.current_thread()

    def stop(self) -> None:
        self._exchange.detach(self)
        self._connected = False
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.loop.close()

    def connect(self) -> int:
        if self._executor is None:
            return -1
        rc = self._exchange.connect(self)
        self._connected = rc == 0
        return rc

    def subscribe(self, account: Any) -> int:
        if not self._connected or not self._exchange.has_account(account.account_id):
            return -1
        self._accounts.add(account.account_id)
        return 0

    def unsubscribe(self, account: Any) -> int:
        self._accounts.discard(account.account_id)
        return 0

    def set_timeout(self, timeout: int) -> None:
        self._timeout = timeout / 1000.0 if timeout > 0 else None

    def set_relaxed_response_order_enabled(self, enabled: bool) -> None:
        """Accepted and ignored (the fake keeps the default, strict ordering)."""

    # ------------------------------------------------------------------ Session protocol

    def subscribed_to(self, account_id: str) -> bool:
        return account_id in self._accounts

    def deliver(self, name: str, obj: Any) -> None:
        executor = self._executor
        if executor is not None:
            executor.submit(self._invoke, name, obj)

    def drop(self) -> None:
        self._connected = False

    def _invoke(self, name: str, obj: Any) -> None:
        method = getattr(self.callback, name, None)
        if method is None:
            return
        try:
            method() if obj is None else method(obj)
        except Exception:  # the real wrapper prints and swallows callback errors
            traceback.print_exc()

    # ------------------------------------------------------------------ orders

    def _next_seq(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _request(self, account: Any, *args: Any, is_async: bool) -> dict[str, Any]:
        code, order_type, volume, price_type, price, strategy, remark = args
        return {
            "account_id": account.account_id, "stock_code": code, "order_type": order_type,
            "order_volume": int(volume), "price_type": price_type, "price": price,
            "strategy_name": strategy, "order_remark": remark, "async": is_async,
        }

    def order_stock_async(
        self, account: Any, stock_code: str, order_type: int, order_volume: int,
        price_type: int, price: float, strategy_name: str = "", order_remark: str = "",
    ) -> int:
        if not self._connected:
            return -1
        hang = self._exchange.faults.take("order_stock_async")
        if hang is not None:  # injected: the call is stuck, then goes out late
            hang.block()
        seq = self._next_seq()
        args = (stock_code, order_type, order_volume, price_type, price, strategy_name,
                order_remark)
        self._exchange.place(self, seq, self._request(account, *args, is_async=True))
        return seq

    def order_stock(
        self, account: Any, stock_code: str, order_type: int, order_volume: int,
        price_type: int, price: float, strategy_name: str = "", order_remark: str = "",
    ) -> int:
        if not self._connected:
            return -1
        args = (stock_code, order_type, order_volume, price_type, price, strategy_name,
                order_remark)
        request = self._request(account, *args, is_async=False)
        return self._exchange.place(self, self._next_seq(), request)

    def cancel_order_stock_async(self, account: Any, order_id: int) -> int:
        if not self._connected:
            return -1
        seq = self._next_seq()
        self._exchange.cancel(self, seq, account.account_id, int(order_id))
        return seq

    def cancel_order_stock(self, account: Any, order_id: int) -> int:
        if not self._connected:
            return -1
        return self._exchange.cancel(self, self._next_seq(), account.account_id, int(order_id))

    # ------------------------------------------------------------------ queries

    def _sync(self, fn: Any, *args: Any) -> Any:
        if threading.current_thread() is self._callback_thread:
            raise RuntimeError(
                "synchronous xttrader query from the callback thread: this deadlocks in "
                "production (use the *_async queries or relaxed response order)"
            )
        if not self._connected or self._executor is None:
            return None
        return self._executor.submit(fn, *args).result(timeout=self._timeout)

    def query_stock_asset(self, account: Any) -> Any:
        return self._sync(self._exchange.asset, account.account_id)

    def query_stock_orders(self, account: Any, cancelable_only: bool = False) -> Any:
        rows = self._sync(self._exchange.orders, account.account_id)
        if rows is not None and cancelable_only:
            rows = [r for r in rows if r.order_status in (48, 49, 50, 55)]
        return rows

    def query_stock_order(self, account: Any, order_id: int) -> Any:
        rows = self.query_stock_orders(account) or []
        return next((r for r in rows if r.order_id == int(order_id)), None)

    def query_stock_trades(self, account: Any) -> Any:
        return self._sync(self._exchange.trades, account.account_id)

    def query_stock_positions(self, account: Any) -> Any:
        return self._sync(self._exchange.positions, account.account_id)
