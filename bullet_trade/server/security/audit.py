"""Append-only audit log: who connected, who failed to authenticate, who traded.

One JSON object per line in ``<runtime_dir>/logs/audit.log`` (rotated at 10 MB, 10 files
kept), opened in append mode. Fields: ``ts`` (local ISO time), ``event`` (``connection``,
``auth``, ``ban``, ``order``, ``cancel``, ``admin``, ``forbidden``), ``peer``, ``outcome`` and,
when known, ``token`` (the token's *name*, never its secret), ``account`` and details.

Security-relevant events (refused peers, failed handshakes, bans, forbidden requests) are
mirrored to the ``bullet_trade.server.security`` logger at WARNING for the console, with
account numbers masked.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import logging.handlers
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bullet_trade.server.context import RequestContext

console_logger = logging.getLogger("bullet_trade.server.security")

_MAX_BYTES = 10_000_000
_BACKUPS = 10
_WARN_OUTCOMES = frozenset({"rejected", "failed", "banned", "forbidden"})


def mask_number(value: str) -> str:
    """Mask an account *number* (all digits, longer than 4) to its last four digits; aliases
    such as ``main`` are left as they are."""
    if value.isdigit() and len(value) > 4:
        return "*" * (len(value) - 4) + value[-4:]
    return value


class AuditLog:
    """Writes audit records; a disabled log (``path is None``) only mirrors to the console.

    Args:
        path: the audit file, or ``None``. Its directory is created.

    The file handler belongs to this object (a standalone logger outside the logging tree),
    so several servers in one process never share or duplicate records.
    """

    def __init__(self, path: Path | None) -> None:
        self._logger = logging.Logger("bullet_trade.audit", logging.INFO)
        self._handler: logging.Handler | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(
                path,
                mode="a",
                maxBytes=_MAX_BYTES,
                backupCount=_BACKUPS,
                encoding="utf-8",
                delay=True,  # opened on the first record
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._logger.addHandler(handler)
            self._handler = handler

    def record(
        self,
        event: str,
        *,
        peer: str,
        outcome: str,
        token: str | None = None,
        account: str | None = None,
        **details: Any,
    ) -> None:
        """Append one record. Never raises (a full disk must not stop trading; the logging
        module reports handler errors on stderr)."""
        entry: dict[str, Any] = {
            "ts": _dt.datetime.now().isoformat(timespec="milliseconds"),
            "event": event,
            "peer": peer,
            "outcome": outcome,
        }
        if token is not None:
            entry["token"] = token
        if account is not None:
            entry["account"] = account
        entry.update({k: _clip(v) for k, v in details.items() if v is not None})
        self._logger.info(json.dumps(entry, ensure_ascii=False, default=str))
        if outcome in _WARN_OUTCOMES:
            self._mirror(entry)

    def close(self) -> None:
        if self._handler is not None:
            self._logger.removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    @staticmethod
    def _mirror(entry: dict[str, Any]) -> None:
        shown = {k: v for k, v in entry.items() if k != "ts"}
        if isinstance(shown.get("account"), str):
            shown["account"] = mask_number(shown["account"])
        # client-chosen text (order ids, codes) is repr()-quoted when it is not plain, so it
        # cannot forge log lines
        console_logger.warning(
            "security: %s", " ".join(f"{k}={_plain(v)}" for k, v in shown.items())
        )


def _plain(value: Any) -> str:
    text = str(value)
    return text if text.isprintable() and " " not in text else repr(text)


def _clip(value: Any, limit: int = 80) -> Any:
    if isinstance(value, (int, float, bool)):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_EVENTS = {"broker.place_order": "order", "broker.cancel_order": "cancel"}
_ORDER_FIELDS = ("security", "side", "amount", "volume", "price", "idempotency_key")
_UNAUDITED_ADMIN = frozenset({"admin.health", "admin.capabilities"})


def audit_request(
    audit: AuditLog, ctx: RequestContext, payload: dict[str, Any], reply: object, status: str
) -> None:
    """Audit one finished request when it is an order, a cancel, an admin action or was
    refused as ``FORBIDDEN``; other requests are left to the access log.

    Args:
        reply: the ``Response``/``ErrorMessage`` sent (its ``order_id`` is recorded).
        status: the dispatcher's status (``ok``, ``error:<CODE>``, ``timeout``).
    """
    action = ctx.action
    event = _EVENTS.get(action)
    if event is None and action.startswith("admin.") and action not in _UNAUDITED_ADMIN:
        event = "admin"
    if event is None and status == "error:FORBIDDEN":
        event = "forbidden"
    if event is None:
        return
    details: dict[str, Any] = {}
    if event == "order":
        style = payload.get("style")
        details = {k: payload.get(k) for k in _ORDER_FIELDS}
        details["style"] = style.get("type") if isinstance(style, dict) else None
    result = getattr(reply, "payload", None)
    order_id = result.get("order_id") if isinstance(result, dict) else None
    audit.record(
        event,
        peer=ctx.session.peer,
        outcome="forbidden" if status == "error:FORBIDDEN" else status,
        token=ctx.grant.name if ctx.grant is not None else None,
        account=ctx.account_key or ctx.log_fields.get("denied_account"),
        action=action,
        session=ctx.session.session_id,
        order_id=order_id or payload.get("order_id"),
        **details,
    )
