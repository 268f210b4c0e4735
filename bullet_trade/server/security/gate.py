"""Accept-time admission of a new connection, before any frame is read."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bullet_trade.errors import ServerBusy
from bullet_trade.server.dispatch import error_reply
from bullet_trade.server.outbox import encode_message
from bullet_trade.server.security import Security
from bullet_trade.server.security.allowlist import parse_peer_ip, peer_key

logger = logging.getLogger("bullet_trade.server.security")


def admit(security: Security, writer: asyncio.StreamWriter, pending: list[str | None]) -> bool:
    """Decide whether a new connection may proceed to the handshake.

    * A peer outside the allowlist, or banned after failed handshakes, is closed at once
      (no frame, no read) and audited.
    * When ``config.max_pending`` connections are already waiting in their handshake, or
      ``config.max_pending_per_ip`` of them come from this peer's address, the peer gets
      ``SERVER_BUSY`` (no ``id``) and is closed.

    Args:
        pending: addresses of the connections that have not completed their handshake yet.

    Returns:
        True when the connection may proceed (then audited as ``accepted``).
    """
    peername = writer.get_extra_info("peername")
    host = peername[0] if isinstance(peername, tuple) else None
    peer = _peer(peername)
    refusal = security.admission_refusal(host)
    if refusal is not None:
        security.audit.record("connection", peer=peer, outcome="rejected", reason=refusal)
        writer.transport.abort()
        return False
    ip = parse_peer_ip(host)
    busy = _pending_refusal(security, peer_key(ip) if ip is not None else None, pending)
    if busy is not None:
        logger.warning("%s refused: %s", peer, busy.message)
        with contextlib.suppress(Exception):
            writer.write(encode_message(error_reply(None, busy), 4096))
        writer.close()  # flushes the short error frame, then closes
        return False
    security.audit.record("connection", peer=peer, outcome="accepted")
    return True


def _pending_refusal(
    security: Security, host: str | None, pending: list[str | None]
) -> ServerBusy | None:
    config = security.config
    if len(pending) >= config.max_pending:
        return ServerBusy(
            f"too many pending connections ({config.max_pending}); retry later (服务器繁忙)"
        )
    if host is not None and pending.count(host) >= config.max_pending_per_ip:
        return ServerBusy(
            f"too many pending connections from {host} ({config.max_pending_per_ip}); "
            "retry later (服务器繁忙)"
        )
    return None


def _peer(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "?")
