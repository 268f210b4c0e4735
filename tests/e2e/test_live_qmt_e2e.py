"""``bullet-trade live --broker qmt``: the in-process miniQMT adapters, end to end on the fake
xtquant (``BT_FAKE_XTQUANT=1``) driven by the simulator on a stepped replay clock.

The fake counter runs the same simulator as ``--broker sim``, so the example strategies must
trade exactly as they do there: each run is compared with an in-process simulator run from the
same moment (whose trades ``test_strategies_e2e`` pins down).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_strategies_e2e import START, STRATEGIES, run_on_sim, trades_of

from bullet_trade.cli.env import ConfigError
from bullet_trade.cli.live_cmd import LiveOptions, run_strategy
from bullet_trade.errors import BackendUnavailable
from bullet_trade.model.enums import OrderStatus

FAKE_ENV = {"BT_FAKE_XTQUANT": "1", "QMT_ACCOUNT_ID": "8800001"}


def options(name: str, runtime_dir: Path, days: int) -> LiveOptions:
    return LiveOptions(strategy=STRATEGIES / name, broker="qmt", runtime_dir=runtime_dir,
                       clock="replay", start=START, days=days, strategy_name=Path(name).stem)


@pytest.mark.parametrize("name", ["demo_strategy.py", "weekly_rebalance.py"])
async def test_strategy_on_in_process_qmt(name: str, tmp_path: Path) -> None:
    before = sys.modules.get("xtquant")
    days = 2 if name == "demo_strategy.py" else 6
    expected = trades_of(await run_on_sim(name, tmp_path / "sim", days))
    result = await run_strategy(options(name, tmp_path / "rt", days), FAKE_ENV)
    assert result.stop_reason == "max_days" and len(result.trading_days) == days
    assert result.callback_errors == 0
    assert expected and trades_of(result) == expected
    assert all(o.status is OrderStatus.FILLED and o.order_id.isdigit() for o in result.orders)
    assert result.account.account_id == "8800001"
    assert sys.modules.get("xtquant") is before  # the fake is uninstalled after the run


async def test_restart_on_qmt_does_not_rerun_the_day(tmp_path: Path) -> None:
    """A second run over the same day finds the day completed in live_state.json."""
    runtime = tmp_path / "rt"
    first = await run_strategy(options("buy_and_hold_etf.py", runtime, 1), FAKE_ENV)
    expected = trades_of(await run_on_sim("buy_and_hold_etf.py", tmp_path / "sim", 1))
    assert expected and trades_of(first) == expected
    again = await run_strategy(options("buy_and_hold_etf.py", runtime, 1), FAKE_ENV)
    assert again.orders == () and again.callback_errors == 0


async def test_qmt_configuration_errors(tmp_path: Path) -> None:
    opts = options("demo_strategy.py", tmp_path / "rt", 1)
    with pytest.raises(ConfigError, match="QMT_ACCOUNT_ID"):
        await run_strategy(opts, {"BT_FAKE_XTQUANT": "1"})
    with pytest.raises(ConfigError, match="QMT_ACCOUNT_TYPE"):
        await run_strategy(opts, {**FAKE_ENV, "QMT_ACCOUNT_TYPE": "futures"})
    with pytest.raises(ConfigError, match="QMT_DATA_PATH"):
        await run_strategy(opts, {"QMT_ACCOUNT_ID": "1"})


@pytest.mark.skipif(sys.platform == "win32", reason="xtquant may really be installed")
async def test_missing_xtquant_is_a_clear_error(tmp_path: Path) -> None:
    opts = options("demo_strategy.py", tmp_path / "rt", 1)
    env = {"QMT_ACCOUNT_ID": "1", "QMT_DATA_PATH": str(tmp_path)}
    with pytest.raises(BackendUnavailable, match="xtquant"):
        await run_strategy(opts, env)


def test_cli_live_broker_qmt_on_the_fake(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMT_", "DEFAULT_BROKER"))}
    env.update({**FAKE_ENV, "NO_COLOR": "1", "DEFAULT_BROKER": "qmt"})
    args = [sys.executable, "-m", "bullet_trade", "live", str(STRATEGIES / "demo_strategy.py"),
            "--clock", "replay", "--start", START.strftime("%Y-%m-%d %H:%M:%S"), "--days", "2",
            "--runtime-dir", str(tmp_path / "rt")]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = asyncio.run(run_on_sim("demo_strategy.py", tmp_path / "sim", 2))
    assert proc.stdout.count("filled │") == len(expected.orders) > 0  # one table row each
    assert (tmp_path / "rt" / "live" / "live_state.json").is_file()
