"""Running one request: table lookup, service check, timeout, error mapping, access log.

Dispatch is by explicit table only (``dict[str, ActionSpec]``); a client string is never
used with ``getattr``. Every outcome becomes exactly one server message:

=============================  ==================================================
outcome                        message
=============================  ==================================================
handler returned               ``response`` with the request id
action not in the table        ``UNSUPPORTED`` "unknown action: <action>"
service disabled               ``UNSUPPORTED`` "<service> service is disabled"
token lacks the scope          ``FORBIDDEN`` (see ``server/security/tokens.py``)
account not bound to the token ``FORBIDDEN`` (field ``account_key``)
handler timed out              ``spec.on_timeout`` (``REQUEST_TIMEOUT`` / ``SUBMIT_UNKNOWN``)
``BulletTradeError``           its ``to_wire()`` fields
any other exception            ``INTERNAL`` (traceback in the server log)
=============================  ==================================================
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Any

from bullet_trade.errors import (
    ERROR_CLASSES,
    BulletTradeError,
    Forbidden,
    InternalError,
    RequestTimeout,
    Unsupported,
)
from bullet_trade.server.context import ActionSpec, RequestContext, ServerState
from bullet_trade.server.deadline import Deadline
from bullet_trade.server.security.tokens import account_allowed, required_scope
from bullet_trade.wire.messages import ErrorMessage, Response

logger = logging.getLogger("bullet_trade.server.dispatch")
access_logger = logging.getLogger("bullet_trade.server.access")

_DISABLED = {
    "data": "data service is disabled (数据服务未启用)",
    "broker": "broker service is disabled (券商服务未启用)",
}

Reply = Response | ErrorMessage


def error_reply(request_id: Any, exc: BulletTradeError) -> ErrorMessage:
    """The ``error`` frame for ``exc`` answering ``request_id``."""
    fields = exc.to_wire()
    code = str(fields.pop("code"))
    message = str(fields.pop("message"))
    return ErrorMessage(code=code, message=message, id=request_id, fields=fields)


class Dispatcher:
    """Routes requests through the action table.

    Args:
        state: process-wide services (a disabled service is ``None`` there).
        actions: the action table.
    """

    def __init__(self, state: ServerState, actions: Mapping[str, ActionSpec]) -> None:
        self._state = state
        self._actions = actions

    async def execute(self, ctx: RequestContext, payload: dict[str, Any]) -> tuple[Reply, str]:
        """Run one request; must be awaited from the request's own task (the per-request
        timeout is a :class:`~bullet_trade.server.deadline.Deadline` on that task).

        Returns:
            The reply and the access-log status (``ok``, ``error:<CODE>`` or ``timeout``).
            Never raises except ``CancelledError`` (session closing).
        """
        timeout = self._state.config.request_timeout
        spec = self._actions.get(ctx.action)
        deadline: Deadline | None = None
        try:
            spec = self._check(ctx.action, spec)
            _authorize(ctx, spec)
            timeout = self._timeout(spec, payload)
            deadline = Deadline.arm(timeout)
            try:
                result = await spec.handler(ctx, payload)
            finally:
                deadline.disarm()
            _recheck_account(ctx)
        except asyncio.CancelledError:
            if deadline is None or not deadline.expired:
                raise  # the session is closing
            return error_reply(ctx.request_id, self._timeout_error(spec, timeout)), "timeout"
        except BulletTradeError as exc:
            return error_reply(ctx.request_id, exc), f"error:{exc.code}"
        except Exception:  # the handler boundary: a bug must not end the session
            logger.exception("request %r (%s) failed", ctx.request_id, ctx.action)
            internal = InternalError("internal error; see server log")
            return error_reply(ctx.request_id, internal), "error:INTERNAL"
        return Response(id=ctx.request_id, payload=result), "ok"

    def _check(self, action: str, spec: ActionSpec | None) -> ActionSpec:
        if spec is None:
            raise Unsupported(f"unknown action: {action}", field="action")
        disabled = (spec.service == "data" and self._state.data is None) or (
            spec.service == "broker" and self._state.broker is None
        )
        if disabled:
            raise Unsupported(_DISABLED[str(spec.service)])
        return spec

    def _timeout(self, spec: ActionSpec, payload: dict[str, Any]) -> float:
        default = self._state.config.request_timeout
        if spec.timeout is None:
            return default
        value = spec.timeout(self._state.config, payload)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            logger.warning("action timeout function returned %r; using %s s", value, default)
            return default
        return float(value)

    @staticmethod
    def _timeout_error(spec: ActionSpec | None, timeout: float) -> BulletTradeError:
        code = spec.on_timeout if spec is not None else RequestTimeout.code
        if code == "SUBMIT_UNKNOWN":
            return ERROR_CLASSES[code](
                f"no outcome within {timeout:g} s: the order may or may not have reached the "
                "broker; query it by idempotency_key before sending it again"
            )
        cls = ERROR_CLASSES.get(code, RequestTimeout)
        return cls(
            f"request timed out after {timeout:g} s (请求超时); the server stopped waiting "
            "for the backend"
        )


def _authorize(ctx: RequestContext, spec: ActionSpec) -> None:
    """Scope check before the handler runs.

    Raises:
        Forbidden: the session's token lacks the scope the action needs.
    """
    grant = ctx.grant
    scope = required_scope(ctx.action, spec.service)
    if grant is not None and scope is not None and scope not in grant.scopes:
        raise Forbidden(
            f"token {grant.name!r} lacks scope {scope!r} required by {ctx.action} "
            "(令牌无此权限)",
            field="action",
        )


def _recheck_account(ctx: RequestContext) -> None:
    """Defence in depth: handlers must call ``ctx.authorize_account`` before using the
    broker; if one resolved a forbidden account without doing so, its result is withheld."""
    if ctx.account_key is not None and not account_allowed(ctx.grant, ctx.account_key):
        logger.error("handler of %s skipped authorize_account (bug)", ctx.action)
        ctx.authorize_account(ctx.account_key)


def log_access(
    *,
    peer: str,
    session_id: str,
    ctx: RequestContext,
    status: str,
    duration: float,
) -> None:
    """One INFO line per request (nothing is formatted when INFO is off for the access
    logger). Tokens and payloads are never logged; client-chosen strings (id, action) are
    quoted and clipped so they cannot forge log lines.

    The record goes straight to ``Logger.handle``: same handlers, filters and format as
    ``Logger.info``, without its caller lookup (a stack walk per request).
    """
    sink = ctx.state.access_sink
    if sink is None and not access_logger.isEnabledFor(logging.INFO):
        return
    message = (
        f"{peer} session={session_id} id={_clip(ctx.request_id)} action={_clip(ctx.action)} "
        f"account={ctx.account_key or '-'} status={status} {duration * 1000.0:.1f}ms"
    )
    if sink is not None:
        sink(message)
        return
    record = access_logger.makeRecord(
        access_logger.name, logging.INFO, __file__, 0, message, (), None, "log_access"
    )
    access_logger.handle(record)


def _clip(value: Any, limit: int = 64) -> str:
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
