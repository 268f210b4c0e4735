"""The simulated counter behind the fake ``xtquant``: a :class:`SimBrokerAdapter` and a
:class:`SimDataAdapter` over one :class:`SimMarket`, seen through xtquant's conventions.

Every order is given an integer ``order_id`` *before* it is validated, as the real counter does:
an order the simulator refuses still gets an id and is then pushed back as a junk order
(``on_stock_order`` with status 57) plus ``on_order_error`` (``error_id=-61``, a counter-style
message). Pushes go to every connected session subscribed to the account, through each
session's single callback thread, in the order the simulator produced them.

Fault injection for tests: :attr:`logged_in` (``connect()`` answers -1 when False),
:attr:`refuse_connects` (the next N connects fail), :meth:`disconnect` (every session gets
``on_disconnected``), :meth:`hang` (the next xtdata call of a name blocks until released,
before or inside the client; :attr:`faults` also records concurrent xtdata use),
:attr:`push_before_response` (order pushes overtake the async order response).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bullet_trade.adapters.sim.broker import SimBrokerAdapter
from bullet_trade.adapters.sim.data import SimDataAdapter
from bullet_trade.adapters.sim.market import SimMarket
from bullet_trade.errors import BulletTradeError
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import (
    AccountChanged,
    AccountConfig,
    BrokerEvent,
    Order,
    OrderUpdated,
    PlaceOrder,
    TradeExecuted,
)
from bullet_trade.testing.fake_xtquant import marketdata, native
from bullet_trade.testing.fake_xtquant import xtconstant as xc
from bullet_trade.testing.fake_xtquant.faults import Hang, XtdataFaults
from bullet_trade.testing.fake_xtquant.feed import QuoteFeed
from bullet_trade.testing.fake_xtquant.xttype import XtCancelOrderResponse, XtOrderResponse

if TYPE_CHECKING:
    from bullet_trade.testing.fake_xtquant.native import NativeObject

logger = logging.getLogger(__name__)

T = TypeVar("T")
Push = tuple[str, Any]

#: Longest order remark the fake counter keeps (longer remarks are cut, as counters do).
REMARK_LIMIT = 24

_COUNTER_TEXT = {
    "insufficient_cash": "可用资金不足",
    "insufficient_position": "证券可用数量不足",
    "suspended": "证券停牌",
    "price_outside_limit": "委托价格超出涨跌幅限制",
    "bad_lot": "委托数量不符合规定",
    "bad_tick": "委托价格不符合最小价差",
    "market_closed": "当前时间不允许此类证券交易",
    "not_tradable": "该证券不允许交易",
}


class Session(Protocol):
    """What the exchange needs of a connected ``XtQuantTrader``."""

    def subscribed_to(self, account_id: str) -> bool: ...

    def deliver(self, name: str, obj: Any) -> None: ...

    def drop(self) -> None: ...


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a simulator coroutine that never suspends (latency 0) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the simulator suspended; set SimConfig.latency to 0 for the fake")


class FakeExchange:
    """Shared state of the fake ``xtdata`` and ``xttrader`` (see module docstring).

    Args:
        market: prices and the clock; its config must have ``latency == 0``.
        account_ids: fund accounts that exist at this counter.
        push_before_response: deliver order pushes before ``on_order_stock_async_response``.

    :attr:`withhold_order_responses` (default False) places async orders but never delivers
    ``on_order_stock_async_response`` (the request went out, the answer is lost).
    """

    def __init__(
        self,
        market: SimMarket,
        account_ids: Sequence[str],
        *,
        push_before_response: bool = True,
        tick_interval: float | None = None,
    ) -> None:
        self.market = market
        self.data = SimDataAdapter(market, market.config)
        accounts = [AccountConfig(key=a, account_id=a) for a in account_ids]
        self._broker = SimBrokerAdapter(market, market.config, accounts)
        self._events: list[BrokerEvent] = []
        self._broker.add_listener(self._events.append)
        self.lock = threading.RLock()
        self._xt_ids: dict[tuple[str, str], int] = {}
        self._junk: dict[str, dict[int, NativeObject]] = {a: {} for a in account_ids}
        self._next_id = 1000
        self._sessions: list[Session] = []
        self.logged_in = True
        self.refuse_connects = 0
        self.data_online = True
        self.push_before_response = push_before_response
        self.withhold_order_responses = False
        self.faults = XtdataFaults()
        self.connects = 0
        #: tests: when set, ``connect`` waits for this event (a connect stuck in miniQMT)
        self.connect_gate: threading.Event | None = None
        self.connect_entered = threading.Event()
        self.saved_modules: dict[str, Any] = {}
        self.feed = QuoteFeed(lambda code: marketdata.full_tick(self, code), tick_interval)

    def push_ticks(self) -> None:
        """Push the current quote to every xtdata subscription (on the push thread)."""
        self.feed.push_all()

    def close(self) -> None:
        """Stop the quote push thread."""
        self.feed.stop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a simulator coroutine synchronously (hold :attr:`lock`)."""
        return run_sync(coro)

    # ------------------------------------------------------------------ sessions

    def has_account(self, account_id: str) -> bool:
        return account_id in self._junk

    def connect(self, session: Session) -> int:
        """0 when the session is accepted, -1 when miniQMT is "not logged in"."""
        self.connect_entered.set()
        if self.connect_gate is not None:
            self.connect_gate.wait(10)
        with self.lock:
            self.connects += 1
            if not self.logged_in:
                return -1
            if self.refuse_connects > 0:
                self.refuse_connects -= 1
                return -1
            self._sessions.append(session)
            return 0

    @property
    def session_count(self) -> int:
        """Trader sessions currently attached (connected and not stopped)."""
        with self.lock:
            return len(self._sessions)

    def detach(self, session: Session) -> None:
        with self.lock:
            if session in self._sessions:
                self._sessions.remove(session)

    def disconnect(self) -> None:
        """Drop every session; each gets ``on_disconnected`` on its callback thread."""
        with self.lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.deliver("on_disconnected", None)
            session.drop()

    def _broadcast(self, account_id: str, pushes: list[Push], skip: Session | None) -> None:
        for session in self._sessions:
            if session is not skip and session.subscribed_to(account_id):
                for name, obj in pushes:
                    session.deliver(name, obj)

    # ------------------------------------------------------------------ orders

    def place(self, caller: Session, seq: int, request: dict[str, Any]) -> int:
        """Accept an order request (``order_stock*`` arguments); returns its ``order_id``.

        Pushes, the async response (when ``request['async']``) and any order error are
        delivered to ``caller`` in xtquant's order; other sessions get the pushes only.
        """
        account_id = str(request["account_id"])
        remark = str(request["order_remark"])[:REMARK_LIMIT]
        with self.lock:
            self._events.clear()
            error: NativeObject | None = None
            try:
                command = self._command(request, remark)
                order = run_sync(self._broker.place_order(account_id, command))
                xt_id = self._xt_id(account_id, order.order_id)
                pushes = self._drain(account_id, first=(order.order_id, xc.ORDER_WAIT_REPORTING))
            except BulletTradeError as exc:
                xt_id = self._new_id()
                junk, message = self._junk_order(account_id, xt_id, request, remark, exc)
                self._junk[account_id][xt_id] = junk
                pushes = [("on_stock_order", junk)]
                error = native.order_error(account_id, xt_id, seq, message, remark)
            self._broadcast(account_id, pushes, skip=caller)
            own = pushes if caller.subscribed_to(account_id) else []
            if request.get("async") and not self.withhold_order_responses:
                response = _order_response(account_id, xt_id, seq, request, remark)
                before = self.push_before_response
                own = [*own, response] if before else [response, *own]
            if error is not None:
                own = [*own, ("on_order_error", error)]
            for name, obj in own:
                caller.deliver(name, obj)
            return xt_id

    def cancel(self, caller: Session, seq: int, account_id: str, xt_id: int) -> int:
        """Cancel request; 0 when accepted (the result arrives as pushes), -1 otherwise."""
        with self.lock:
            self._events.clear()
            sim_id = self._sim_id(account_id, xt_id)
            accepted = False
            if sim_id is not None:
                result = run_sync(self._broker.cancel_order(account_id, sim_id))
                accepted = result.accepted
            pushes = self._drain(account_id, cancel=True) if accepted else []
            self._broadcast(account_id, pushes, skip=caller)
            own: list[Push] = [("on_cancel_order_stock_async_response", _cancel_response(
                account_id, xt_id, seq, accepted))]
            own += pushes if caller.subscribed_to(account_id) else []
            if not accepted:
                msg = "撤单失败：委托已成交、已撤或不存在"
                own.append(("on_cancel_error", native.cancel_error(account_id, xt_id, seq, msg)))
            for name, obj in own:
                caller.deliver(name, obj)
            return 0 if accepted else -1

    def match_now(self) -> int:
        """One matching pass of the simulator; the resulting pushes are broadcast."""
        with self.lock:
            self._events.clear()
            count = run_sync(self._broker.match_now())
            for account in self._broker.accounts():
                self._broadcast(account.account_id, self._drain(account.account_id), None)
            return count

    # ------------------------------------------------------------------ queries

    def orders(self, account_id: str) -> list[NativeObject]:
        with self.lock:
            sim_orders = run_sync(self._broker.orders(account_id))
            rows = [self._native_order(account_id, o) for o in sim_orders]
            rows += list(self._junk[account_id].values())
            return sorted(rows, key=lambda r: int(r.order_id))

    def trades(self, account_id: str) -> list[NativeObject]:
        with self.lock:
            out = []
            for t in run_sync(self._broker.trades(account_id)):
                o = run_sync(self._broker.order(account_id, t.order_id))
                out.append(native.trade(
                    account_id, self._xt_id(account_id, t.order_id), t,
                    remark=o.remark if o else "", strategy=o.strategy_name if o else "",
                ))
            return out

    def asset(self, account_id: str) -> NativeObject:
        with self.lock:
            return native.asset(run_sync(self._broker.account(account_id)))

    def positions(self, account_id: str) -> list[NativeObject]:
        with self.lock:
            snap = run_sync(self._broker.account(account_id))
            return [native.position(account_id, p) for p in snap.positions]

    # ------------------------------------------------------------------ xtdata faults

    def hang(self, name: str, *, inside: bool = False) -> Hang:
        """Make the next xtdata call of ``name`` block until ``.set()`` (see :mod:`.faults`):
        before the client by default, or ``inside`` it while holding the thread-safety guard.
        ``"order_stock_async"`` hangs the fake trader's next async order call instead (it
        places the order once released, as a stuck real call would complete late)."""
        return self.faults.hang(name, inside=inside)

    # ------------------------------------------------------------------ internals

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _xt_id(self, account_id: str, sim_id: str) -> int:
        key = (account_id, sim_id)
        if key not in self._xt_ids:
            self._xt_ids[key] = self._new_id()
        return self._xt_ids[key]

    def _sim_id(self, account_id: str, xt_id: int) -> str | None:
        for (account, sim_id), value in self._xt_ids.items():
            if account == account_id and value == int(xt_id):
                return sim_id
        return None

    def _native_order(self, account_id: str, o: Order, status: int | None = None) -> NativeObject:
        xt_id = self._xt_id(account_id, o.order_id)
        raw = o.raw_status if status is None else status
        return native.order(account_id, xt_id, o, remark=o.remark, status=raw)

    def _command(self, request: dict[str, Any], remark: str) -> PlaceOrder:
        market = int(request["price_type"]) in xc.MARKET_PRICE_TYPES
        price = float(request["price"])
        return PlaceOrder(
            security=parse_security(str(request["stock_code"]), "stock_code"),
            side=Side.BUY if int(request["order_type"]) == xc.STOCK_BUY else Side.SELL,
            amount=int(request["order_volume"]),
            order_type=OrderType.MARKET if market else OrderType.LIMIT,
            price=price if price > 0 else None,
            remark=remark,
            strategy_name=str(request["strategy_name"]),
        )

    def _drain(
        self, account_id: str, *, first: tuple[str, int] | None = None, cancel: bool = False
    ) -> list[Push]:
        """Simulator events → xtquant pushes (plus the intermediate statuses xtquant shows)."""
        pushes: list[Push] = []
        for event in self._events:
            if isinstance(event, OrderUpdated):
                pushes += self._order_pushes(account_id, event.order, first, cancel)
                first = None
            elif isinstance(event, TradeExecuted):
                o = run_sync(self._broker.order(account_id, event.trade.order_id))
                xt_id = self._xt_id(account_id, event.trade.order_id)
                pushes.append(("on_stock_trade", native.trade(
                    account_id, xt_id, event.trade, remark=o.remark if o else "",
                    strategy=o.strategy_name if o else "")))
            elif isinstance(event, AccountChanged):
                pushes.append(("on_stock_asset", native.asset(event.account)))
                pushes += [
                    ("on_stock_position", native.position(account_id, p))
                    for p in event.account.positions
                ]
        self._events.clear()
        return pushes

    def _order_pushes(
        self, account_id: str, order: Order, first: tuple[str, int] | None, cancel: bool
    ) -> list[Push]:
        out: list[Push] = []
        if first is not None and first[0] == order.order_id:
            out.append(("on_stock_order", self._native_order(account_id, order, first[1])))
        if cancel and order.status in (OrderStatus.CANCELED, OrderStatus.PARTLY_CANCELED):
            pending = xc.ORDER_PARTSUCC_CANCEL if order.filled else xc.ORDER_REPORTED_CANCEL
            out.append(("on_stock_order", self._native_order(account_id, order, pending)))
        out.append(("on_stock_order", self._native_order(account_id, order)))
        return out

    def _junk_order(
        self,
        account_id: str,
        xt_id: int,
        request: dict[str, Any],
        remark: str,
        exc: BulletTradeError,
    ) -> tuple[NativeObject, str]:
        market = int(request["price_type"]) in xc.MARKET_PRICE_TYPES
        buy = int(request["order_type"]) == xc.STOCK_BUY
        code = str(request["stock_code"])
        symbol, _, exchange = code.partition(".")
        text = _COUNTER_TEXT.get(exc.reason or "", exc.message)
        message = (
            f"{'市价' if market else '限价'}{'买入' if buy else '卖出'} "
            f"[{exchange.upper()}{symbol}] [COUNTER] [12313][{text}]"
        )
        junk = native.NativeObject(
            account_type=native.ACCOUNT_TYPE, account_id=account_id, stock_code=code,
            order_id=xt_id, order_sysid="", order_time=native.epoch_s(self.market.clock.now()),
            order_type=int(request["order_type"]), order_volume=int(request["order_volume"]),
            price_type=88 if market else 50, price=float(request["price"]), traded_volume=0,
            traded_price=0.0, order_status=xc.ORDER_JUNK, status_msg=message,
            strategy_name=str(request["strategy_name"]), order_remark=remark,
            direction=xc.DIRECTION_FLAG_LONG,
            offset_flag=xc.OFFSET_FLAG_OPEN if buy else xc.OFFSET_FLAG_CLOSE,
            secu_account="", instrument_name="",
        )
        return junk, message


def _order_response(
    account_id: str, xt_id: int, seq: int, request: dict[str, Any], remark: str
) -> Push:
    return ("on_order_stock_async_response", XtOrderResponse(
        account_type=native.ACCOUNT_TYPE, account_id=account_id, order_id=xt_id,
        strategy_name=str(request["strategy_name"]), order_remark=remark, error_msg="", seq=seq,
    ))


def _cancel_response(account_id: str, xt_id: int, seq: int, accepted: bool) -> Any:
    return XtCancelOrderResponse(
        account_type=native.ACCOUNT_TYPE, account_id=account_id,
        cancel_result=0 if accepted else -1, order_id=xt_id, order_sysid="", seq=seq,
        error_msg="" if accepted else "cancel refused",
    )
