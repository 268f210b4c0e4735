"""Security flags of ``bullet-trade server``: TLS, tokens file, allowlist, limits, audit.

Kept apart from ``server_cmd.py`` so the server command stays small. Precedence as
everywhere in the CLI: flag > environment (``--env-file`` > process > ``./.env``) > default.

| flag | environment | default |
|---|---|---|
| ``--tls-cert`` / ``--tls-key`` | ``QMT_SERVER_TLS_CERT`` / ``QMT_SERVER_TLS_KEY`` | TLS off |
| ``--tokens-file`` | ``QMT_SERVER_TOKENS_FILE`` | none |
| ``--allowlist`` | ``QMT_SERVER_ALLOWLIST`` | everyone |
| ``--max-pending`` | ``QMT_SERVER_MAX_PENDING`` | 32 |
| ``--max-pending-per-ip`` | ``QMT_SERVER_MAX_PENDING_PER_IP`` | 8 |
| ``--auth-fail-limit`` | ``QMT_SERVER_AUTH_FAIL_LIMIT`` | 5 |
| ``--auth-ban-seconds`` | ``QMT_SERVER_AUTH_BAN_SECONDS`` | 300 |
| ``--rate-limit`` | ``QMT_SERVER_RATE_LIMIT`` (requests/s, 0 = off) | 200 |
| ``--rate-burst`` | ``QMT_SERVER_RATE_BURST`` | 1000 |
| ``--audit-log/--no-audit-log`` | ``QMT_SERVER_AUDIT_LOG`` | on |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from bullet_trade.cli.env import ConfigError, get_bool, get_float, get_int, get_str
from bullet_trade.config import ServerConfig
from bullet_trade.server.security.tls import (
    SecuritySetupError,
    certificate_fingerprint,
    server_ssl_context,
)
from bullet_trade.server.security.tokens import load_tokens_file


def _pick(flags: Mapping[str, Any], name: str, env_value: Any) -> Any:
    value = flags.get(name)
    return env_value if value is None else value


def split_allowlist(text: str | None) -> tuple[str, ...]:
    """Items separated by commas, semicolons or blanks (validated later by ServerConfig)."""
    return tuple(item for item in re.split(r"[,;\s]+", text or "") if item)


def security_settings(flags: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """ServerConfig keyword arguments for the security options.

    Raises:
        ConfigError: an unreadable or invalid tokens file, an unusable TLS certificate/key,
            or a malformed number.
    """
    cert = _pick(flags, "tls_cert", get_str(env, "QMT_SERVER_TLS_CERT"))
    key = _pick(flags, "tls_key", get_str(env, "QMT_SERVER_TLS_KEY"))
    tokens_file = _pick(flags, "tokens_file", get_str(env, "QMT_SERVER_TOKENS_FILE"))
    try:
        tokens = load_tokens_file(Path(tokens_file)) if tokens_file else ()
        if cert and key:  # fail before logging and backends start (the server checks again)
            server_ssl_context(Path(cert), Path(key))
    except SecuritySetupError as exc:
        raise ConfigError(str(exc)) from None
    return {
        "tls_cert": Path(cert) if cert else None,
        "tls_key": Path(key) if key else None,
        "tokens": tokens,
        "allowlist": split_allowlist(
            _pick(flags, "allowlist", get_str(env, "QMT_SERVER_ALLOWLIST"))
        ),
        "max_pending": _pick(flags, "max_pending", get_int(env, "QMT_SERVER_MAX_PENDING", 32)),
        "max_pending_per_ip": _pick(
            flags, "max_pending_per_ip", get_int(env, "QMT_SERVER_MAX_PENDING_PER_IP", 8)
        ),
        "auth_fail_limit": _pick(
            flags, "auth_fail_limit", get_int(env, "QMT_SERVER_AUTH_FAIL_LIMIT", 5)
        ),
        "auth_ban_seconds": _pick(
            flags, "auth_ban_seconds", get_float(env, "QMT_SERVER_AUTH_BAN_SECONDS", 300.0)
        ),
        "rate_limit": _pick(flags, "rate_limit", get_float(env, "QMT_SERVER_RATE_LIMIT", 200.0)),
        "rate_burst": _pick(flags, "rate_burst", get_int(env, "QMT_SERVER_RATE_BURST", 1000)),
        "audit_log": _pick(flags, "audit_log", get_bool(env, "QMT_SERVER_AUDIT_LOG", True)),
    }


def banner_lines(config: ServerConfig, loopback: bool) -> list[str]:
    """Rich-markup lines describing TLS, tokens and the allowlist (never a secret)."""
    lines: list[str] = []
    if config.tls_cert is not None:
        fingerprint = certificate_fingerprint(config.tls_cert)
        lines.append(f"TLS on; certificate SHA-256 fingerprint: [bold]{fingerprint}[/bold]")
    elif not loopback:
        lines.append(
            "[bold red]WARNING: listening on a non-loopback address without TLS; "
            "the token and orders travel in plaintext (use --tls-cert/--tls-key).[/bold red]"
        )
    names = ", ".join(grant.name for grant in config.token_grants())
    lines.append(f"tokens: {names}; allowlist: {', '.join(config.allowlist) or 'everyone'}")
    return lines


def security_options(func: Any) -> Any:
    """Decorate a click command with the security flags."""
    options = [
        click.option("--tls-cert", default=None, help="PEM certificate chain (enables TLS)."),
        click.option("--tls-key", default=None, help="PEM private key of --tls-cert."),
        click.option(
            "--tokens-file", default=None, help="TOML file of named tokens with scopes/accounts."
        ),
        click.option("--allowlist", default=None, help="Allowed IPs/CIDRs, comma separated."),
        click.option("--max-pending", type=int, default=None, help="Sockets in handshake (32)."),
        click.option("--max-pending-per-ip", type=int, default=None,
                     help="Sockets in handshake from one address (8)."),
        click.option("--auth-fail-limit", type=int, default=None, help="Failures before a ban."),
        click.option("--auth-ban-seconds", type=float, default=None, help="Ban length (300)."),
        click.option("--rate-limit", type=float, default=None, help="Requests/s per session."),
        click.option("--rate-burst", type=int, default=None, help="Request burst per session."),
        click.option("--audit-log/--no-audit-log", default=None, help="runtime/logs/audit.log"),
    ]
    for option in reversed(options):
        func = option(func)
    return func
