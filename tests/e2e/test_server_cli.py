"""`bullet-trade server` as a real process: ready file, a v1 client, clean stop on a signal."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bullet_trade.testing.rawclient import RawClient


def _wait_for_file(path: Path, proc: subprocess.Popen[str], limit: float = 30.0) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:  # a separate process: nothing to await but the file
        if path.exists():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError("server did not become ready")


async def _account_over_the_wire(port: int) -> dict:
    client = await RawClient.connect(port)
    await client.send({"type": "handshake", "token": "t0k", "protocol": 1, "features": []})
    assert (await client.recv())["type"] == "handshake_ack"
    await client.request("broker.account", {}, id="a")
    account = await client.reply_to("a")
    await client.close()
    return account


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM delivery differs on Windows")
def test_server_process_serves_and_stops_cleanly(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bullet_trade", "server", "--listen", "127.0.0.1", "--port", "0",
         "--token", "t0k", "--accounts", "main=123456:stock", "--runtime-dir", str(tmp_path),
         "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        info = _wait_for_file(ready, proc)
        account = asyncio.run(_account_over_the_wire(info["port"]))
        assert account["payload"]["value"]["account_id"] == "123456"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "listening on 127.0.0.1" in out
    assert "t0k" not in out + err  # the token is never printed or logged
    assert (tmp_path / "logs" / "server.log").exists()
