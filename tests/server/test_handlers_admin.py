"""Admin actions and the action table itself."""

from __future__ import annotations

from typing import Any

import pytest
from handler_fakes import ACCOUNTS, FakeBroker, FakeData, FakeSession, make_ctx, make_state

from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import Position
from bullet_trade.server.context import ServerState
from bullet_trade.server.handlers import ALIASES, build_action_table

V1_ACTIONS = {
    "admin.health",
    "admin.print_account",
    "data.history",
    "data.snapshot",
    "data.current_tick",
    "data.live_current",
    "data.trade_days",
    "data.security_info",
    "data.subscribe",
    "data.unsubscribe",
    "data.unsubscribe_all",
    "data.get_all_securities",
    "data.get_index_stocks",
    "data.get_split_dividend",
    "broker.account",
    "broker.positions",
    "broker.orders",
    "broker.trades",
    "broker.order_status",
    "broker.place_order",
    "broker.cancel_order",
}


async def call(
    state: ServerState, action: str, payload: dict[str, Any], session: FakeSession | None = None
) -> Any:
    return await build_action_table(state)[action].handler(
        make_ctx(state, action, session), payload
    )


def test_table_has_every_v1_action_and_explicit_aliases() -> None:
    table = build_action_table(make_state(data=FakeData(), broker=FakeBroker()))
    assert V1_ACTIONS | {"admin.capabilities"} | set(ALIASES) == set(table)
    for alias, target in ALIASES.items():
        assert table[alias] is table[target]
    assert not any(name.split(".", 1)[1].startswith("_") for name in table)
    services = {name: spec.service for name, spec in table.items()}
    assert services["admin.health"] is None and services["admin.print_account"] == "broker"
    assert services["data.history"] == "data" and services["broker.orders"] == "broker"


async def test_health_value_is_not_flattened() -> None:
    state = make_state(data=FakeData(), broker=FakeBroker())
    out = await call(state, "admin.health", {"anything": 1})
    assert set(out) == {"dtype", "value"} and out["dtype"] == "dict"
    value = out["value"]
    assert value["process_alive"] is True
    assert isinstance(value["uptime_seconds"], float) and value["uptime_seconds"] >= 0
    assert value["sessions"] == 1
    assert value["accounts"] == ["main", "hedge"]  # unique (W-P13)
    assert value["features"] == ["data", "broker"]
    assert value["server_instance"] == "inst-1"
    assert value["backend"] == {"type": "sim", "ready": True}


async def test_health_without_services_lists_configured_accounts() -> None:
    out = await call(make_state(), "admin.health", {})
    assert out["value"]["features"] == [] and out["value"]["accounts"] == [a.key for a in ACCOUNTS]


async def test_print_account_text() -> None:
    broker = FakeBroker()
    broker.position_rows = [
        Position(
            security=parse_security("600000.XSHG"),
            amount=1000,
            closeable_amount=600,
            avg_cost=8.0,
            last_price=8.5,
            name="浦发银行",
        ),
        Position(
            security=parse_security("000001.XSHE"),
            amount=200,
            closeable_amount=200,
            avg_cost=10.0,
            last_price=10.5,
        ),
    ]
    state = make_state(broker=broker)
    out = await call(state, "admin.print_account", {"account_key": "hedge", "sub_account_id": None})
    assert out["dtype"] == "text" and out["account_key"] == "hedge"
    text = out["value"]
    assert "hedge" in text and "222" in text
    assert "101,600.00" in text  # total = 90,000 + 1,000 + 8,500 + 2,100
    assert "600000.XSHG" in text and "浦发银行" in text and "000001.XSHE" in text
    lines = text.splitlines()
    table = [line for line in lines if line.startswith(("|", "+"))]
    widths = {sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line) for line in table}
    assert len(widths) == 1  # aligned, CJK counted double
    limited = await call(state, "admin.print_account", {"limit": 1})
    assert "000001.XSHE" not in limited["value"] and "1 more position" in limited["value"]
    assert limited["account_key"] == "main"


async def test_capabilities() -> None:
    state = make_state(data=None, broker=FakeBroker())
    out = await call(
        state, "admin.capabilities", {}, FakeSession(extensions=frozenset({"events.v1"}))
    )
    rows = {row["action"]: row for row in out["actions"]}
    assert rows["broker.place_order"] == {"action": "broker.place_order", "available": True}
    assert rows["data.history"]["available"] is False and "data" in rows["data.history"]["reason"]
    assert rows["data.unsubscribe"]["available"] is True
    assert rows["admin.capabilities"]["available"] is True
    assert out["extensions"] == ["events.v1"]


@pytest.mark.parametrize("action", sorted(V1_ACTIONS))
def test_every_handler_is_a_coroutine_function(action: str) -> None:
    import inspect

    table = build_action_table(make_state(data=FakeData(), broker=FakeBroker()))
    assert inspect.iscoroutinefunction(table[action].handler)


async def test_capabilities_report_missing_reference_data() -> None:
    state = make_state(data=FakeData(), broker=FakeBroker())  # FakeData has no ReferenceData
    out = await call(state, "admin.capabilities", {})
    rows = {row["action"]: row for row in out["actions"]}
    assert rows["data.history"]["available"] is True
    for action in ("data.get_all_securities", "data.get_index_stocks", "data.get_split_dividend"):
        assert rows[action]["available"] is False
        assert rows[action]["reason"] == "the backend does not provide this"
