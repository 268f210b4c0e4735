"""Account and sub-account selection for ``broker.*``, ``admin.print_account`` and the kill
switch (protocol.md 5.4.1, without its defects W5, W-O9, W-O10).

Inputs: ``account_key`` and ``sub_account_id`` of the request (``null`` and blank mean "not
given"), else the values the session sent in its handshake.

1. No account is configured → ``UNKNOWN_ACCOUNT``.
2. Account: the requested key (request, else handshake); none → the FIRST configured
   account; ``"default"`` (when no account is really called so) → the first account; any
   other unknown key → ``UNKNOWN_ACCOUNT`` (field ``account_key``). Never a silent fallback.
3. Sub-account (request, else handshake), written ``name`` or ``name@parent``:
   * not configured, or ``@parent`` is not its parent → ``UNKNOWN_ACCOUNT`` (field
     ``sub_account_id``); never routed anywhere silently;
   * its parent is the account. A request or handshake that also names a *different*
     account is ``UNKNOWN_ACCOUNT`` (field ``sub_account_id``) — with one exception: a
     request that explicitly names another ``account_key`` while the sub-account only came
     from the handshake is a plain request on that account (the handshake's sub-account
     belongs to another account, so it does not apply). Naming the parent itself keeps the
     sub-account: a sub-account session cannot step around its quota through its parent.
4. A token bound to sub-accounts (``sub_accounts`` in the tokens file) acts only as one of
   them, never on a parent directly: no sub-account given → its only sub-account when it
   has exactly one, else ``FORBIDDEN`` (field ``sub_account_id``); a sub-account outside
   the token → ``FORBIDDEN`` (field ``sub_account_id``); an account that is not that
   sub-account's parent → ``FORBIDDEN`` (field ``account_key``).
5. The token's account binding is checked on the resolved account (``FORBIDDEN``) before
   anything touches the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from bullet_trade.adapters.contracts import Broker
from bullet_trade.config import SubAccountConfig
from bullet_trade.errors import Forbidden, UnknownAccount, Unsupported
from bullet_trade.server.context import RequestContext
from bullet_trade.server.handlers.params import opt_str
from bullet_trade.server.subaccounts.spec import bind_parents

DEFAULT_ALIAS = "default"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: an account, and the sub-account it acts for (if any)."""

    account_key: str
    sub: SubAccountConfig | None = None

    @property
    def sub_name(self) -> str | None:
        return self.sub.name if self.sub is not None else None


def require_broker(ctx: RequestContext) -> Broker:
    """The broker service, or ``UNSUPPORTED`` when it is disabled."""
    broker = ctx.state.broker
    if broker is None:
        raise Unsupported("the broker service is disabled on this server (券商服务未启用)")
    return broker


def resolve_account(ctx: RequestContext, payload: dict[str, Any]) -> str:
    """The account key of a request (see :func:`resolve_route`); for actions that act on a
    whole account (``admin.halt`` / ``admin.resume``)."""
    return resolve_route(ctx, payload).account_key


def resolve_route(ctx: RequestContext, payload: dict[str, Any]) -> Route:
    """Resolve account and sub-account of a broker request and record them on ``ctx``.

    Raises:
        Unsupported: the broker service is disabled.
        UnknownAccount: unknown account (field ``account_key``) or sub-account, or a
            sub-account of another account (field ``sub_account_id``); no account configured.
        Forbidden: the token may not use the resolved account, or is bound to sub-accounts
            and the request does not act as one of them.
        BadRequest: ``account_key`` / ``sub_account_id`` is not a string.
    """
    broker = require_broker(ctx)
    keys = [account.key for account in broker.accounts()]
    if not keys:
        raise UnknownAccount("no trading account is configured on this server", field="account_key")
    explicit_key = opt_str(payload, "account_key")
    explicit_sub = opt_str(payload, "sub_account_id")
    requested = explicit_key or ctx.session.account_key
    account = _match(requested, keys)
    sub_text = explicit_sub or ctx.session.sub_account_id
    sub = _find_sub(sub_text, ctx, keys) if sub_text else None
    if sub is not None and requested is not None and account != sub.parent:
        if explicit_sub is None and explicit_key is not None:
            sub = None  # the handshake's sub-account belongs to another account
        else:
            raise UnknownAccount(
                f"sub-account {sub.name!r} belongs to account {sub.parent!r}, not {account!r}",
                field="sub_account_id",
            )
    sub = _token_sub(ctx, sub, keys, account if requested is not None else None)
    route = Route(sub.parent if sub is not None else account, sub)
    ctx.authorize_account(route.account_key)  # token account binding (FORBIDDEN), before use
    ctx.account_key = route.account_key
    if sub is not None:
        ctx.log_fields["sub_account_id"] = sub.name
    return route


def _token_sub(
    ctx: RequestContext, sub: SubAccountConfig | None, keys: list[str], account: str | None
) -> SubAccountConfig | None:
    """Apply the token's sub-account binding (rule 4 of the module docstring).

    Args:
        sub: the sub-account the request resolved to, if any.
        account: the account the request (or handshake) named, ``None`` when it named none.
    """
    grant = ctx.grant
    allowed = grant.sub_accounts if grant is not None else None
    if grant is None or allowed is None:
        return sub
    names = ", ".join(sorted(allowed))
    if sub is None:
        if len(allowed) != 1:
            raise Forbidden(
                f"token {grant.name!r} may only act as a sub-account ({names}); give "
                "sub_account_id (该令牌只能以子账户身份操作)",
                field="sub_account_id",
            )
        sub = _find_sub(next(iter(allowed)), ctx, keys)
    if sub.name not in allowed:
        ctx.log_fields["denied_sub_account"] = sub.name
        raise Forbidden(
            f"token {grant.name!r} may not act as sub-account {sub.name!r} (allowed: {names}) "
            "(无权使用该子账户)",
            field="sub_account_id",
        )
    if account is not None and account != sub.parent:
        raise Forbidden(
            f"token {grant.name!r} acts as sub-account {sub.name!r} of {sub.parent!r}; it may "
            f"not use account {account!r} (无权使用该账户)",
            field="account_key",
        )
    return sub


def find_sub(ctx: RequestContext, text: str) -> SubAccountConfig:
    """The configured sub-account ``text`` names (``name`` or ``name@parent``).

    Raises:
        UnknownAccount: not configured, or not a sub-account of ``parent`` (field
            ``sub_account_id``).
    """
    broker = require_broker(ctx)
    return _find_sub(text, ctx, [account.key for account in broker.accounts()])


def _find_sub(text: str, ctx: RequestContext, keys: list[str]) -> SubAccountConfig:
    """The configured sub-account ``text`` names (``name`` or ``name@parent``)."""
    name, at, parent = text.partition("@")
    subs = bind_parents(ctx.state.config.sub_accounts, keys)
    sub = subs.get(name.strip())
    if sub is None:
        configured = ", ".join(subs) or "none"
        raise UnknownAccount(
            f"sub_account_id {text!r} is not configured on this server (configured: "
            f"{configured})",
            field="sub_account_id",
        )
    if at and _match_or_none(parent.strip(), keys) != sub.parent:
        raise UnknownAccount(
            f"sub_account_id {text!r}: sub-account {sub.name!r} belongs to account "
            f"{sub.parent!r}",
            field="sub_account_id",
        )
    return sub


def _match_or_none(requested: str, keys: list[str]) -> str | None:
    try:
        return _match(requested, keys)
    except UnknownAccount:
        return None


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


def tag_sub(result: T, route: Route) -> T:
    """v1 tagging: add ``sub_account_id`` to a dict result, or to every dict row of a list
    (an existing value is kept). Results outside a sub-account are returned unchanged."""
    if route.sub is None:
        return result
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        if isinstance(row, dict):
            row.setdefault("sub_account_id", route.sub.name)
    return result
