"""Admin actions: ``admin.health``, ``admin.print_account``, ``admin.capabilities``
(the kill switch ``admin.halt`` / ``admin.resume`` is in :mod:`.halt`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from bullet_trade.model.records import AccountSnapshot
from bullet_trade.server.context import ActionSpec, Handler, RequestContext, ServerState
from bullet_trade.server.handlers.accounts import require_broker, resolve_route, tag_sub
from bullet_trade.server.handlers.params import opt_int
from bullet_trade.server.subaccounts import views
from bullet_trade.server.subaccounts.book import SubAccountBook
from bullet_trade.wire.envelopes import dict_envelope, text_envelope

MAX_ROWS = 1_000


def configured_accounts(state: ServerState) -> list[str]:
    """Account keys, unique, in configuration order (no duplicate ``default``, W-P13)."""
    keys = [a.key for a in state.broker.accounts()] if state.broker is not None else []
    return list(dict.fromkeys(keys or [a.key for a in state.config.accounts]))


async def health(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Liveness and identity; ``{"dtype":"dict","value":{...}}`` (not flattened). Payload
    ignored; works with any feature set."""
    state = ctx.state
    value = {
        "process_alive": True,
        "uptime_seconds": round(state.uptime_seconds, 4),
        "sessions": state.sessions,
        "accounts": configured_accounts(state),
        "features": state.features(),
        "server_instance": state.server_instance,
        "backend": backend_readiness(state),
    }
    return dict_envelope(value, flatten=False)


def backend_readiness(state: ServerState) -> dict[str, Any]:
    """``{type, ready, data?, broker?}``: adapters that can tell (``readiness()``, e.g. the
    qmt ones: xtdata usable, trader connected, accounts subscribed) report their part;
    ``ready`` is true only when every part is."""
    out: dict[str, Any] = {"type": state.config.server_type}
    parts = {"data": state.data, "broker": state.broker}
    for name, adapter in parts.items():
        report = getattr(adapter, "readiness", None) if adapter is not None else None
        if callable(report):
            out[name] = report()
    out["ready"] = all(bool(out[n].get("ready")) for n in parts if isinstance(out.get(n), dict))
    return out


def print_account_handler(book: SubAccountBook) -> Handler:
    """``admin.print_account`` (sub-account aware: under one it renders the sub-account's
    view of :mod:`bullet_trade.server.subaccounts.views`)."""

    async def print_account(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Text overview of one account (cash, totals, up to ``limit`` positions, default 20).

        Response: ``{"dtype":"text","value":<table>,"account_key":<key>}`` (plus
        ``sub_account_id`` under a sub-account).
        """
        route = resolve_route(ctx, payload)
        limit = opt_int(payload, "limit", minimum=0, maximum=MAX_ROWS)
        snapshot = await require_broker(ctx).account(route.account_key)
        if route.sub is not None:
            today = ctx.state.clock.now().date().isoformat()
            snapshot = views.snapshot(book, route.sub, snapshot, today)
        text = render_account(snapshot, 20 if limit is None else limit)
        if route.sub is not None:
            text = f"[sub-account / 子账户 {route.sub.name}] " + text
        return tag_sub(text_envelope(text, account_key=route.account_key), route)

    return print_account


def render_account(snapshot: AccountSnapshot, limit: int) -> str:
    """The overview as text: a summary line and a bordered positions table."""
    head = (
        f"📊 券商账户概览 / Account overview: {snapshot.account_key} "
        f"(id {snapshot.account_id}, {snapshot.account_type})\n"
        f"总资产 total {snapshot.total_value:,.2f} | 可用 cash {snapshot.available_cash:,.2f} | "
        f"冻结 frozen {snapshot.frozen_cash:,.2f} | 市值 market value {snapshot.market_value:,.2f}"
    )
    rows = [
        [
            p.security.jq,
            p.name or "",
            str(p.amount),
            str(p.closeable_amount),
            f"{p.avg_cost:.3f}",
            f"{p.last_price:.3f}",
            f"{p.market_value:,.2f}",
        ]
        for p in snapshot.positions[:limit]
    ]
    header = ["security", "name", "amount", "closeable", "avg_cost", "last_price", "value"]
    text = f"{head}\n{render_table(header, rows)}"
    hidden = len(snapshot.positions) - len(rows)
    if hidden > 0:
        text += f"\n... {hidden} more position(s) / 另有 {hidden} 个持仓未显示"
    return text


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def render_table(header: list[str], rows: list[list[str]]) -> str:
    """A ``+---+`` bordered table; wide (CJK) characters count as two columns."""
    widths = [max(_width(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        padded = (cell + " " * (w - _width(cell)) for cell, w in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    body = [line(row) for row in rows] or ["| (no positions / 无持仓)"]
    return "\n".join([rule, line(header), rule, *body, rule])


def _unavailable(state: ServerState, spec: ActionSpec) -> str | None:
    """Why an action cannot be served on this server, or ``None``."""
    adapters = {"data": state.data, "broker": state.broker}
    if spec.service in adapters and adapters[spec.service] is None:
        return f"the {spec.service} service is disabled"
    adapter = adapters.get(spec.service or "")
    if spec.capability is not None and not isinstance(adapter, spec.capability):
        return "the backend does not provide this"
    return None


def capabilities_handler(table: Mapping[str, ActionSpec]) -> Handler:
    """``admin.capabilities`` over ``table``: every action (sorted) with ``available`` and a
    ``reason`` when not, plus the extensions granted to this session at handshake."""

    async def capabilities(ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        state = ctx.state
        actions = []
        for name in sorted(table):
            row: dict[str, Any] = {"action": name, "available": True}
            reason = _unavailable(state, table[name])
            if reason is not None:
                row.update(available=False, reason=reason)
            actions.append(row)
        return {"actions": actions, "extensions": sorted(ctx.session.extensions)}

    return capabilities
