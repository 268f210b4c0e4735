"""``QmtBrokerAdapter``: the :class:`~bullet_trade.adapters.contracts.Broker` over
``xtquant.xttrader`` (miniQMT).

Placement uses ``order_stock_async`` with ``order_remark`` carrying the command's remark (the
server's, starting with its reconciliation tag; see :func:`.orders.remark_token`), or without
one the idempotency key (a hash of it when longer than :data:`REMARK_MAX`). The seq
returned is matched with ``on_order_stock_async_response``, which may arrive before the seq
itself is known (it is then parked) and after the order's own pushes (the order is then
already cached). Pushes become events in the order xtquant delivered them:
``on_stock_order`` → ``OrderUpdated``, ``on_stock_trade`` → ``TradeExecuted``,
``on_stock_asset`` / ``on_stock_position`` → ``AccountChanged`` (from a per-account cache),
``on_order_error`` → the order rejected (57) unless already terminal.

``on_disconnected`` makes every request fail with ``BackendUnavailable`` (a placement whose
request already went out fails with ``SubmitUnknown`` instead), emits
``BackendStateChanged`` and starts reconnecting (backoff, fresh session id, resubscribe every
account, reconcile: fills and order changes missed while down are emitted exactly once,
accounts refreshed; see :mod:`.book`).

One adapter drives one miniQMT terminal, so every account must share one ``data_path``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bullet_trade.adapters.contracts import BrokerListener
from bullet_trade.adapters.qmt import convert
from bullet_trade.adapters.qmt.book import QmtBook
from bullet_trade.adapters.qmt.guard import Backoff, LinkState, QmtGuard
from bullet_trade.adapters.qmt.orders import precheck, remark_token, submitted
from bullet_trade.adapters.qmt.sdk import XtSdk, load_sdk
from bullet_trade.adapters.qmt.support import ask, one_data_path, submit_unknown
from bullet_trade.adapters.qmt.trader_thread import CallbackBridge, CallTimedOut, TraderThread
from bullet_trade.errors import BackendUnavailable, OrderRejected, UnknownAccount
from bullet_trade.model.clock import Clock, WallClock
from bullet_trade.model.enums import XT_STOCK_BUY, XT_STOCK_SELL, OrderType, Side
from bullet_trade.model.records import (
    AccountConfig,
    AccountSnapshot,
    BackendStateChanged,
    BrokerEvent,
    CancelResult,
    Order,
    PlaceOrder,
    Position,
    Trade,
)

logger = logging.getLogger(__name__)

Row = dict[str, Any]


class QmtBrokerAdapter:
    """Trading through miniQMT (see module docstring).

    Args:
        accounts: configured accounts (all must share one ``data_path``, else
            ``BackendUnavailable`` with the fix).
        data_path: miniQMT ``userdata_mini`` directory (default for accounts without one).
        sdk: xtquant modules; imported on :meth:`start` when omitted.
        backoff: reconnect delays.
        call_timeout: seconds one trader call or async response may take.
        session_ids: source of session ids (random by default).
        clock: timestamps of acknowledged orders not yet pushed.
    """

    def __init__(
        self,
        accounts: Sequence[AccountConfig],
        *,
        data_path: str | None = None,
        sdk: XtSdk | None = None,
        backoff: Backoff | None = None,
        call_timeout: float = 10.0,
        session_ids: Callable[[], int] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._accounts = {a.key: a for a in accounts}
        self._by_id = {a.account_id: a for a in accounts}
        self._path = one_data_path(accounts, data_path)
        self._sdk = sdk
        self._timeout = call_timeout
        self._clock: Clock = clock or WallClock()
        self._session_ids = session_ids or (lambda: 100_000 + secrets.randbelow(2**30))
        self._guard = QmtGuard(backoff or Backoff(), self._on_state)
        self._listeners: list[BrokerListener] = []
        self._thread: TraderThread | None = None
        self._waits: dict[tuple[str, int], asyncio.Future[Row]] = {}
        self._early: dict[tuple[str, int], Row] = {}
        self._book = QmtBook(self._emit)
        self._reconnect: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def state(self) -> LinkState:
        return self._guard.state

    def readiness(self) -> dict[str, Any]:
        """For ``admin.health``: trader link state; accounts are subscribed exactly when the
        link is connected (subscription is part of connecting)."""
        connected = self._guard.state is LinkState.CONNECTED
        return {
            "ready": connected,
            "trader": self._guard.state.value,
            "detail": self._guard.detail,
            "accounts": {key: {"subscribed": connected} for key in self._accounts},
        }

    async def start(self) -> None:
        """Connect and subscribe every account.

        Raises:
            BackendUnavailable: xtquant missing, miniQMT not running / not logged in, or an
                account not subscribable; the message says what to check.
        """
        if self._sdk is None:
            self._sdk = load_sdk()
        await self._connect()
        self._guard.set(LinkState.CONNECTED, "")

    async def stop(self) -> None:
        self._guard.closed = True
        task, self._reconnect = self._reconnect, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self._drop_thread()
        self._fail_waits("the broker is stopping")

    async def _connect(self) -> None:
        assert self._sdk is not None
        await self._drop_thread()
        session = self._session_ids()
        bridge = CallbackBridge(asyncio.get_running_loop(), self._on_callback)
        thread = TraderThread(self._sdk, self._path, session, bridge, self._timeout)
        try:
            rc = await thread.open()
        except BaseException:  # failed or cancelled (stop()) mid-open: never leak the trader
            await thread.close()
            raise
        if rc != 0:
            await thread.close()
            raise BackendUnavailable(
                f"XtQuantTrader.connect() returned {rc} for {self._path!r}: start miniQMT "
                "(极简模式), log in, and check --data-path points at its userdata_mini folder"
            )
        self._thread = thread
        for account in self._accounts.values():
            acc = self._stock_account(account)
            code = await ask(thread, acc, lambda t, a: t.subscribe(a))
            if code != 0:
                raise BackendUnavailable(
                    f"subscribe({account.account_id}) returned {code}: is this fund account "
                    "logged in in miniQMT?"
                )
        await self._reconcile(thread)
        logger.info("miniQMT trader connected (session %s, %d accounts)", session,
                    len(self._accounts))

    async def _drop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await thread.close()

    def _stock_account(self, account: AccountConfig) -> Any:
        assert self._sdk is not None
        return self._sdk.xttype.StockAccount(account.account_id, account.account_type.upper())

    # ------------------------------------------------------------------ queries

    def accounts(self) -> list[AccountConfig]:
        return list(self._accounts.values())

    def add_listener(self, listener: BrokerListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: BrokerListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def account(self, account_key: str) -> AccountSnapshot:
        account = self._account(account_key)
        await self._refresh_account(account)
        return self._book.snapshot(account)

    async def positions(self, account_key: str) -> list[Position]:
        return list((await self.account(account_key)).positions)

    async def orders(self, account_key: str) -> list[Order]:
        account = self._account(account_key)
        rows = await self._query(account, lambda t, a: t.query_stock_orders(a, False))
        return [self._book.remember(account, r) for r in rows or []]

    async def trades(self, account_key: str) -> list[Trade]:
        account = self._account(account_key)
        rows = await self._query(account, lambda t, a: t.query_stock_trades(a))
        return [convert.trade_from_xt(convert.attrs(r), account.key) for r in rows or []]

    async def order(self, account_key: str, order_id: str) -> Order | None:
        """Cached (kept current by pushes); unknown ids are looked up at the counter."""
        account = self._account(account_key)
        cached = self._book.order(account.key, order_id)
        if cached is not None or not order_id.isdigit():
            return cached
        row = await self._query(account, lambda t, a: t.query_stock_order(a, int(order_id)))
        return self._book.remember(account, row) if row is not None else None

    # ------------------------------------------------------------------ commands

    async def place_order(self, account_key: str, command: PlaceOrder) -> Order:
        """Submit with ``order_stock_async``; returns the latest known snapshot.

        Raises:
            OrderRejected: refused before submission (index, lot, tick) or by the API.
            BackendUnavailable: only when nothing was sent (not connected, or xttrader
                refused the request without a seq).
            SubmitUnknown: the request may have gone out but its answer is missing (the call
                or its response timed out, or the link dropped while waiting); ``details``
                carries the ``idempotency_key`` when the command has one.
        """
        account = self._account(account_key)
        self._guard.require_ready()
        precheck(command)
        assert self._sdk is not None
        xc = self._sdk.xtconstant
        remark = remark_token(command)
        key = command.idempotency_key
        if key:
            self._book.note_key(remark, key)
        limit = command.order_type is OrderType.LIMIT
        args = (
            command.security.qmt,
            XT_STOCK_BUY if command.side is Side.BUY else XT_STOCK_SELL,
            command.amount,
            xc.FIX_PRICE if limit else xc.MARKET_PEER_PRICE_FIRST,
            float(command.price or 0.0),
            command.strategy_name,
            remark,
        )
        response = await self._request(
            "order", account, lambda t, a: t.order_stock_async(a, *args), idem_key=key
        )
        order_id = int(response.get("order_id") or -1)
        if order_id <= 0:
            message = str(response.get("error_msg") or "refused")
            raise OrderRejected(message, reason="broker_refused")
        ref = (account.key, str(order_id))
        if key:
            self._book.bind_key(account.key, ref[1], key)
        known = self._book.order(*ref)
        if known is None:
            known = submitted(command, account.key, ref[1], remark, self._clock.now())
        elif key and known.idempotency_key != key:
            known = replace(known, idempotency_key=key)
        self._book.orders[ref] = known
        return known

    async def cancel_order(self, account_key: str, order_id: str) -> CancelResult:
        """``cancel_order_stock_async``; ``accepted`` is the counter's ``cancel_result == 0``."""
        account = self._account(account_key)
        order = await self.order(account_key, order_id)
        if order is None or order.status.is_terminal or not order_id.isdigit():
            return CancelResult(accepted=False, order=order)
        response = await self._request(
            "cancel", account, lambda t, a: t.cancel_order_stock_async(a, int(order_id))
        )
        accepted = int(response.get("cancel_result", -1)) == 0
        return CancelResult(accepted=accepted, order=self._book.order(account.key, order_id))

    # ------------------------------------------------------------------ plumbing

    def _account(self, account_key: str) -> AccountConfig:
        account = self._accounts.get(account_key)
        if account is None:
            raise UnknownAccount(f"unknown account {account_key!r}", field="account_key")
        return account

    async def _query(self, account: AccountConfig, fn: Callable[[Any, Any], Any]) -> Any:
        self._guard.require_ready()
        thread = self._thread
        if thread is None:
            raise BackendUnavailable("the miniQMT trader is not connected")
        return await ask(thread, self._stock_account(account), fn)

    async def _request(
        self, kind: str, account: AccountConfig, fn: Callable[[Any, Any], Any],
        *, idem_key: str | None = None,
    ) -> Row:
        """Send an async request and await its response, matched by seq.

        For ``kind == "order"`` every failure after the call may have reached xttrader (the
        call timed out while still running, no response, link dropped or broker stopping
        while waiting) is :class:`SubmitUnknown` — never ``BackendUnavailable``, which
        tells the caller that nothing was sent.
        """
        try:
            seq = int(await self._query(account, fn) or -1)
        except CallTimedOut as exc:
            if kind == "order":
                raise submit_unknown(f"order_stock_async is still running: {exc.message}",
                               idem_key) from None
            raise
        if seq <= 0:
            raise BackendUnavailable(f"xttrader refused the {kind} request (seq {seq})")
        parked = self._early.pop((kind, seq), None)
        if parked is not None:
            return parked
        future: asyncio.Future[Row] = asyncio.get_running_loop().create_future()
        self._waits[(kind, seq)] = future
        try:
            return await asyncio.wait_for(future, self._timeout)
        except asyncio.TimeoutError:
            if kind == "order":
                raise submit_unknown(f"no answer to order_stock_async within {self._timeout:g}s",
                               idem_key) from None
            raise BackendUnavailable(f"no answer to the cancel within {self._timeout:g}s") from None
        except BackendUnavailable as exc:  # _fail_waits: disconnected / stopping
            if kind == "order":
                raise submit_unknown(f"order_stock_async was sent (seq {seq}) but {exc.message} "
                               "before its answer", idem_key) from None
            raise
        finally:
            self._waits.pop((kind, seq), None)

    def _fail_waits(self, why: str) -> None:
        for future in self._waits.values():
            if not future.done():
                future.set_exception(BackendUnavailable(why))
        self._waits.clear()

    async def _refresh_account(self, account: AccountConfig) -> None:
        asset = await self._query(account, lambda t, a: t.query_stock_asset(a))
        rows = await self._query(account, lambda t, a: t.query_stock_positions(a))
        if asset is None:
            raise BackendUnavailable(f"query_stock_asset({account.account_id}) returned None")
        self._book.set_account(account, asset, rows or [])

    async def _reconcile(self, thread: TraderThread) -> None:
        """After (re)connect: re-read every account and merge it into the book, which emits
        the fills and order changes missed while disconnected (see :mod:`.book`)."""
        for account in self._accounts.values():
            acc = self._stock_account(account)
            orders = await ask(thread, acc, lambda t, a: t.query_stock_orders(a, False))
            trades = await ask(thread, acc, lambda t, a: t.query_stock_trades(a))
            asset = await ask(thread, acc, lambda t, a: t.query_stock_asset(a))
            positions = await ask(thread, acc, lambda t, a: t.query_stock_positions(a))
            self._book.reconcile(account, orders or [], trades or [], asset, positions or [])

    # ------------------------------------------------------------------ callbacks (loop)

    def _on_callback(self, name: str, row: Row) -> None:
        try:
            self._dispatch(name, row)
        except Exception:  # one malformed push must not stop the others
            logger.exception("xttrader callback %s failed: %r", name, row)

    def _dispatch(self, name: str, row: Row) -> None:
        if name == "on_disconnected":
            self._on_disconnected()
            return
        if name in ("on_order_stock_async_response", "on_cancel_order_stock_async_response"):
            kind = "order" if name == "on_order_stock_async_response" else "cancel"
            self._resolve(kind, int(row.get("seq") or 0), row)
            return
        account = self._by_id.get(str(row.get("account_id")))
        if account is not None:  # None: another fund account on the same terminal
            self._book.handle(name, account, row)

    def _resolve(self, kind: str, seq: int, row: Row) -> None:
        future = self._waits.get((kind, seq))
        if future is None:
            self._early[(kind, seq)] = row
        elif not future.done():
            future.set_result(row)

    def _on_disconnected(self) -> None:
        if self._guard.state is not LinkState.CONNECTED:
            return
        self._guard.set(LinkState.DISCONNECTED, "miniQMT closed the connection")
        self._fail_waits("miniQMT disconnected")
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.get_running_loop().create_task(
                self._guard.reconnect(self._connect), name="qmt-reconnect"
            )

    def _on_state(self, state: LinkState, detail: str) -> None:
        self._emit(BackendStateChanged(state=state.value, detail=detail))

    def _emit(self, event: BrokerEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must not break the broker
                logger.exception("broker listener failed on %s", type(event).__name__)
