"""JSON forms of what the journal records: orders, errors, and the broker-remark tag."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any

from bullet_trade.errors import BulletTradeError, error_from_wire
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus, OrderType, Side
from bullet_trade.model.records import Order

#: Longest remark we hand to the broker (QMT truncates ``order_remark`` beyond this).
MAX_REMARK = 24
_TAG_PREFIX = "bt"
_TAG_HEX = 12
#: Length of :func:`remark_tag` (the remark of a journaled order starts with it).
TAG_LENGTH = len(_TAG_PREFIX) + _TAG_HEX


def remark_tag(account_key: str, idem_key: str) -> str:
    """A 14-character tag derived from ``(account_key, idem_key)``, written into the order
    remark so a reconciler can find the order at the broker after a crash or a timeout."""
    digest = hashlib.sha256(f"{account_key}\0{idem_key}".encode()).hexdigest()
    return _TAG_PREFIX + digest[:_TAG_HEX]


def tagged_remark(tag: str, remark: str, sub: str | None = None) -> str:
    """``tag``, then ``@<sub-account>`` when placed under one, then as much of the user's
    ``remark`` as fits in :data:`MAX_REMARK` (the tag always survives; a long sub-account
    name may be cut — the journal holds the full attribution)."""
    parts = [tag]
    if sub:
        parts.append(f"@{sub}")
    if remark:
        parts.append(remark)
    return " ".join(parts)[:MAX_REMARK]


def legacy_remarks(idem_key: str) -> tuple[str, ...]:
    """Remarks older broker adapters (QMT) sent instead of the server's tagged remark: the
    key itself when it fits in :data:`MAX_REMARK`, else ``bt`` + 20 hex digits of its
    blake2b hash. Empty for an empty key."""
    if not idem_key:
        return ()
    if len(idem_key) <= MAX_REMARK:
        return (idem_key,)
    return (_TAG_PREFIX + hashlib.blake2b(idem_key.encode(), digest_size=10).hexdigest(),)


def order_matches(order: Order, tag: str, idem_key: str) -> bool:
    """Whether ``order`` at the broker is the one submitted for this intent.

    Matches on the idempotency key the adapter reported (when it knows it), on the remark
    starting with ``tag`` (survives a restart of the server and of the adapter), or on a
    legacy adapter remark of the key (:func:`legacy_remarks`, orders placed by older versions).
    """
    if idem_key and order.idempotency_key == idem_key:
        return True
    if tag and order.remark.startswith(tag):
        return True
    return order.remark in legacy_remarks(idem_key)


def order_to_json(order: Order) -> str:
    """All fields of ``order`` as JSON text (lossless for :func:`order_from_json`)."""
    out: dict[str, Any] = {}
    for spec in dataclasses.fields(order):
        value = getattr(order, spec.name)
        if spec.name == "security":
            value = value.jq
        elif isinstance(value, (Side, OrderType, OrderStatus)):
            value = value.value
        elif isinstance(value, datetime):
            value = value.isoformat()
        out[spec.name] = value
    return json.dumps(out, sort_keys=True)


def order_from_json(text: str) -> Order:
    """Inverse of :func:`order_to_json`."""
    data: dict[str, Any] = json.loads(text)
    data["security"] = parse_security(data["security"])
    data["side"] = Side(data["side"])
    data["order_type"] = OrderType(data["order_type"])
    data["status"] = OrderStatus(data["status"])
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    return Order(**data)


def error_to_json(exc: BulletTradeError) -> str:
    return json.dumps({"error": exc.to_wire()}, sort_keys=True)


def error_from_json(text: str) -> BulletTradeError | None:
    """The recorded error of a result, or ``None`` when the result is not an error."""
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return error_from_wire(data["error"])
    return None
