"""Local pre-trade risk control: off by default, each limit refuses with a clear reason."""

from datetime import datetime

import pytest

from bullet_trade.cli.env import ConfigError
from bullet_trade.cli.live_cmd import risk_limits
from bullet_trade.live.config import LiveConfig
from bullet_trade.live.planner import (
    Holding,
    IntentKind,
    OrderIntent,
    Planned,
    Refused,
    plan_order,
)
from bullet_trade.live.risk import RiskCheck, RiskLimits
from bullet_trade.model import rules
from bullet_trade.model.codes import parse_security
from bullet_trade.model.enums import OrderStatus

PINGAN = parse_security("000001.XSHE")


def quote(last: float = 10.0):
    from bullet_trade.model.records import Quote

    low, high = rules.price_limits(PINGAN, last)
    return Quote(security=PINGAN, last_price=last, dt=datetime(2025, 4, 29, 10), high_limit=high,
                 low_limit=low, pre_close=last, day_open=last, high=last, low=last)


def plan(amount: int, limits: RiskLimits, *, held: int = 0, orders_today: int = 0,
         total: float = 100_000.0):
    intent = OrderIntent(PINGAN, IntentKind.AMOUNT, float(amount))
    check = RiskCheck(limits, orders_today=orders_today, total_value=total)
    return plan_order(intent, quote(), Holding(total=held, closeable=held), risk=check)


def test_risk_is_off_by_default() -> None:
    assert not LiveConfig().risk.enabled
    big = plan(5_000, RiskLimits(), orders_today=10_000)
    assert isinstance(big, Planned) and big.command.amount == 5_000


def test_max_order_value_uses_the_order_price_on_both_sides() -> None:
    limits = RiskLimits(max_order_value=10_000.0)
    assert isinstance(plan(900, limits), Planned)  # 900 x 10.15 (protective price)
    refused = plan(1_000, limits)  # 1000 x 10.15 = 10150
    assert isinstance(refused, Refused) and refused.amount == 1_000
    assert refused.reason.startswith("risk control: order value 10,150.00 exceeds")
    assert "RISK_MAX_ORDER_VALUE" in refused.reason
    sell = plan(-1_100, limits, held=2_000)
    assert isinstance(sell, Refused) and "order value" in sell.reason


def test_max_daily_orders() -> None:
    limits = RiskLimits(max_daily_orders=3)
    assert isinstance(plan(100, limits, orders_today=2), Planned)
    refused = plan(100, limits, orders_today=3)
    assert isinstance(refused, Refused) and "daily maximum is 3" in refused.reason


def test_max_position_ratio_measures_the_resulting_position() -> None:
    limits = RiskLimits(max_position_ratio=0.2)
    # held 1000 x 10.0 + new 900 x 10.15 = 19135 of 100000: allowed
    assert isinstance(plan(900, limits, held=1_000), Planned)
    refused = plan(1_000, limits, held=1_000)  # 20150 = 20.2 %
    assert isinstance(refused, Refused) and "would be 20.2%" in refused.reason
    assert isinstance(plan(-500, limits, held=5_000), Planned)  # sells reduce risk
    unknown = plan(100, limits, total=0.0)
    assert isinstance(unknown, Refused) and "total value is unknown" in unknown.reason


@pytest.mark.parametrize("kwargs", [
    {"max_order_value": 0.0}, {"max_daily_orders": -1}, {"max_position_ratio": 1.5},
    {"max_order_value": float("nan")},
])
def test_invalid_limits_are_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        RiskLimits(**kwargs)


def test_limits_from_the_environment() -> None:
    assert risk_limits({}) == RiskLimits()
    env = {"RISK_MAX_ORDER_VALUE": "50000", "RISK_MAX_DAILY_ORDERS": "20",
           "RISK_MAX_POSITION_RATIO": "0.3"}
    assert risk_limits(env) == RiskLimits(max_order_value=50_000.0, max_daily_orders=20,
                                          max_position_ratio=0.3)
    for bad in ({"RISK_MAX_DAILY_ORDERS": "many"}, {"RISK_MAX_POSITION_RATIO": "30"}):
        with pytest.raises(ConfigError):
            risk_limits(bad)


async def test_runner_refuses_and_reports_orders_over_the_limit(env, write_strategy) -> None:
    path = write_strategy("""
        def initialize(context):
            run_daily(trade, '10:00')
        def trade(context):
            for _ in range(3):
                order('000001.XSHE', 100)
            order_value('510300.XSHG', 60000)            # over the order value
            order_target_percent('518880.XSHG', 0.45)    # position over 40 %
            order_target_percent('518880.XSHG', 0.3)     # fine: the 4th order sent
            order('510300.XSHG', 100)                    # over the daily count
    """)
    limits = RiskLimits(max_daily_orders=4, max_order_value=50_000.0, max_position_ratio=0.4)
    result = await env.run(path, max_days=1, config=LiveConfig(risk=limits))
    sent = [c.security.jq for c in env.broker.placed]
    assert sent == ["000001.XSHE"] * 3 + ["518880.XSHG"]
    refused = [(o.security, o.reason) for o in result.orders if o.status is OrderStatus.REJECTED]
    assert [code for code, _ in refused] == ["510300.XSHG", "518880.XSHG", "510300.XSHG"]
    reasons = [reason or "" for _, reason in refused]
    assert all(r.startswith("risk control:") for r in reasons)
    assert ["RISK_MAX_ORDER_VALUE" in reasons[0], "RISK_MAX_POSITION_RATIO" in reasons[1],
            "RISK_MAX_DAILY_ORDERS" in reasons[2]] == [True, True, True]
