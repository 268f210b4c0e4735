"""``--sub-accounts`` syntax and the check of each sub-account's parent.

Grammar (protocol.md 6.3, parsed strictly)::

    sub_accounts := sub ( ("," | ";") sub )*
    sub          := name [ "@" parent ] [ ":limit=" number ]
    name         := 1..16 of [A-Za-z0-9_-]

* ``parent`` is the key of a configured account; omitted, it is ``default``, which means the
  first configured account unless an account is really called ``default`` (as for requests).
* ``limit`` is the cumulative daily BUY quota in CNY: a positive, finite number.
* Anything else — an empty item, a bad name, an unknown option, an unparsable or
  non-positive limit, a duplicate name, an unknown parent — is a :class:`SubAccountError`
  naming the offending item; the server does not start (v1 ignored such items silently).
"""

from __future__ import annotations

import math
import re

from bullet_trade.config import SubAccountConfig

DEFAULT_PARENT = "default"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")


class SubAccountError(ValueError):
    """A ``--sub-accounts`` item is malformed or names an unknown parent account."""


def parse_sub_accounts(text: str | None) -> tuple[SubAccountConfig, ...]:
    """Parse the ``--sub-accounts`` / ``QMT_SERVER_SUB_ACCOUNTS`` value (blank → none).

    Raises:
        SubAccountError: the message quotes the offending item.
    """
    if text is None or not text.strip():
        return ()
    subs = [_parse_item(raw.strip()) for raw in re.split(r"[,;]", text)]
    names = [sub.name for sub in subs]
    for name in names:
        if names.count(name) > 1:
            raise SubAccountError(f"--sub-accounts: sub-account {name!r} is defined twice")
    return tuple(subs)


def _parse_item(item: str) -> SubAccountConfig:
    if not item:
        raise SubAccountError("--sub-accounts has an empty item (check the separators)")
    head, colon, options = item.partition(":")
    name, at, parent = head.strip().partition("@")
    name, parent = name.strip(), parent.strip()
    if not _NAME.fullmatch(name):
        raise SubAccountError(
            f"--sub-accounts item {item!r}: the name must be 1-16 letters, digits, '_' or '-'"
        )
    if at and not parent:
        raise SubAccountError(f"--sub-accounts item {item!r}: empty parent account after '@'")
    return SubAccountConfig(
        name=name, parent=parent or DEFAULT_PARENT, limit=_limit(item, options) if colon else None
    )


def _limit(item: str, options: str) -> float:
    key, eq, value = options.partition("=")
    if key.strip().lower() != "limit" or not eq:
        raise SubAccountError(
            f"--sub-accounts item {item!r}: expected ':limit=<amount>' after the name"
        )
    try:
        limit = float(value.strip())
    except ValueError:
        raise SubAccountError(
            f"--sub-accounts item {item!r}: limit {value.strip()!r} is not a number"
        ) from None
    if not (math.isfinite(limit) and limit > 0):
        raise SubAccountError(f"--sub-accounts item {item!r}: limit must be a positive amount")
    return limit


def bind_parents(
    subs: tuple[SubAccountConfig, ...], account_keys: list[str]
) -> dict[str, SubAccountConfig]:
    """Sub-accounts by name with each parent resolved to a configured account key.

    Raises:
        SubAccountError: a parent is not configured (names the sub-account and the parent).
    """
    out: dict[str, SubAccountConfig] = {}
    for sub in subs:
        parent = sub.parent
        if parent not in account_keys:
            if parent != DEFAULT_PARENT or not account_keys:
                configured = ", ".join(account_keys) or "none"
                raise SubAccountError(
                    f"sub-account {sub.name!r}: parent account {parent!r} is not configured "
                    f"(configured: {configured})"
                )
            parent = account_keys[0]
        out[sub.name] = SubAccountConfig(name=sub.name, parent=parent, limit=sub.limit)
    return out
