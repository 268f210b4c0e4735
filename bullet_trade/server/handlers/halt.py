"""Kill switch: ``admin.halt`` and ``admin.resume``.

``admin.halt {account_key, reason}`` persists the halt in the journal *first* (so no new order
slips in), then cancels every open order of the account. From then on ``broker.place_order``
on that account is refused with ``TRADING_HALTED`` — also after a restart — until
``admin.resume {account_key}``. Cancels stay allowed while halted.

Both act on a whole account, so a token bound to sub-accounts (``sub_accounts``) is refused
with ``FORBIDDEN`` (field ``sub_account_id``) even when it has the ``admin`` scope.
"""

from __future__ import annotations

import logging
from typing import Any

from bullet_trade.errors import Forbidden
from bullet_trade.server.context import ActionSpec, RequestContext
from bullet_trade.server.handlers.accounts import require_broker, resolve_account
from bullet_trade.server.handlers.params import opt_str
from bullet_trade.server.journal.halts import HaltRegistry

log = logging.getLogger("bullet_trade.server.orders")

DEFAULT_REASON = "halted by an operator"


class HaltService:
    """The two kill-switch actions over one :class:`HaltRegistry`."""

    def __init__(self, halts: HaltRegistry) -> None:
        self._halts = halts

    def actions(self) -> dict[str, ActionSpec]:
        """The table rows. ``service`` stays ``None`` on purpose: the dispatcher derives the
        scope from the service first (``broker`` → ``trade``), and the kill switch must need
        ``admin``. A disabled broker still answers ``UNSUPPORTED`` (``require_broker``)."""
        return {
            "admin.halt": ActionSpec(self.halt),
            "admin.resume": ActionSpec(self.resume),
        }

    async def halt(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Halt the account, then cancel its open orders.

        Returns:
            ``{"halted": true, "account_key", "reason", "canceled": [order ids],
            "cancel_failed": [order ids]}``.
        """
        _whole_account_token(ctx)
        account = resolve_account(ctx, payload)
        broker = require_broker(ctx)
        reason = opt_str(payload, "reason") or DEFAULT_REASON
        await self._halts.halt(account, reason)
        log.warning("trading halted / 交易已暂停: account=%s reason=%s", account, reason)
        canceled: list[str] = []
        failed: list[str] = []
        for order in await broker.orders(account):
            if not order.status.is_open:
                continue
            result = await broker.cancel_order(account, order.order_id)
            (canceled if result.accepted else failed).append(order.order_id)
        log.warning("halt: account=%s canceled %d open order(s)", account, len(canceled))
        return {
            "halted": True,
            "account_key": account,
            "reason": reason,
            "canceled": canceled,
            "cancel_failed": failed,
        }

    async def resume(self, ctx: RequestContext, payload: dict[str, Any]) -> dict[str, Any]:
        """Lift the halt. Returns ``{"halted": false, "account_key", "was_halted": bool}``."""
        _whole_account_token(ctx)
        account = resolve_account(ctx, payload)
        was_halted = await self._halts.resume(account)
        log.warning("trading resumed / 交易已恢复: account=%s", account)
        return {"halted": False, "account_key": account, "was_halted": was_halted}


def _whole_account_token(ctx: RequestContext) -> None:
    """Refuse a token bound to sub-accounts: the kill switch acts on the parent account."""
    grant = ctx.grant
    if grant is not None and grant.sub_accounts is not None:
        raise Forbidden(
            f"token {grant.name!r} is bound to sub-accounts and may not halt or resume a "
            "whole account (子账户令牌不能操作整个账户)",
            field="sub_account_id",
        )
