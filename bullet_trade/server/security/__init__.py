"""Server security: TLS, tokens and scopes, allowlist, auth throttling, rate limits, audit.

:class:`Security` bundles the pieces one server needs, built once from the
:class:`~bullet_trade.config.ServerConfig` (so a bad certificate, tokens set or allowlist stops
the server before it listens). Where each piece is enforced:

======================  ===========================================================
piece                   enforced in
======================  ===========================================================
allowlist, bans         ``server/app.py`` at accept, before any frame is read
pending-socket limit    ``server/app.py`` at accept (``SERVER_BUSY``, then close)
tokens, throttling      ``server/session.py`` handshake (``AUTH_FAILED`` after a delay)
scopes, account binding ``server/dispatch.py`` + ``RequestContext.authorize_account``
rate limit              ``server/session.py`` per request (``RATE_LIMITED``)
audit                   app (connections), session (auth, requests)
======================  ===========================================================
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from bullet_trade.config import ServerConfig
from bullet_trade.server.security.allowlist import Allowlist, parse_peer_ip, peer_key
from bullet_trade.server.security.audit import AuditLog
from bullet_trade.server.security.ratelimit import TokenBucket
from bullet_trade.server.security.throttle import AuthThrottle
from bullet_trade.server.security.tls import (
    SecuritySetupError,
    certificate_fingerprint,
    server_ssl_context,
)
from bullet_trade.server.security.tokens import TokenRegistry, check_sub_account_grants

__all__ = ["Security", "SecuritySetupError"]


@dataclass(slots=True)
class Security:
    """The security services of one server (see the module docstring)."""

    config: ServerConfig
    tokens: TokenRegistry
    allowlist: Allowlist
    throttle: AuthThrottle
    audit: AuditLog
    ssl_context: ssl.SSLContext | None = None
    fingerprint: str | None = None

    @classmethod
    def from_config(cls, config: ServerConfig) -> Security:
        """Build every piece; nothing is listening yet.

        Raises:
            SecuritySetupError: unusable certificate/key, no token, duplicate secrets or an
                invalid allowlist entry.
        """
        context = fingerprint = None
        if config.tls_cert is not None and config.tls_key is not None:
            context = server_ssl_context(config.tls_cert, config.tls_key)
            fingerprint = certificate_fingerprint(config.tls_cert)
        try:
            allowlist = Allowlist(config.allowlist)
        except ValueError as exc:
            raise SecuritySetupError(str(exc)) from None
        throttle = AuthThrottle(
            fail_limit=config.auth_fail_limit,
            ban_seconds=config.auth_ban_seconds,
            delay=config.auth_delay,
            delay_max=config.auth_delay_max,
        )
        tokens = TokenRegistry(config.token_grants())
        check_sub_account_grants(tokens.grants, {s.name: s.parent for s in config.sub_accounts})
        audit_path = config.runtime_dir / "logs" / "audit.log" if config.audit_log else None
        return cls(
            config=config,
            tokens=tokens,
            allowlist=allowlist,
            throttle=throttle,
            audit=AuditLog(audit_path),
            ssl_context=context,
            fingerprint=fingerprint,
        )

    def admission_refusal(self, host: object) -> str | None:
        """Why a new connection from ``host`` must be closed at once, or ``None``."""
        if not self.allowlist.allows(host):
            return "not in allowlist"
        ip = parse_peer_ip(host)
        if ip is not None and self.throttle.banned_for(peer_key(ip)) > 0:
            return "banned after failed handshakes"
        return None

    def rate_limiter(self) -> TokenBucket:
        """A fresh per-session request limiter."""
        return TokenBucket(self.config.rate_limit, self.config.rate_burst)

    def close(self) -> None:
        self.audit.close()
