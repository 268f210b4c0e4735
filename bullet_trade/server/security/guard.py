"""Per-connection security state: the token grant, auth throttling and the request rate."""

from __future__ import annotations

import asyncio
from typing import Any

from bullet_trade.config import TokenGrant
from bullet_trade.errors import RateLimited
from bullet_trade.server.security import Security
from bullet_trade.server.security.allowlist import parse_peer_ip, peer_key


class SessionGuard:
    """Security decisions of one connection (``server/session.py`` owns one).

    Args:
        security: the server's security services.
        peername: ``writer.get_extra_info("peername")``.
        peer: the printable peer (``host:port``) used in logs.
    """

    def __init__(self, security: Security, peername: Any, peer: str) -> None:
        ip = parse_peer_ip(peername[0] if isinstance(peername, tuple) else None)
        self._security = security
        self._ip = peer_key(ip) if ip is not None else peer
        self._peer = peer
        self._bucket = security.rate_limiter()
        self.grant: TokenGrant | None = None

    @property
    def tokens(self) -> Any:
        return self._security.tokens

    @property
    def token_name(self) -> str:
        return self.grant.name if self.grant is not None else "-"

    async def auth_failed(self) -> None:
        """Count a failed handshake of this IP, audit it (and a resulting ban), then wait the
        throttling delay; the caller answers ``AUTH_FAILED`` afterwards."""
        delay, banned = self._security.throttle.record_failure(self._ip)
        audit = self._security.audit
        audit.record("auth", peer=self._peer, outcome="failed", reason="token mismatch")
        if banned:
            seconds = self._security.config.auth_ban_seconds
            audit.record("ban", peer=self._ip, outcome="banned", seconds=seconds)
        if delay > 0:
            await asyncio.sleep(delay)

    def authenticated(self, grant: TokenGrant, session_id: str) -> None:
        """Remember the grant, clear the IP's failures and audit the login."""
        self.grant = grant
        self._security.throttle.record_success(self._ip)
        self._security.audit.record(
            "auth", peer=self._peer, outcome="ok", token=grant.name, session=session_id
        )

    def rate_limited(self) -> RateLimited | None:
        """Take one request from the session's budget; the error to send when it is empty."""
        retry_after = self._bucket.acquire()
        if retry_after is None:
            return None
        return RateLimited(
            f"too many requests; retry after {retry_after:.3f} s (请求过于频繁)",
            retry_after=round(retry_after, 3),
        )
