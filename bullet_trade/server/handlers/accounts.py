"""Account selection for ``broker.*`` and ``admin.print_account`` (protocol.md 5.4.1, fixed).

Rules, in order:

1. ``key = payload.account_key or session.account_key`` (``null`` and blank mean not given).
2. A non-null ``sub_account_id`` (payload, else session) is refused with ``UNKNOWN_ACCOUNT``:
   sub-accounts are not configured on this server yet.
3. No key → the FIRST configured account (``broker.accounts()[0]``), as v1 did.
4. A configured key → that account.
5. The literal ``"default"`` when no account is named ``default`` → the first account
   (v1 clients send it).
6. Any other key → ``UNKNOWN_ACCOUNT`` naming ``account_key``. Never a silent fallback (W5).
"""

from __future__ import annotations

from typing import Any

from bullet_trade.adapters.contracts import Broker
from bullet_trade.errors import UnknownAccount, Unsupported
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers.params import opt_str

DEFAULT_ALIAS = "default"


def require_broker(ctx: RequestContext) -> Broker:
    """The broker service, or ``UNSUPPORTED`` when it is disabled."""
    broker = ctx.state.broker
    if broker is None:
        raise Unsupported("the broker service is disabled on this server (券商服务未启用)")
    return broker


def resolve_account(ctx: RequestContext, payload: dict[str, Any]) -> str:
    """Resolve the account key of a broker request and record it on ``ctx``.

    Raises:
        Unsupported: the broker service is disabled.
        UnknownAccount: unknown key (field ``account_key``), a sub-account was named (field
            ``sub_account_id``), or no account is configured.
        BadRequest: ``account_key`` / ``sub_account_id`` is not a string.
    """
    broker = require_broker(ctx)
    sub = opt_str(payload, "sub_account_id") or ctx.session.sub_account_id
    if sub:
        raise UnknownAccount(
            f"sub_account_id {sub!r}: sub-accounts are not configured on this server",
            field="sub_account_id",
        )
    keys = [account.key for account in broker.accounts()]
    if not keys:
        raise UnknownAccount("no trading account is configured on this server", field="account_key")
    requested = opt_str(payload, "account_key") or ctx.session.account_key
    resolved = _match(requested, keys)
    ctx.authorize_account(resolved)  # token account binding (FORBIDDEN), before any use
    ctx.account_key = resolved
    return resolved


def _match(requested: str | None, keys: list[str]) -> str:
    if requested is None:
        return keys[0]
    if requested in keys:
        return requested
    if requested == DEFAULT_ALIAS:
        return keys[0]
    raise UnknownAccount(
        f"account_key {requested!r} is not configured (configured: {', '.join(keys)})",
        field="account_key",
    )
