"""A slow data request must not delay a ping or a broker query on the same connection.

Backend-neutral: on ``sim`` the history request is slowed by the simulator's artificial
latency; on ``qmt-fake`` (whose counter needs latency 0) it hangs *inside*
``xtdata.get_market_data_ex`` holding the SDK's not-thread-safe guard, and is released once
the fast replies have arrived. Either way the slow reply must come last and intact.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from e2e_kit import BACKENDS, TOKEN, ServerFactory

from bullet_trade.testing.rawclient import RawClient


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _slow_server(start_server: ServerFactory, backend: str) -> tuple[int, Callable[[], None]]:
    """A server whose next history request is slow; returns its port and a release."""
    if backend == "sim":
        running = await start_server(sim={"latency": 0.5})
        return running.port, lambda: None
    running = await start_server()
    assert running.exchange is not None
    hang = running.exchange.hang("get_market_data_ex", inside=True)
    return running.port, hang.set


async def test_slow_history_does_not_block_ping_or_account(
    start_server: ServerFactory, backend: str
) -> None:
    port, release = await _slow_server(start_server, backend)
    raw = await RawClient.connect(port)
    await raw.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    assert (await raw.recv())["type"] == "handshake_ack"

    await raw.request("data.history", {"security": "000001.XSHE", "count": 5}, id="slow")
    await raw.send({"type": "ping", "id": "p1"})
    await raw.request("broker.account", {"account_key": "main"}, id="fast")

    order = [await raw.recv(), await raw.recv()]
    release()
    order.append(await raw.recv())
    kinds = [(f["type"], f.get("id")) for f in order]
    assert kinds[:2] in (
        [("pong", "p1"), ("response", "fast")],
        [("response", "fast"), ("pong", "p1")],
    )
    assert kinds[2] == ("response", "slow")
    assert order[2]["payload"]["dtype"] == "dataframe"
    await raw.close()
