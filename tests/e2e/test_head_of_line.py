"""A slow data request must not delay a ping or a broker query on the same connection."""

from __future__ import annotations

from e2e_kit import TOKEN, ServerFactory

from bullet_trade.testing.rawclient import RawClient


async def test_slow_history_does_not_block_ping_or_account(start_server: ServerFactory) -> None:
    running = await start_server(sim={"latency": 0.5})
    raw = await RawClient.connect(running.port)
    await raw.send({"type": "handshake", "token": TOKEN, "protocol": 1, "features": []})
    assert (await raw.recv())["type"] == "handshake_ack"

    await raw.request("data.history", {"security": "000001.XSHE", "count": 5}, id="slow")
    await raw.send({"type": "ping", "id": "p1"})
    await raw.request("broker.account", {"account_key": "main"}, id="fast")

    order = [await raw.recv(), await raw.recv(), await raw.recv()]
    kinds = [(f["type"], f.get("id")) for f in order]
    assert kinds[:2] in (
        [("pong", "p1"), ("response", "fast")],
        [("response", "fast"), ("pong", "p1")],
    )
    assert kinds[2] == ("response", "slow")
    assert order[2]["payload"]["dtype"] == "dataframe"
    await raw.close()
