from pathlib import Path

import pytest

from bullet_trade.cli.env import ConfigError, get_bool, get_float, load_environment, parse_accounts
from bullet_trade.cli.server_cmd import build_server_config


def test_accounts_keep_windows_paths() -> None:
    accounts = parse_accounts(r"main=123456:stock:C:\QMT\userdata_mini;b=654321", data_path="D:\\x")
    assert [(a.key, a.account_id, a.account_type, a.data_path) for a in accounts] == [
        ("main", "123456", "stock", r"C:\QMT\userdata_mini"),
        ("b", "654321", "stock", "D:\\x"),
    ]


@pytest.mark.parametrize("text", ["main", "=123", "main=", "a=1,a=2"])
def test_bad_accounts_are_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_accounts(text)


def test_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("A=dotenv\nB=dotenv\nC=dotenv\n")
    extra = tmp_path / "extra.env"
    extra.write_text("C=file\n")
    monkeypatch.setenv("B", "process")
    monkeypatch.setenv("C", "process")
    env = load_environment(extra, cwd=tmp_path)
    assert (env["A"], env["B"], env["C"]) == ("dotenv", "process", "file")


def test_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_environment(tmp_path / "nope.env", cwd=tmp_path)


def test_typed_getters() -> None:
    assert get_float({"TRADE_MAX_WAIT_TIME": "0.5"}, "TRADE_MAX_WAIT_TIME", 16.0) == 0.5
    assert get_bool({"X": "off"}, "X", True) is False
    with pytest.raises(ConfigError):
        get_bool({"X": "maybe"}, "X", True)
    with pytest.raises(ConfigError):
        get_float({"X": "nan"}, "X", 1.0)


def test_server_config_flags_override_env() -> None:
    env = {"QMT_SERVER_PORT": "1234", "QMT_SERVER_TOKEN": "envtok", "TRADE_MAX_WAIT_TIME": "0.6",
           "QMT_SERVER_ACCOUNTS": "main=1"}
    config, generated = build_server_config({"port": 999}, env)
    assert (config.port, config.token, config.trade_max_wait, generated) == (999, "envtok", 0.6, False)
    assert [a.key for a in config.accounts] == ["main"]


def test_token_generated_only_on_loopback() -> None:
    config, generated = build_server_config({"listen": "127.0.0.1"}, {})
    assert generated and len(config.token) == 32
    with pytest.raises(ConfigError):
        build_server_config({"listen": "0.0.0.0"}, {})
