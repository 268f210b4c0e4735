"""Sub-accounts, the per-account order rate guard and the kill switch over real loopback
servers on the simulated exchange; the exchange outlives the servers so a restart on the
same runtime directory can be tested."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bullet_trade.adapters.sim import build_sim_backend
from bullet_trade.client import AsyncConnection, AsyncRemoteBroker
from bullet_trade.config import ClientConfig, ServerConfig, SimConfig, TokenGrant
from bullet_trade.errors import Forbidden, OrderRejected, RateLimited, TradingHalted, UnknownAccount
from bullet_trade.model.clock import ManualClock
from bullet_trade.model.codes import parse_security
from bullet_trade.model.records import AccountConfig
from bullet_trade.server.app import QmtServer
from bullet_trade.server.security import SecuritySetupError
from bullet_trade.server.subaccounts import parse_sub_accounts
from bullet_trade.testing.rawclient import RawClient
from bullet_trade.wire.messages import Event

pytestmark = pytest.mark.e2e

ADMIN, TRADER = "admin-token-0123456789", "trade-token-0123456789"
GRANTS = (
    TokenGrant(name="ops", token=ADMIN),
    TokenGrant(name="bot", token=TRADER, scopes=frozenset({"data", "trade"})),
)
ACCOUNTS = (AccountConfig(key="main", account_id="111"),)
MOMENT = datetime(2026, 11, 24, 10, 0)
CODE = "000001.XSHE"


class Exchange:
    """A simulated broker and the servers started in front of it (same runtime dir)."""

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.clock = ManualClock(MOMENT)
        self.sim = SimConfig(clock_mode="real")
        self.data, self.broker = build_sim_backend(self.sim, list(ACCOUNTS), self.clock)
        self.open: list[Any] = []

    async def serve(self, **overrides: Any) -> QmtServer:
        settings: dict[str, Any] = {"tokens": GRANTS, **overrides}
        config = ServerConfig(
            listen="127.0.0.1", port=0, accounts=ACCOUNTS, runtime_dir=self.runtime,
            sim=self.sim, trade_max_wait=2.0, access_log=False, **settings,
        )
        server = QmtServer(config, data=self.data, broker=self.broker, clock=self.clock)
        await server.start()
        self.open.append(server)
        return server

    async def connect(self, server: QmtServer, token: str = ADMIN) -> AsyncConnection:
        conn = AsyncConnection(ClientConfig(port=server.port, token=token, rpc_timeout=10.0))
        await conn.connect()
        self.open.append(conn)
        return conn

    async def resting_price(self) -> float:
        """A buy price that rests (just above the lower limit), so orders stay open."""
        quote = await self.data.quote(parse_security(CODE))
        return round(quote.low_limit + 0.01, 2)


@pytest.fixture
async def exchange(tmp_path: Path) -> AsyncIterator[Exchange]:
    ex = Exchange(tmp_path / "runtime")
    yield ex
    for thing in reversed(ex.open):
        await (thing.close() if isinstance(thing, AsyncConnection) else thing.stop())


def order(price: float, key: str, sub: str | None = "demo", **extra: Any) -> dict[str, Any]:
    return {"account_key": "main", "sub_account_id": sub, "security": CODE, "side": "BUY",
            "amount": 100, "style": {"type": "limit", "price": price}, "wait_timeout": 0,
            "idempotency_key": key, **extra}


async def test_quota_race_over_the_wire(exchange: Exchange) -> None:
    price = await exchange.resting_price()
    server = await exchange.serve(sub_accounts=parse_sub_accounts(
        f"demo@main:limit={price * 100 * 2.5:.2f},other@main"))
    conns = [await exchange.connect(server) for _ in range(3)]
    results = await asyncio.gather(
        *(conns[i % 3].request("broker.place_order", order(price, f"race-{i}")) for i in range(9)),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, dict)]
    assert len(accepted) == 2 and all(r["sub_account_id"] == "demo" for r in accepted)
    assert all(isinstance(r, OrderRejected) and r.reason == "sub_account_quota"
               for r in results if not isinstance(r, dict))
    assert len(await exchange.broker.orders("main")) == 2
    # what the sub-accounts see
    other = AsyncRemoteBroker(conns[0], account_key="main", sub_account_id="other")
    await other.buy(CODE, 100, price)
    demo_rows = await conns[1].request("broker.orders", {"sub_account_id": "demo"})
    assert {r["order_id"] for r in demo_rows} == {r["order_id"] for r in accepted}
    assert len(await conns[1].request("broker.orders", {"account_key": "main"})) == 3
    with pytest.raises(UnknownAccount):
        await conns[2].request("broker.orders", {"sub_account_id": "ghost@main"})


async def test_restart_keeps_quota_usage_and_halts(exchange: Exchange) -> None:
    price = await exchange.resting_price()
    subs = parse_sub_accounts(f"demo@main:limit={price * 100 * 1.5:.2f}")
    server = await exchange.serve(sub_accounts=subs)
    conn = await exchange.connect(server)
    resting = await conn.request("broker.place_order", order(price, "r1"))
    halted = await conn.request("admin.halt", {"account_key": "main", "reason": "drill"})
    assert halted["canceled"] == [resting["order_id"]]  # its reservation is released ...
    resumed = await conn.request("admin.resume", {"account_key": "main"})
    assert resumed["was_halted"]
    await conn.request("broker.place_order", order(price, "r2"))  # ... so this one fits
    await conn.request("admin.halt", {"account_key": "main"})  # cancels r2 again
    await conn.close()
    await server.stop()

    server = await exchange.serve(sub_accounts=subs)
    conn = await exchange.connect(server)
    with pytest.raises(TradingHalted):  # the halt survived the restart
        await conn.request("broker.place_order", order(price, "r4"))
    await conn.request("admin.resume", {"account_key": "main"})
    placed = await conn.request("broker.place_order", order(price, "r5"))
    value = (await conn.request("broker.account", {"sub_account_id": "demo"}))["value"]
    assert value["quota_used"] == pytest.approx(price * 100)  # r1, r2 released; r5 open
    await conn.close()
    await server.stop()

    server = await exchange.serve(sub_accounts=subs)  # usage itself survives a restart
    conn = await exchange.connect(server)
    value = (await conn.request("broker.account", {"sub_account_id": "demo"}))["value"]
    assert value["quota_used"] == pytest.approx(price * 100)
    with pytest.raises(OrderRejected) as info:
        await conn.request("broker.place_order", order(price, "r6"))
    assert info.value.reason == "sub_account_quota"
    rows = await conn.request("broker.orders", {"sub_account_id": "demo"})
    assert placed["order_id"] in {r["order_id"] for r in rows}


async def test_admin_scope_guards_the_kill_switch_and_the_rate_guard_answers(
    exchange: Exchange,
) -> None:
    server = await exchange.serve(order_rate_limit=0.01, order_rate_burst=2)
    bot = await exchange.connect(server, TRADER)
    with pytest.raises(Forbidden) as info:
        await bot.request("admin.halt", {"account_key": "main"})
    assert info.value.field == "action"
    with pytest.raises(Forbidden):
        await bot.request("admin.resume", {"account_key": "main"})
    price = await exchange.resting_price()
    for i in range(2):
        await bot.request("broker.place_order", order(price, f"g{i}", sub=None))
    with pytest.raises(RateLimited) as limited:
        await bot.request("broker.place_order", order(price, "g2", sub=None))
    assert limited.value.retry_after is not None and limited.value.retry_after > 0
    ops = await exchange.connect(server, ADMIN)
    halted = await ops.request("admin.halt", {"account_key": "main"})
    assert len(halted["canceled"]) == 2  # kill-switch cancels are not rate limited


DEMO_TOKEN = "demo-token-0123456789"


async def test_sub_account_sessions_see_only_their_own_events(exchange: Exchange) -> None:
    price = await exchange.resting_price()
    grants = (*GRANTS, TokenGrant(name="demo", token=DEMO_TOKEN, sub_accounts=frozenset({"demo"})))
    server = await exchange.serve(tokens=grants,
                                  sub_accounts=parse_sub_accounts("demo@main,other@main"))
    seen: dict[str, list[Event]] = {"parent": [], "demo": []}
    conns: dict[str, AsyncConnection] = {}
    for name, token in (("parent", ADMIN), ("demo", DEMO_TOKEN)):
        conn = AsyncConnection(ClientConfig(port=server.port, token=token, rpc_timeout=10.0),
                               extensions=("events.v1",))
        for kind in ("order", "trade", "account"):
            conn.add_event_listener(kind, seen[name].append)
        await conn.connect()
        exchange.open.append(conn)
        conns[name] = conn
    raw = await RawClient.connect(server.port)  # bound by its handshake's sub_account_id
    pushed: list[dict[str, Any]] = []
    await raw.handshake(ADMIN, sub_account_id="other", extensions=["events.v1"])
    ids = {
        "demo": (await conns["demo"].request("broker.place_order", order(price, "d1", sub=None))
                 )["order_id"],  # the token's only sub-account
        "parent": (await conns["parent"].request("broker.place_order",
                                                 order(price, "p1", sub=None)))["order_id"],
        "other": (await _raw_call(raw, "broker.place_order", order(price, "o1", sub=None),
                                  pushed))["order_id"],
    }
    for order_id in ids.values():
        await conns["parent"].request("broker.cancel_order", {"order_id": order_id})
    for name in ("parent", "demo"):  # each sees the cancel of the orders it may see
        await _until(lambda n=name: {e.payload["order_id"] for e in seen[n]
                                     if e.event == "order" and e.payload["status"] == "canceled"}
                     >= ({ids["demo"]} if n == "demo" else set(ids.values())))
    # the hub pushed every event to every session at once: what the parent saw, the others
    # got before the answers to these requests (one ordered outbox per session)
    replay = await conns["demo"].request("broker.events", {"since_seq": 0})
    await _raw_call(raw, "admin.health", {}, pushed)
    assert any(e.event == "account" for e in seen["parent"])
    assert {e.payload["order_id"] for e in seen["demo"]} == {ids["demo"]}
    assert {e.event for e in seen["demo"]} == {"order"}  # no parent account snapshots
    assert {e.payload["sub_account_id"] for e in seen["demo"]} == {"demo"}
    assert {f["payload"]["order_id"] for f in pushed} == {ids["other"]}
    assert {f["event"] for f in pushed} == {"order"}
    assert {e["payload"]["order_id"] for e in replay["events"] if e["event"] == "order"} == {
        ids["demo"]}
    assert {e["event"] for e in replay["events"]} <= {"order", "trade", "backend"}
    await raw.close()
    # the token never reaches the parent or another sub-account
    mine = await conns["demo"].request("broker.orders", {"account_key": "main"})
    assert [r["order_id"] for r in mine] == [ids["demo"]]
    for action, payload in (("broker.orders", {"sub_account_id": "other"}),
                            ("admin.halt", {"account_key": "main"})):
        with pytest.raises(Forbidden) as info:
            await conns["demo"].request(action, payload)
        assert info.value.field == "sub_account_id"


async def _raw_call(raw: RawClient, action: str, payload: dict[str, Any],
                    pushed: list[dict[str, Any]]) -> Any:
    """One request on a raw session; event frames read before the answer go to ``pushed``."""
    await raw.request(action, payload, id=action)
    reply, before = await raw.recv_until(lambda f: f.get("id") == action)
    pushed.extend(f for f in before if f.get("type") == "event")
    assert reply["type"] == "response", reply
    return reply["payload"]


async def test_a_token_bound_to_an_unknown_sub_account_stops_the_start(
    exchange: Exchange,
) -> None:
    grants = (TokenGrant(name="x", token=DEMO_TOKEN, sub_accounts=frozenset({"ghost"})),)
    with pytest.raises(SecuritySetupError, match="'ghost' is not configured"):
        await exchange.serve(tokens=grants, sub_accounts=parse_sub_accounts("demo@main"))


async def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)
