from __future__ import annotations

import pytest

from bullet_trade.client import client_config_from_env


def test_defaults_and_values() -> None:
    cfg = client_config_from_env({"QMT_SERVER_TOKEN": "t"})
    assert (cfg.host, cfg.port, cfg.token, cfg.rpc_timeout) == ("127.0.0.1", 58620, "t", 60.0)
    env = {"QMT_SERVER_TOKEN": "t", "QMT_SERVER_HOST": "10.0.0.2", "QMT_SERVER_PORT": "6000",
           "QMT_SERVER_ACCOUNT_KEY": "main", "QMT_SERVER_SUB_ACCOUNT": "demo",
           "QMT_SERVER_RPC_TIMEOUT": "12.5", "QMT_SERVER_TLS_CERT": "/ca.pem",
           "QMT_SERVER_TLS_FINGERPRINT": "ab:cd:" + "ef" * 30}
    cfg = client_config_from_env(env)
    assert cfg.host == "10.0.0.2" and cfg.port == 6000 and cfg.rpc_timeout == 12.5
    assert cfg.account_key == "main" and cfg.sub_account_id == "demo"
    assert cfg.tls_cert == "/ca.pem" and cfg.tls_fingerprint == "ab:cd:" + "ef" * 30


def test_overrides_win() -> None:
    cfg = client_config_from_env({"QMT_SERVER_TOKEN": "t"}, port=1234, token="u")
    assert cfg.port == 1234 and cfg.token == "u"
    assert client_config_from_env({}, token="x").token == "x"


def test_missing_token_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="QMT_SERVER_TOKEN"):
        client_config_from_env({"QMT_SERVER_HOST": "h"})
    with pytest.raises(ValueError, match="QMT_SERVER_TOKEN"):
        client_config_from_env({"QMT_SERVER_TOKEN": "  "})


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(ValueError, match="QMT_SERVER_PORT"):
        client_config_from_env({"QMT_SERVER_TOKEN": "t", "QMT_SERVER_PORT": "abc"})


def test_tls_fingerprint_must_be_sha256_hex() -> None:
    import pytest as _pytest

    from bullet_trade.config import ClientConfig

    ok = ClientConfig(token="t", tls_fingerprint=":".join(["AB"] * 32))
    assert ok.tls_fingerprint is not None
    for bad in ("abc", "é" * 64, "g" * 64):
        with _pytest.raises(ValueError, match="tls_fingerprint"):
            ClientConfig(token="t", tls_fingerprint=bad)
    assert "secret-token" not in repr(ClientConfig(token="secret-token"))
