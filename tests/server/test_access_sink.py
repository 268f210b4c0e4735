"""The server's access sink: one line per request, no payloads, nothing through logging."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import pytest
from sessionkit import FakeBroker, FakeFeed, base_actions

from bullet_trade.config import ServerConfig
from bullet_trade.model.clock import ManualClock
from bullet_trade.server.app import QmtServer
from bullet_trade.testing.rawclient import RawClient


@pytest.mark.parametrize("access_log", [True, False])
async def test_sink_gets_one_line_per_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    lines: list[str] = []
    config = ServerConfig(listen="127.0.0.1", port=0, token="tok", runtime_dir=tmp_path,
                          access_log=access_log)
    server = QmtServer(config, data=FakeFeed(), broker=FakeBroker(),
                       clock=ManualClock(datetime(2025, 1, 2, 9, 30)), actions=base_actions(),
                       access_sink=lines.append)
    async with server:
        client = await RawClient.connect(server.port)
        await client.handshake()
        with caplog.at_level(logging.INFO, logger="bullet_trade.server.access"):
            await client.call("echo", {"secret": "payload-value"}, id="a1")
        await client.close()
    assert not [r for r in caplog.records if r.name == "bullet_trade.server.access"]
    if not access_log:
        assert lines == []
        return
    assert len(lines) == 1 and "id=a1 action=echo" in lines[0] and "status=ok" in lines[0]
    assert "payload-value" not in lines[0]
