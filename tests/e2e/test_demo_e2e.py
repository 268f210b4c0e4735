"""The demo strategy, end to end: in-process server on the simulator, qmt-remote client over
TCP, live runner on a stepped clock shared with the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from bullet_trade.cli.demo_cmd import DEMO_STRATEGY, run_demo
from bullet_trade.model.enums import OrderStatus


async def test_demo_two_days_through_the_wire(tmp_path: Path) -> None:
    result = await run_demo(DEMO_STRATEGY, tmp_path, days=2, start=datetime(2026, 11, 19, 9, 0))
    assert result.stop_reason == "max_days"
    assert [d.isoformat() for d in result.trading_days] == ["2026-11-19", "2026-11-20"]
    placed = [o for o in result.orders if o.order_id.startswith("sim-main-")]
    assert len(placed) == 7
    assert all(o.status is OrderStatus.FILLED for o in placed)
    sells = [o for o in placed if not o.is_buy]
    assert [(o.security, o.amount, o.add_time.date().isoformat()) for o in sells] == [
        ("000001.XSHE", 100, "2026-11-20")
    ]
    holdings = {p.security.jq: (p.amount, p.closeable_amount) for p in result.account.positions}
    assert holdings["000001.XSHE"] == (100, 0)
    assert holdings["510300.XSHG"] == (200, 100)
    assert holdings["518880.XSHG"][0] > 0
    assert result.account.available_cash < 1_000_000


def test_cli_demo_command_exits_zero(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bullet_trade", "demo", "--days", "1", "--runtime-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "demo finished" in proc.stdout
    assert "sim-main-" in proc.stdout  # at least one order id printed
    assert "000001.XSHE" in proc.stdout  # final positions printed


def test_cli_version_and_help_need_no_server() -> None:
    out = subprocess.run([sys.executable, "-m", "bullet_trade", "--version"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert "bullet-trade" in out.stdout and "0.1.0" in out.stdout
    out = subprocess.run([sys.executable, "-m", "bullet_trade", "live", "--help"],
                         capture_output=True, text=True, timeout=60, check=True)
    assert "--broker" in out.stdout
