"""Small helpers of :mod:`bullet_trade.adapters.qmt.broker`: the one data path, the
"outcome unknown" error of a placement, and account-scoped trader calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bullet_trade.adapters.qmt.trader_thread import TraderThread
from bullet_trade.errors import BackendUnavailable, SubmitUnknown
from bullet_trade.model.records import AccountConfig


def one_data_path(accounts: Sequence[AccountConfig], default: str | None) -> str:
    """The single miniQMT ``userdata_mini`` path every account uses.

    Raises:
        BackendUnavailable: accounts name different paths; one server drives one miniQMT
            terminal (one ``XtQuantTrader``), so the message says how to split them.
    """
    paths: dict[str, list[str]] = {}
    for account in accounts:
        paths.setdefault(account.data_path or default or "", []).append(account.key)
    if len(paths) <= 1:
        return next(iter(paths), None) or default or ""
    listing = "; ".join(f"{path or '(none)'}: {', '.join(keys)}" for path, keys in paths.items())
    raise BackendUnavailable(
        f"--accounts name {len(paths)} different miniQMT data paths ({listing}), but one "
        "server drives exactly one miniQMT terminal. Give every account the same path (or "
        "drop the per-account path and use --data-path), or run one `bullet-trade server` per "
        "miniQMT terminal, each on its own --port"
    )


def submit_unknown(message: str, idem_key: str | None) -> SubmitUnknown:
    """``SubmitUnknown`` for a placement that may have reached the counter."""
    details = {"idempotency_key": idem_key} if idem_key else None
    return SubmitUnknown(
        f"{message}; the order may exist at the counter: look it up (by idempotency key / "
        "remark), never re-send blindly", details=details,
    )


async def ask(thread: TraderThread, acc: Any, fn: Callable[[Any, Any], Any]) -> Any:
    """``fn(trader, account)`` on the trader thread."""
    return await thread.call(lambda t: fn(t, acc), "query")

