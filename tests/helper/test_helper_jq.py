"""Takeover mode (``install_jq_compat``) with a fake JoinQuant context, and the example strategy
run end to end against the loopback server with a fake JoinQuant API."""

from __future__ import annotations

import importlib.util
import types
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from helper_kit import REPO, TOKEN, Served

pytestmark = pytest.mark.e2e

PINGAN = "000001.XSHE"
EXAMPLE = REPO / "helpers" / "jq_remote_strategy_example.py"


class RunParams:
    def __init__(self, kind: str) -> None:
        self.type = kind


class FakeContext:
    """What the helper reads from JoinQuant's context: run_params and a portfolio slot."""

    def __init__(self, kind: str) -> None:
        self.run_params = RunParams(kind)
        self.portfolio = "jq-portfolio"
        self.subportfolios = ["jq-sub"]


def jq_order(security: str, amount: float, style: Any = None) -> str:
    return "jq-original"


def jq_open_orders() -> dict[str, Any]:
    return {}


def _namespace() -> dict[str, Any]:
    return {"order": jq_order, "order_value": jq_order, "get_open_orders": jq_open_orders}


def _install(bt: Any, served: Served, ns: dict[str, Any], context: Any, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = bt.install_jq_compat(
        ns, context=context, host="127.0.0.1", token=TOKEN, port=served.port, retry_interval=0,
        **kw,
    )
    return result


@pytest.mark.parametrize("kind", ["simple_backtest", "full_backtest"])
def test_backtest_leaves_everything_alone(bt: Any, served: Served, kind: str) -> None:
    ns = _namespace()
    context = FakeContext(kind)
    assert _install(bt, served, ns, context) == {"enabled": False, "reason": "backtest", "run_type": kind}
    assert ns == _namespace()
    assert context.portfolio == "jq-portfolio"
    with pytest.raises(RuntimeError, match="configure"):
        bt.get_account()  # nothing was configured
    assert served.order_count() == 0


def test_unknown_run_type_is_disabled(bt: Any, served: Served) -> None:
    result = _install(bt, served, _namespace(), {"run_params": {"type": "live_trade_x"}})
    assert result["enabled"] is False and result["reason"] == "unsupported_run_type"


def test_sim_trade_takes_over_orders_and_portfolio(bt: Any, served: Served) -> None:
    ns = _namespace()
    context = FakeContext("sim_trade")
    result = _install(bt, served, ns, context, default_wait_timeout=0)
    assert result["enabled"] is True
    assert ns["order"] is not jq_order and ns["order_value"] is not jq_order
    assert context.portfolio.available_cash == 1_000_000.0
    assert context.subportfolios[0].total_value == 1_000_000.0
    assert context.portfolio.positions[PINGAN].total_amount == 0  # missing key: empty

    placed = ns["order"](PINGAN, 200)
    assert isinstance(placed, bt.RemoteOrder) and placed.amount == 200
    assert placed.status == "filled" and placed.idempotency_key
    last = bt.get_last_price(PINGAN)
    by_value = ns["order_value"](PINGAN, 20 * last * 100 + 1)  # money in, shares out
    assert by_value.amount == 2000
    assert ns["order_target"](PINGAN, 2200) is None  # already there
    # the cache was invalidated by the orders: the proxy shows the new holding at once
    position = context.portfolio.positions["000001.SZ"]
    assert position.total_amount == 2200 and position.closeable_amount == 0
    assert context.portfolio.positions_value > 0
    assert list(ns["get_orders"]()) and ns["get_open_orders"]() == {}
    with pytest.raises(NotImplementedError):
        ns["order"](PINGAN, 100, side="short")
    with pytest.raises(TypeError):
        ns["order"](PINGAN, 100, bogus=1)
    assert served.order_count() == 2


def test_install_is_idempotent_and_backtest_restores(bt: Any, served: Served) -> None:
    ns = _namespace()
    context = FakeContext("sim_trade")
    _install(bt, served, ns, context)
    first = ns["order"]
    _install(bt, served, ns, context)
    assert ns["order"] is not jq_order and ns["order"] is not first
    assert ns["__bt_jq_compat_state__"]["originals"]["order"] is jq_order
    context.run_params = RunParams("simple_backtest")
    _install(bt, served, ns, context)
    assert ns == _namespace()
    assert context.portfolio == "jq-portfolio"


def test_mirror_calls_the_original_best_effort(bt: Any, served: Served) -> None:
    calls: list[tuple[Any, ...]] = []

    def original(security: str, amount: float, style: Any = None) -> None:
        calls.append((security, amount))
        raise ValueError("JoinQuant refused")  # must not hide the real order

    ns: dict[str, Any] = {"order": original}
    _install(bt, served, ns, FakeContext("sim_trade"), mirror_jq_orders=True, default_wait_timeout=0)
    assert ns["order"](PINGAN, 100).order_id
    assert calls == [(PINGAN, 100)]


# --------------------------------------------------------------------------- example strategy


class FakeLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, message: str, *args: Any) -> None:
        self.lines.append(("info", message % args if args else message))

    def warn(self, message: str, *args: Any) -> None:
        self.lines.append(("warn", message % args if args else message))


def _jqdata(jobs: list[Callable[[Any], None]], log: FakeLog) -> types.ModuleType:
    module = types.ModuleType("jqdata")
    module.g = types.SimpleNamespace()  # type: ignore[attr-defined]
    module.log = log  # type: ignore[attr-defined]
    module.set_benchmark = lambda code: None  # type: ignore[attr-defined]
    module.set_option = lambda name, value: None  # type: ignore[attr-defined]
    module.run_daily = lambda func, time: jobs.append(func)  # type: ignore[attr-defined]
    module.__all__ = ["g", "log", "set_benchmark", "set_option", "run_daily"]  # type: ignore[attr-defined]
    return module


def _load_example(bt: Any, served: Served, monkeypatch: pytest.MonkeyPatch,
                  jobs: list[Callable[[Any], None]], log: FakeLog) -> Any:
    monkeypatch.setitem(__import__("sys").modules, "bullet_trade_jq_remote_helper", bt)
    monkeypatch.setitem(__import__("sys").modules, "jqdata", _jqdata(jobs, log))
    spec = importlib.util.spec_from_file_location("jq_example_under_test", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.BT_HOST, module.BT_PORT, module.BT_TOKEN = "127.0.0.1", served.port, TOKEN
    module.WAIT_SECONDS = 0  # asynchronous: the limit order below the market stays open
    return module


def test_example_strategy_runs_two_days(bt: Any, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[Callable[[Any], None]] = []
    log = FakeLog()
    strategy = _load_example(bt, served, monkeypatch, jobs, log)
    context = FakeContext("sim_trade")
    strategy.process_initialize(context)
    strategy.initialize(context)
    assert len(jobs) == 6
    for job in jobs:
        job(context)
    served.host.run(served.clock.set(datetime(2026, 11, 25, 10, 0)))
    strategy.g.pending_keys.append("lost-key")
    for job in jobs:
        job(context)
    warnings = [text for level, text in log.lines if level == "warn"]
    assert warnings == [], warnings
    text = "\n".join(line for _, line in log.lines)
    assert "cancel" in text and "open order" not in text
    assert "sell closeable 510300.XSHG -> sim-" in text  # day 2 sells day 1's ETF
    assert strategy.g.pending_keys == ["lost-key"]  # unknown key stays pending, never re-sent
    # the open limit order was cancelled; the ETF was bought on both days
    assert any(o.status == "canceled" for o in bt.get_orders().values())


def test_example_strategy_is_inert_in_a_backtest(bt: Any, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[Callable[[Any], None]] = []
    strategy = _load_example(bt, served, monkeypatch, jobs, FakeLog())
    context = FakeContext("simple_backtest")
    strategy.process_initialize(context)
    strategy.initialize(context)
    for job in jobs:
        job(context)
    assert served.order_count() == 0


def test_example_logs_errors_instead_of_crashing(bt: Any, served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[Callable[[Any], None]] = []
    log = FakeLog()
    strategy = _load_example(bt, served, monkeypatch, jobs, log)
    strategy.BT_ACCOUNT_KEY = "nope"
    context = FakeContext("sim_trade")
    strategy.process_initialize(context)
    strategy.initialize(context)
    jobs[0](context)
    assert log.lines and "UNKNOWN_ACCOUNT" in log.lines[-1][1]
