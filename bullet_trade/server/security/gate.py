"""Accept-time admission of a new connection, before any frame is read."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bullet_trade.errors import ServerBusy
from bullet_trade.server.dispatch import error_reply
from bullet_trade.server.outbox import encode_message
from bullet_trade.server.security import Security

logger = logging.getLogger("bullet_trade.server.security")


def admit(security: Security, writer: asyncio.StreamWriter, pending: int) -> bool:
    """Decide whether a new connection may proceed to the handshake.

    * A peer outside the allowlist, or banned after failed handshakes, is closed at once
      (no frame, no read) and audited.
    * When ``config.max_pending`` connections are already waiting in their handshake, the
      peer gets ``SERVER_BUSY`` (no ``id``) and is closed.

    Args:
        pending: connections of the server that have not completed their handshake yet.

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
    limit = security.config.max_pending
    if pending >= limit:
        logger.warning("%s refused: %d connections are still in their handshake", peer, limit)
        busy = ServerBusy(f"too many pending connections ({limit}); retry later (服务器繁忙)")
        with contextlib.suppress(Exception):
            writer.write(encode_message(error_reply(None, busy), 4096))
        writer.close()  # flushes the short error frame, then closes
        return False
    security.audit.record("connection", peer=peer, outcome="accepted")
    return True


def _peer(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername or "?")
