"""What a request handler gets to see: the contract between the session layer
(``server/session.py``, ``server/app.py``) and the action handlers (``server/handlers/``).

A handler is ``async def handler(ctx: RequestContext, payload: dict[str, Any]) -> Any``; it
returns the response payload (already in v1 wire shape) or raises a
:class:`~bullet_trade.errors.BulletTradeError`. Handlers never touch sockets or frames.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bullet_trade.adapters.contracts import Broker, DataProvider
from bullet_trade.config import ServerConfig, TokenGrant
from bullet_trade.errors import Forbidden
from bullet_trade.model.clock import Clock


class SessionHandle(Protocol):
    """The parts of a session a handler may use."""

    @property
    def session_id(self) -> str: ...

    @property
    def peer(self) -> str: ...

    @property
    def account_key(self) -> str | None:
        """Default account from the handshake."""
        ...

    @property
    def sub_account_id(self) -> str | None:
        """Default sub-account from the handshake."""
        ...

    @property
    def extensions(self) -> frozenset[str]:
        """Extensions granted at handshake."""
        ...

    def subscriptions(self) -> frozenset[str]:
        """Symbols this session receives ticks for (as the client spelled them, uppercased)."""
        ...

    async def subscribe(self, symbols: list[str]) -> int:
        """Add symbols; returns the session's count. Raises BadRequest past the limit."""
        ...

    async def unsubscribe(self, symbols: list[str] | None) -> tuple[int, int]:
        """Remove symbols (all when None); returns (count now, removed)."""
        ...


@dataclass(slots=True)
class ServerState:
    """Process-wide services and counters shared by every session."""

    config: ServerConfig
    clock: Clock
    data: DataProvider | None
    broker: Broker | None
    server_instance: str
    started_monotonic: float = field(default_factory=time.monotonic)
    sessions: int = 0
    #: Where access-log lines go; ``None`` means the ``bullet_trade.server.access`` logger.
    #: The CLI passes a cheap buffered file writer (a LogRecord per request costs ~10 µs).
    access_sink: Callable[[str], None] | None = None

    @property
    def uptime_seconds(self) -> float:
        return time.monotonic() - self.started_monotonic

    def features(self) -> list[str]:
        out = []
        if self.data is not None:
            out.append("data")
        if self.broker is not None:
            out.append("broker")
        return out


@dataclass(slots=True)
class RequestContext:
    """One request being handled."""

    state: ServerState
    session: SessionHandle
    request_id: Any
    action: str
    # filled in by handlers for the access log
    account_key: str | None = None
    log_fields: dict[str, Any] = field(default_factory=dict)
    # the token that opened the session (None: unrestricted, e.g. in handler unit tests)
    grant: TokenGrant | None = None

    def authorize_account(self, account_key: str) -> None:
        """Security hook: account resolvers call this *before* touching the broker.

        Raises:
            Forbidden: the session's token is bound to other accounts (field ``account_key``).
        """
        grant = self.grant
        if grant is not None and grant.accounts is not None and account_key not in grant.accounts:
            self.log_fields["denied_account"] = account_key  # for the audit log
            raise Forbidden(
                f"token {grant.name!r} may not use account {account_key!r} (无权使用该账户)",
                field="account_key",
            )


Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One row of the action table.

    Attributes:
        handler: the coroutine function.
        service: ``"data"``, ``"broker"`` or ``None`` (admin); a request for a disabled
            service is answered ``UNSUPPORTED``.
        timeout: optional function computing the per-request timeout from the payload
            (``place_order`` waits longer); ``None`` means the server default.
        capability: an optional protocol (e.g. ``ReferenceData``) the service's adapter must
            implement; ``admin.capabilities`` reports the action unavailable otherwise.
        on_timeout: ``"REQUEST_TIMEOUT"`` or ``"SUBMIT_UNKNOWN"`` (money paths never report
            a plain timeout: the order may exist).
    """

    handler: Handler
    service: str | None = None
    timeout: Callable[[ServerConfig, dict[str, Any]], float] | None = None
    on_timeout: str = "REQUEST_TIMEOUT"
    capability: type | None = None
