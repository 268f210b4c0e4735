"""Build a :class:`~bullet_trade.config.ClientConfig` from ``QMT_SERVER_*`` variables.

Used by the sync facades when no config is given (scripts, notebooks). It takes any mapping,
so callers and tests pass ``os.environ`` or a plain dict.

| variable | field | default |
|---|---|---|
| ``QMT_SERVER_HOST`` | host | ``127.0.0.1`` |
| ``QMT_SERVER_PORT`` | port | ``58620`` |
| ``QMT_SERVER_TOKEN`` | token | required |
| ``QMT_SERVER_ACCOUNT_KEY`` | account_key | none |
| ``QMT_SERVER_SUB_ACCOUNT`` | sub_account_id | none |
| ``QMT_SERVER_RPC_TIMEOUT`` | rpc_timeout | ``60`` |
| ``QMT_SERVER_TLS_CERT`` | tls_cert | none (TLS off) |
| ``QMT_SERVER_TLS_FINGERPRINT`` | tls_fingerprint | none |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bullet_trade.config import DEFAULT_PORT, ClientConfig

_TEXT = {
    "host": "QMT_SERVER_HOST",
    "token": "QMT_SERVER_TOKEN",
    "account_key": "QMT_SERVER_ACCOUNT_KEY",
    "sub_account_id": "QMT_SERVER_SUB_ACCOUNT",
    "tls_cert": "QMT_SERVER_TLS_CERT",
    "tls_fingerprint": "QMT_SERVER_TLS_FINGERPRINT",
}


def _number(env: Mapping[str, str], name: str, kind: type[float] | type[int]) -> Any:
    text = (env.get(name) or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


def client_config_from_env(env: Mapping[str, str], **overrides: Any) -> ClientConfig:
    """Read ``QMT_SERVER_*`` from ``env``; ``overrides`` (ClientConfig field names) win.

    Raises:
        ValueError: ``QMT_SERVER_TOKEN`` missing (and no ``token`` override), a number that
            does not parse, or any invalid ClientConfig value.
    """
    values: dict[str, Any] = {"host": "127.0.0.1", "port": DEFAULT_PORT}
    for field, name in _TEXT.items():
        text = (env.get(name) or "").strip()
        if text:
            values[field] = text
    port = _number(env, "QMT_SERVER_PORT", int)
    if port is not None:
        values["port"] = port
    rpc_timeout = _number(env, "QMT_SERVER_RPC_TIMEOUT", float)
    if rpc_timeout is not None:
        values["rpc_timeout"] = rpc_timeout
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values.get("token"):
        raise ValueError(
            "QMT_SERVER_TOKEN is not set: export the server token (or pass token=...) "
            "to connect to bullet-trade server"
        )
    return ClientConfig(**values)
