"""``--sub-accounts`` parsing and parent checks (strict: every bad item names itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
from handler_fakes import T0, FakeBroker

from bullet_trade.cli.server_cmd import build_server_config
from bullet_trade.config import ServerConfig, SubAccountConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer
from bullet_trade.server.subaccounts import SubAccountError, bind_parents, parse_sub_accounts


def test_parses_names_parents_and_limits() -> None:
    subs = parse_sub_accounts(" demo@main:limit=1000000 ; test@hedge,solo ")
    assert subs == (
        SubAccountConfig(name="demo", parent="main", limit=1_000_000.0),
        SubAccountConfig(name="test", parent="hedge"),
        SubAccountConfig(name="solo", parent="default"),
    )
    assert parse_sub_accounts("") == () and parse_sub_accounts(None) == ()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("demo@main,,x", "empty item"),
        ("de mo@main", "'de mo@main'"),
        ("demo@", "empty parent"),
        ("demo@main:limit=abc", "'abc' is not a number"),
        ("demo@main:limit=-5", "positive"),
        ("demo@main:limit=nan", "positive"),
        ("demo@main:cap=5", "':limit=<amount>'"),
        ("demo@main:limit", "':limit=<amount>'"),
        ("demo@main,demo@hedge", "defined twice"),
        ("a" * 17, "1-16"),
    ],
)
def test_bad_items_are_startup_errors_naming_the_item(text: str, fragment: str) -> None:
    with pytest.raises(SubAccountError) as info:
        parse_sub_accounts(text)
    assert fragment in str(info.value)


def test_parents_resolve_default_and_refuse_unknown() -> None:
    subs = parse_sub_accounts("demo,test@hedge")
    bound = bind_parents(subs, ["main", "hedge"])
    assert bound["demo"].parent == "main" and bound["test"].parent == "hedge"
    with pytest.raises(SubAccountError, match=r"'ghost'.*not configured"):
        bind_parents(parse_sub_accounts("x@ghost"), ["main"])


def test_server_config_refuses_unknown_parent_and_bad_rate() -> None:
    accounts = (AccountConfig(key="main", account_id="1"),)
    subs = (SubAccountConfig(name="demo", parent="nope"),)
    with pytest.raises(ValueError, match=r"'demo'.*'nope'"):
        ServerConfig(token="t", accounts=accounts, sub_accounts=subs)
    with pytest.raises(ValueError, match="order_rate_limit"):
        ServerConfig(token="t", order_rate_limit=-1)
    with pytest.raises(ValueError, match="duplicate sub-account"):
        ServerConfig(token="t", sub_accounts=(SubAccountConfig(name="a", parent="m"),) * 2)


def test_cli_reads_flags_and_environment() -> None:
    env = {"QMT_SERVER_TOKEN": "t", "QMT_SERVER_ACCOUNTS": "main=1,hedge=2",
           "QMT_SERVER_SUB_ACCOUNTS": "demo@main:limit=5", "QMT_SERVER_ORDER_RATE_LIMIT": "5"}
    config, _ = build_server_config({}, env)
    assert config.sub_accounts == (SubAccountConfig(name="demo", parent="main", limit=5.0),)
    assert (config.order_rate_limit, config.order_rate_burst) == (5.0, 40)
    config, _ = build_server_config({"sub_accounts": "x@hedge", "order_rate_burst": 3}, env)
    assert config.sub_accounts[0].parent == "hedge" and config.order_rate_burst == 3
    with pytest.raises(ValueError, match=r"'x@ghost'|'ghost'"):
        build_server_config({"sub_accounts": "x@ghost"}, env)
    with pytest.raises(SubAccountError, match="'y:limit=lots'"):
        build_server_config({"sub_accounts": "y:limit=lots"}, env)


def test_server_refuses_a_parent_the_broker_does_not_have(tmp_path: Path) -> None:
    # no --accounts: the broker's own accounts (main, hedge) are the only known parents
    config = ServerConfig(token="t", sub_accounts=parse_sub_accounts("demo@ghost"),
                          runtime_dir=tmp_path)
    with pytest.raises(SubAccountError, match=r"'demo'.*'ghost'"):
        QmtServer(config, data=None, broker=FakeBroker(), clock=ManualClock(T0))
