"""The action table: every request action the server answers, and nothing else.

:func:`build_action_table` maps each v1 action name (and each v1 alias, listed explicitly; no
``getattr`` on network strings) to an :class:`~bullet_trade.server.context.ActionSpec`. An
action missing from the table is ``UNSUPPORTED``. Handlers return v1 response payloads or raise
:class:`~bullet_trade.errors.BulletTradeError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bullet_trade.adapters.contracts import ReferenceData
from bullet_trade.server.context import ActionSpec, Handler, ServerState
from bullet_trade.server.handlers import admin, broker, data, history, reference
from bullet_trade.server.handlers.events import events_handler
from bullet_trade.server.handlers.halt import HaltService
from bullet_trade.server.handlers.order_params import request_timeout
from bullet_trade.server.handlers.orders import OrderService
from bullet_trade.server.order_guard import OrderRateGuard
from bullet_trade.server.subaccounts import SubAccountBook, bind_parents

if TYPE_CHECKING:
    from bullet_trade.server.reliability import Reliability

# v1 reached adapter methods by name, so clients may use these spellings too.
ALIASES: dict[str, str] = {
    "data.get_history": "data.history",
    "data.get_price": "data.history",
    "data.get_snapshot": "data.snapshot",
    "data.get_current_tick": "data.current_tick",
    "data.get_live_current": "data.live_current",
    "data.get_trade_days": "data.trade_days",
    "data.get_security_info": "data.security_info",
    "data.all_securities": "data.get_all_securities",
    "data.index_stocks": "data.get_index_stocks",
    "data.split_dividend": "data.get_split_dividend",
    "broker.get_account_info": "broker.account",
    "broker.get_positions": "broker.positions",
    "broker.list_orders": "broker.orders",
    "broker.list_trades": "broker.trades",
    "broker.get_order_status": "broker.order_status",
}


def _reference(handler: Handler) -> ActionSpec:
    """A data action served only by providers implementing ``ReferenceData``."""
    return ActionSpec(handler, service="data", capability=ReferenceData)


def build_action_table(
    state: ServerState, reliability: Reliability | None = None
) -> dict[str, ActionSpec]:
    """Build the table for one server.

    The order handlers share one idempotency store and one event-driven order waiter, so the
    table must be built once per server (not per session). With ``reliability`` (what
    ``QmtServer`` passes) placements are journaled and ``broker.events``, ``admin.halt`` and
    ``admin.resume`` are offered; without it (handler unit tests) placements are remembered
    in memory only. The sub-account book (:func:`build_book`) and the per-account order rate
    guard are shared by every session as well.

    Raises:
        SubAccountError: a configured sub-account's parent is not one of the broker's accounts.
    """
    book = build_book(state, reliability)
    guard = OrderRateGuard(state.config.order_rate_limit, state.config.order_rate_burst)
    orders = OrderService(
        state, reliability.placements if reliability is not None else None,
        halts=reliability.halts if reliability is not None else None, book=book, guard=guard,
    )
    queries = broker.BrokerQueries(book)
    table: dict[str, ActionSpec] = {
        "admin.health": ActionSpec(admin.health),
        "admin.print_account": ActionSpec(admin.print_account_handler(book), service="broker"),
        "data.history": ActionSpec(history.history, service="data"),
        "data.snapshot": ActionSpec(data.snapshot, service="data"),
        "data.current_tick": ActionSpec(data.snapshot, service="data"),
        "data.live_current": ActionSpec(data.live_current, service="data"),
        "data.trade_days": ActionSpec(data.trade_days, service="data"),
        "data.security_info": ActionSpec(data.security_info, service="data"),
        "data.subscribe": ActionSpec(data.subscribe, service="data"),
        "data.unsubscribe": ActionSpec(data.unsubscribe),
        "data.get_all_securities": _reference(reference.all_securities),
        "data.get_index_stocks": _reference(reference.index_stocks),
        "data.get_split_dividend": _reference(reference.split_dividend),
        "data.unsubscribe_all": ActionSpec(data.unsubscribe_all),
        "broker.account": ActionSpec(queries.account, service="broker"),
        "broker.positions": ActionSpec(queries.positions, service="broker"),
        "broker.orders": ActionSpec(queries.orders, service="broker"),
        "broker.trades": ActionSpec(queries.trades, service="broker"),
        "broker.order_status": ActionSpec(orders.order_status, service="broker"),
        "broker.place_order": ActionSpec(
            orders.place_order,
            service="broker",
            timeout=request_timeout,
            on_timeout="SUBMIT_UNKNOWN",
        ),
        "broker.cancel_order": ActionSpec(
            orders.cancel_order, service="broker", timeout=request_timeout
        ),
    }
    if reliability is not None:
        table["broker.events"] = ActionSpec(events_handler(reliability.events), service="broker")
        table.update(HaltService(reliability.halts).actions())
    for alias, target in ALIASES.items():
        table[alias] = table[target]
    table["admin.capabilities"] = ActionSpec(admin.capabilities_handler(table))
    return table


def build_book(state: ServerState, reliability: Reliability | None) -> SubAccountBook:
    """The sub-account book of a server: configured sub-accounts with their parents checked
    against the broker's accounts, journaled when ``reliability`` is given, and listening to
    broker order events (only when sub-accounts are configured).

    Raises:
        SubAccountError: a sub-account's parent is not one of the broker's accounts.
    """
    keys = [a.key for a in state.broker.accounts()] if state.broker is not None else []
    subs = bind_parents(state.config.sub_accounts, keys) if state.broker is not None else {}
    journal = reliability.journal if reliability is not None else None
    book = SubAccountBook(subs, lambda: state.clock.now().date(), journal)
    if subs and state.broker is not None:
        state.broker.add_listener(book.on_event)
    if reliability is not None:
        reliability.attach_book(book)
    return book


__all__ = ["ALIASES", "build_action_table", "build_book"]
