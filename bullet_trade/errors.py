"""The one exception tree of bullet-trade.

Every error that can cross the wire is a :class:`BulletTradeError` carrying a stable ``code``
(see ``shared/spec/extensions.md``), a human ``message`` and optional structured fields. The
server turns an exception into an ``error`` frame with :meth:`BulletTradeError.to_wire`; the
client turns an ``error`` frame back into the same class with :func:`error_from_wire`. Retry
decisions use ``isinstance`` or ``code``, never message text.

::

    BulletTradeError                      code
    ├── AuthFailed                        AUTH_FAILED
    ├── Forbidden                         FORBIDDEN
    ├── ServerBusy                        SERVER_BUSY            (retryable later)
    ├── RateLimited                       RATE_LIMITED           (retry_after seconds)
    ├── BadRequest                        BAD_REQUEST            (field names the input)
    ├── Unsupported                       UNSUPPORTED
    ├── UnknownAccount                    UNKNOWN_ACCOUNT
    ├── BackendUnavailable                BACKEND_UNAVAILABLE    (retryable later)
    ├── RequestTimeout                    REQUEST_TIMEOUT        (idempotent reads only)
    ├── SubmitUnknown                     SUBMIT_UNKNOWN         (query by idempotency key)
    ├── OrderRejected                     ORDER_REJECTED         (reason says why)
    ├── IdempotencyConflict               IDEMPOTENCY_CONFLICT
    ├── TradingHalted                     TRADING_HALTED
    ├── InternalError                     INTERNAL
    └── ConnectionLost                    CONNECTION_LOST        (client side only, never sent)
"""

from __future__ import annotations

from typing import Any, ClassVar


class BulletTradeError(Exception):
    """Base class: a failure with a stable wire code.

    Args:
        message: human readable text (English).
        field: name of the offending input field, when one is to blame.
        reason: machine readable sub-reason (e.g. ``insufficient_cash`` for a rejection).
        retry_after: seconds to wait before retrying (``RATE_LIMITED``).
        details: any further JSON-serialisable fields to put on the wire.
    """

    code: ClassVar[str] = "INTERNAL"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason
        self.retry_after = retry_after
        self.details = dict(details or {})

    def to_wire(self) -> dict[str, Any]:
        """Fields of the ``error`` frame (without ``type`` and ``id``)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.reason is not None:
            out["reason"] = self.reason
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        for key, value in self.details.items():
            out.setdefault(key, value)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class AuthFailed(BulletTradeError):
    code = "AUTH_FAILED"


class Forbidden(BulletTradeError):
    code = "FORBIDDEN"


class ServerBusy(BulletTradeError):
    code = "SERVER_BUSY"
    retryable = True


class RateLimited(BulletTradeError):
    code = "RATE_LIMITED"
    retryable = True


class BadRequest(BulletTradeError):
    code = "BAD_REQUEST"


class Unsupported(BulletTradeError):
    code = "UNSUPPORTED"


class UnknownAccount(BulletTradeError):
    code = "UNKNOWN_ACCOUNT"


class BackendUnavailable(BulletTradeError):
    code = "BACKEND_UNAVAILABLE"
    retryable = True


class RequestTimeout(BulletTradeError):
    code = "REQUEST_TIMEOUT"


class SubmitUnknown(BulletTradeError):
    code = "SUBMIT_UNKNOWN"


class OrderRejected(BulletTradeError):
    code = "ORDER_REJECTED"


class IdempotencyConflict(BulletTradeError):
    code = "IDEMPOTENCY_CONFLICT"


class TradingHalted(BulletTradeError):
    code = "TRADING_HALTED"


class InternalError(BulletTradeError):
    code = "INTERNAL"


class ConnectionLost(BulletTradeError):
    """Client side: the connection dropped before a reply arrived. Never sent on the wire."""

    code = "CONNECTION_LOST"
    retryable = True


ERROR_CLASSES: dict[str, type[BulletTradeError]] = {
    cls.code: cls
    for cls in (
        AuthFailed,
        Forbidden,
        ServerBusy,
        RateLimited,
        BadRequest,
        Unsupported,
        UnknownAccount,
        BackendUnavailable,
        RequestTimeout,
        SubmitUnknown,
        OrderRejected,
        IdempotencyConflict,
        TradingHalted,
        InternalError,
        ConnectionLost,
    )
}

# Codes the published v1 server sends that have a stable equivalent here.
_V1_ALIASES: dict[str, type[BulletTradeError]] = {
    "QMT_UNAVAILABLE": BackendUnavailable,
    "QMT_RECONNECTING": BackendUnavailable,
}

_KNOWN_KEYS = {"type", "id", "code", "message", "field", "reason", "retry_after"}


def error_from_wire(frame: dict[str, Any]) -> BulletTradeError:
    """Build the exception for an ``error`` frame received from a server.

    Unknown codes (e.g. v1's ``REQUEST_FAILED``) become a plain :class:`BulletTradeError`
    whose ``code`` attribute is the received code.
    """
    code = str(frame.get("code") or "INTERNAL")
    message = str(frame.get("message") or code)
    cls = ERROR_CLASSES.get(code) or _V1_ALIASES.get(code)
    retry_after = frame.get("retry_after")
    kwargs: dict[str, Any] = {
        "field": frame.get("field"),
        "reason": frame.get("reason"),
        "retry_after": float(retry_after) if isinstance(retry_after, (int, float)) else None,
        "details": {k: v for k, v in frame.items() if k not in _KNOWN_KEYS},
    }
    if cls is None:
        err = BulletTradeError(message, **kwargs)
        err.code = code  # type: ignore[misc]  # instance override for codes we do not know
        return err
    return cls(message, **kwargs)
