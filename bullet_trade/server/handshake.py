"""Handshake decisions, free of I/O: token check, connection limit, the acknowledgement."""

from __future__ import annotations

import secrets

import bullet_trade
from bullet_trade.config import TokenGrant
from bullet_trade.errors import AuthFailed, BulletTradeError, ServerBusy
from bullet_trade.server.context import ServerState
from bullet_trade.server.security.tokens import TokenRegistry
from bullet_trade.wire.messages import Handshake, HandshakeAck

#: Largest frame accepted before authentication (a stranger cannot make us buffer 32 MiB).
PRE_AUTH_MAX_FRAME = 64 * 1024

#: Protocol extensions this server can grant (see shared/spec/extensions.md).
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        "events.v1",
        "history.columnar.v1",  # bullet_trade.wire.columnar.EXTENSION
    }
)


def new_session_id() -> str:
    """``"s"`` + 12 lowercase hex characters (v1 shape)."""
    return "s" + secrets.token_hex(6)


def check_handshake(
    state: ServerState, handshake: Handshake, tokens: TokenRegistry
) -> TokenGrant | BulletTradeError:
    """The token grant of ``handshake``, or the error refusing it.

    The token is matched in constant time against every configured token
    (:class:`~bullet_trade.server.security.tokens.TokenRegistry`). The caller registers the
    session (``state.sessions += 1``) right after a grant with no ``await`` in between, so the
    limit check and the registration are atomic on the loop.
    """
    grant = tokens.authenticate(handshake.token)
    if grant is None:
        return AuthFailed("token mismatch (token 不匹配)")
    limit = state.config.max_connections
    if state.sessions >= limit:
        return ServerBusy(f"connection limit reached: {limit} sessions (连接数达到上限)")
    return grant


def granted_extensions(requested: tuple[str, ...]) -> tuple[str, ...]:
    """Requested extensions the server supports, in request order, without repeats."""
    out: list[str] = []
    for name in requested:
        if name in SUPPORTED_EXTENSIONS and name not in out:
            out.append(name)
    return tuple(out)


def build_ack(state: ServerState, session_id: str, extensions: tuple[str, ...]) -> HandshakeAck:
    return HandshakeAck(
        session_id=session_id,
        keepalive=state.config.keepalive,
        features=tuple(state.features()),
        extensions=extensions,
        server_instance=state.server_instance,
        server_version=bullet_trade.__version__,
    )
