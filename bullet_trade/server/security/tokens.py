"""Tokens: the tokens file, constant-time matching, scopes and account binding.

Tokens file (TOML)::

    [tokens.joinquant]
    token = "a-long-random-secret"
    scopes = ["data", "trade"]        # any of data, trade, admin (default: all three)
    accounts = ["main"]               # account keys; omitted or ["*"] means all
    sub_accounts = ["demo"]           # optional: act only as these virtual sub-accounts

Authorisation model (enforced by ``server/dispatch.py``):

* ``data.*`` actions of the data service need scope ``data``; every ``broker.*`` action and
  ``admin.print_account`` (service ``broker``) need ``trade``; other ``admin.*`` actions need
  ``admin``, except the read-only :data:`PUBLIC_ACTIONS` that any valid token may call.
* A token bound to accounts may only use those account keys: the account resolver calls
  :meth:`~bullet_trade.server.context.RequestContext.authorize_account` before touching the
  broker, and the dispatcher re-checks ``ctx.account_key`` afterwards.
* A token with ``sub_accounts`` acts only as those sub-accounts (``server/handlers/
  accounts.py``): a broker request without ``sub_account_id`` uses its only sub-account (or
  is ``FORBIDDEN`` when it has several), the parent account is never reachable directly,
  the kill switch is refused, and its ``events.v1`` stream carries only those sub-accounts'
  order and trade events. Names must be configured sub-accounts
  (:func:`check_sub_account_grants`, at startup).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bullet_trade.config import TOKEN_SCOPES, TokenGrant
from bullet_trade.server.security.tls import SecuritySetupError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: Actions any authenticated token may call, whatever its scopes.
PUBLIC_ACTIONS = frozenset({"admin.health", "admin.capabilities"})
_SERVICE_SCOPE = {"data": "data", "broker": "trade"}
_KEYS = frozenset({"token", "scopes", "accounts", "sub_accounts"})
_SUB_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")


def token_fingerprint(token: str) -> str:
    """A short, non-reversible label of a secret for logs (8 hex digits of its SHA-256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:8]


_READ_ONLY_ADMIN = frozenset({"admin.print_account"})


def required_scope(action: str, service: str | None) -> str | None:
    """The scope an action needs, or ``None`` when any valid token may call it.

    Every ``admin.*`` action needs the ``admin`` scope whatever its service (the kill switch
    uses the broker), except the read-only ones: the public health/capabilities and
    ``admin.print_account``, which reads an account like ``broker.account`` does.
    """
    if action.startswith("admin.") and action not in PUBLIC_ACTIONS | _READ_ONLY_ADMIN:
        return "admin"
    if service in _SERVICE_SCOPE:
        return _SERVICE_SCOPE[service]
    if action in PUBLIC_ACTIONS or not action.startswith("admin."):
        return None  # e.g. data.unsubscribe: only ever touches the caller's own session
    return "admin"


def account_allowed(grant: TokenGrant | None, account_key: str) -> bool:
    """True when ``grant`` (``None``: unrestricted) may use ``account_key``."""
    return grant is None or grant.accounts is None or account_key in grant.accounts


class TokenRegistry:
    """The server's accepted tokens.

    Matching hashes the presented token and compares it with the SHA-256 of *every* known
    token using :func:`hmac.compare_digest`, so the time taken does not depend on which token
    (if any) matched or on how many characters were right.
    """

    def __init__(self, grants: Iterable[TokenGrant]) -> None:
        self._grants = tuple(grants)
        if not self._grants:
            raise SecuritySetupError("no token configured")
        self._digests = tuple(_digest(g.token) for g in self._grants)
        if len(set(self._digests)) != len(self._digests):
            raise SecuritySetupError("two configured tokens have the same secret")

    @property
    def grants(self) -> tuple[TokenGrant, ...]:
        return self._grants

    def authenticate(self, presented: object) -> TokenGrant | None:
        """The grant whose secret equals ``presented`` (a non-string never matches)."""
        if not isinstance(presented, str):
            return None
        digest = _digest(presented)
        found: TokenGrant | None = None
        for grant, expected in zip(self._grants, self._digests, strict=True):
            if hmac.compare_digest(digest, expected):
                found = grant
        return found


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def load_tokens_file(path: Path) -> tuple[TokenGrant, ...]:
    """Read a tokens file (format in the module docstring).

    Raises:
        SecuritySetupError: unreadable file, invalid TOML, unknown keys, bad values or no
            token at all (the message names the token; never its secret).
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SecuritySetupError(f"cannot read tokens file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecuritySetupError(f"tokens file {path} is not valid TOML: {exc}") from None
    table = document.get("tokens")
    if not isinstance(table, dict) or not table:
        raise SecuritySetupError(f"tokens file {path} defines no [tokens.<name>] table")
    return tuple(_grant(path, name, entry) for name, entry in table.items())


def _grant(path: Path, name: str, entry: Any) -> TokenGrant:
    where = f"tokens file {path}, token {name!r}"
    if not isinstance(entry, dict):
        raise SecuritySetupError(f"{where}: expected a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise SecuritySetupError(f"{where}: unknown key(s) {unknown}")
    secret = entry.get("token")
    if not isinstance(secret, str) or len(secret) < 16:
        raise SecuritySetupError(f"{where}: 'token' must be a string of at least 16 characters")
    scopes = _strings(where, entry, "scopes", default=sorted(TOKEN_SCOPES))
    accounts = _strings(where, entry, "accounts", default=["*"])
    subs = _sub_accounts(where, entry)
    try:
        return TokenGrant(
            name=name,
            token=secret,
            scopes=frozenset(scopes),
            accounts=None if "*" in accounts else frozenset(accounts),
            sub_accounts=subs,
        )
    except ValueError as exc:
        raise SecuritySetupError(f"{where}: {exc}") from None


def _sub_accounts(where: str, entry: Mapping[str, Any]) -> frozenset[str] | None:
    """``sub_accounts``: absent → ``None``; else a non-empty list of sub-account names."""
    if "sub_accounts" not in entry:
        return None
    names = _strings(where, entry, "sub_accounts", default=[])
    bad = [n for n in names if not _SUB_NAME.fullmatch(n)]
    if not names or bad:
        raise SecuritySetupError(
            f"{where}: 'sub_accounts' must list sub-account names (1-16 letters, digits, "
            f"'_' or '-'; no '*'), got {bad or names}"
        )
    return frozenset(names)


def check_sub_account_grants(
    grants: Iterable[TokenGrant], sub_accounts: Mapping[str, str]
) -> None:
    """Startup check: every sub-account a token is bound to is configured, and its parent is
    one of the token's accounts.

    Args:
        sub_accounts: configured sub-account name → parent account key as configured
            (``default`` is resolved later; the request-time account check still applies).

    Raises:
        SecuritySetupError: names the token and the sub-account.
    """
    for grant in grants:
        for name in sorted(grant.sub_accounts or ()):
            parent = sub_accounts.get(name)
            if parent is None:
                configured = ", ".join(sorted(sub_accounts)) or "none"
                raise SecuritySetupError(
                    f"token {grant.name!r}: sub-account {name!r} is not configured "
                    f"(--sub-accounts: {configured})"
                )
            if grant.accounts is not None and parent not in grant.accounts | {"default"}:
                raise SecuritySetupError(
                    f"token {grant.name!r}: sub-account {name!r} belongs to account "
                    f"{parent!r}, which the token may not use"
                )


def _strings(where: str, entry: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = entry.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SecuritySetupError(f"{where}: {key!r} must be a list of non-empty strings")
    return value
