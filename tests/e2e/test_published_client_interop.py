"""The *published* ``bullet-trade`` client (PyPI) against our server: existing users can switch.

The published package is never imported here. A small script runs inside its own virtualenv
(``bench/.peer-venv``, created by ``python -m bench.peer`` or ``make bench``; or the
interpreter named by ``BT_PEER_PYTHON``) as a subprocess, drives ``RemoteQmtBroker`` and
``RemoteQmtProvider`` against our server (simulated exchange) on 127.0.0.1 and prints what it
saw as JSON. The test is skipped when no such interpreter exists.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from e2e_kit import TOKEN, ServerFactory

REPO = Path(__file__).resolve().parents[2]
_VENV = REPO / "bench" / ".peer-venv"
_DEFAULT = _VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
PEER_PYTHON = Path(os.environ.get("BT_PEER_PYTHON") or _DEFAULT)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not PEER_PYTHON.exists(),
        reason="published client not installed (python -m bench.peer, or set BT_PEER_PYTHON)",
    ),
    pytest.mark.timeout(120),
]

SCRIPT = r'''
import asyncio, json, sys
from bullet_trade.broker.qmt_remote import RemoteQmtBroker
from bullet_trade.data.providers.remote_qmt import RemoteQmtProvider

port, token = int(sys.argv[1]), sys.argv[2]
config = {"host": "127.0.0.1", "port": port, "token": token}
out = {}
broker = RemoteQmtBroker("111", config={**config, "account_key": "main"})
provider = RemoteQmtProvider(config)
broker.connect()
try:
    account = broker.get_account_info()
    out["account"] = {k: account.get(k) for k in ("total_asset", "available_cash")}
    tick = provider.get_current_tick("000001.XSHE")
    out["tick"] = tick
    price = round(float(tick["last_price"]) * 0.95, 2)

    async def trade():
        order_id = await broker.buy("000001.XSHE", 100, price=price, wait_timeout=0)
        status = await broker.get_order_status(order_id)
        cancelled = await broker.cancel_order(order_id)
        after = await broker.get_order_status(order_id)
        return order_id, status, cancelled, after

    order_id, status, cancelled, after = asyncio.run(trade())
    out["order"] = {"id": order_id, "status": status.get("status"),
                    "amount": status.get("amount"), "cancelled": cancelled,
                    "after": after.get("status")}
    daily = provider.get_price("000001.XSHE", count=5, frequency="daily")
    minute = provider.get_price("000001.XSHE", start_date="2026-11-23 09:30:00",
                                end_date="2026-11-23 15:00:00", frequency="1m")
    out["daily"] = {"rows": len(daily), "columns": [str(c) for c in daily.columns],
                    "index": [str(t) for t in daily.index],
                    "index_type": type(daily.index).__name__}
    out["minute"] = {"rows": len(minute), "first": str(minute.index[0]),
                     "last": str(minute.index[-1]),
                     "index_type": type(minute.index).__name__}
finally:
    broker.disconnect()
    close = getattr(provider, "close", None)
    if callable(close):
        close()
print("RESULT " + json.dumps(out, default=str))
'''


async def _run_published_client(port: int, tmp_path: Path) -> dict:
    script = tmp_path / "published_client.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QMT_", "BT_"))}
    proc = await asyncio.create_subprocess_exec(
        str(PEER_PYTHON), "-I", str(script), str(port), TOKEN,
        cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 100)
    lines = [ln for ln in stdout.decode().splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(stderr.decode()[-4000:])
        pytest.fail(f"published client script failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT "):])


async def test_published_client_trades_and_reads_history(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    running = await start_server()
    out = await _run_published_client(running.port, tmp_path)

    assert out["account"]["total_asset"] > 0
    assert out["tick"]["sid"] == "000001.XSHE" and out["tick"]["last_price"] > 0

    order = out["order"]
    assert order["id"]
    assert order["amount"] == 100
    assert order["status"] in ("new", "submitted", "open")
    assert order["cancelled"] is True
    assert order["after"] in ("canceled", "cancelled")

    daily = out["daily"]
    assert daily["rows"] == 5
    assert daily["index_type"] == "DatetimeIndex"  # timestamps reach the published client
    assert {"open", "close", "high", "low", "volume", "money"} <= set(daily["columns"])
    assert all(t.endswith("00:00:00") for t in daily["index"])

    minute = out["minute"]
    assert minute["rows"] == 240
    assert minute["index_type"] == "DatetimeIndex"
    assert minute["first"] == "2026-11-23 09:31:00"
    assert minute["last"] == "2026-11-23 15:00:00"
